// A stream whose Hello carries the digest of the node's current view starts
// with nothing sent (the agent applied that view already, from this
// controller or another): the node counts as enforcing the current version,
// and the next change is sent as usual. Any other Hello gets the view.
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/model/net_format.h"
#include "common/model/state_yaml.h"
#include "controller/controller.h"
#include "controller/service.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"

namespace weft {
namespace {

constexpr char kResumeFleet[] = R"yaml(
version: 10
nodes:
  - {name: hv1, vtep: 198.18.0.1}
  - {name: hv2, vtep: 198.18.0.2}
tenants:
  - {name: blue, id: 1}
segments:
  - {name: blue-web, tenant: blue, vni: 1001, subnet: 10.0.1.0/24, gateway: 10.0.1.1, gateway_mac: "02:fe:00:00:00:01"}
endpoints:
  - {name: blue-1, segment: blue-web, ip: 10.0.1.10, mac: "02:00:00:01:01:10", node: hv1, interface: vb1}
)yaml";

State ResumeFleet() {
  absl::StatusOr<State> state = ParseStateYaml(kResumeFleet, "fleet");
  EXPECT_TRUE(state.ok()) << state.status();
  return *state;
}

using Stream = grpc::ClientReaderWriter<v1::AgentMessage, v1::ControllerMessage>;

class ResumeTest : public ::testing::Test {
 protected:
  ResumeTest() : sync_(&controller_, PeerTrust::kAnyone) {
    EXPECT_TRUE(controller_.Apply(ResumeFleet(), "test").ok());
    grpc::ServerBuilder b;
    int port = 0;
    b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    b.RegisterService(&sync_);
    server_ = b.BuildAndStart();
    stub_ = v1::Sync::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
    context_.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  }
  ~ResumeTest() override {
    context_.TryCancel();
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  }

  // Opens the stream with a Hello for hv1 that applied `version` with
  // `digest`, announcing `capabilities`.
  void Hello(uint64_t version, const std::string& digest,
             const std::vector<std::string>& capabilities = {}) {
    stream_ = stub_->Stream(&context_);
    v1::AgentMessage hello;
    hello.mutable_hello()->set_node("hv1");
    hello.mutable_hello()->set_applied_version(version);
    hello.mutable_hello()->set_applied_digest(digest);
    for (const std::string& c : capabilities) hello.mutable_hello()->add_capabilities(c);
    ASSERT_TRUE(stream_->Write(hello));
  }

  // The next chunk on the stream.
  v1::StateChunk NextChunk() {
    v1::ControllerMessage message;
    EXPECT_TRUE(stream_->Read(&message));
    return message.chunk();
  }

  bool SaidResumed() {
    stream_->WaitForInitialMetadata();
    return context_.GetServerInitialMetadata().count(kResumedMetadataKey) > 0;
  }

  v1::NodeRealization Hv1() const { return controller_.Realization(0).nodes(0); }

  Controller controller_;
  SyncService sync_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::Sync::Stub> stub_;
  grpc::ClientContext context_;
  std::unique_ptr<Stream> stream_;
};

TEST_F(ResumeTest, TheCurrentDigestIsSentNothingUntilTheViewChanges) {
  const std::string digest = controller_.View("hv1")->digest;
  // Another controller's numbering: 7, not this one's 10.
  Hello(7, digest);
  ASSERT_TRUE(SaidResumed());
  EXPECT_EQ(context_.GetServerInitialMetadata().find(kResumedMetadataKey)->second, "7");
  EXPECT_TRUE(Hv1().connected());
  EXPECT_EQ(Hv1().acked_version(), 7u);
  EXPECT_EQ(Hv1().enforced_version(), 10u);  // its view is the current one
  ASSERT_EQ(controller_.Realization(10).enforcing_size(), 1);
  EXPECT_EQ(controller_.Realization(10).enforcing(0), "hv1");

  // The first message on the stream is the change: the current view was
  // never sent.
  State changed = ResumeFleet();
  changed.endpoints[0].mac[5] = 0x42;
  ASSERT_EQ(controller_.Apply(changed, "test").value_or(0), 11u);
  const v1::StateChunk next = NextChunk();
  EXPECT_EQ(next.version(), 11u);
  EXPECT_EQ(next.index(), 0u);
  EXPECT_EQ(next.digest(), controller_.View("hv1")->digest);
  EXPECT_NE(next.digest(), digest);
}

// The Hello's capabilities are in the realization, with what of the node's
// view they leave unrealized: IPv6 in its tenants, for an agent that does
// not announce it.
TEST_F(ResumeTest, TheRealizationSaysWhatTheAgentDoesNotRealize) {
  State dual = ResumeFleet();
  dual.segments[0].subnet6 = *ParseIpv6Prefix("fd00:1:0:1::/64");
  dual.segments[0].gateway6 = *ParseIpv6("fd00:1:0:1::1");
  dual.endpoints[0].ip6 = *ParseIpv6("fd00:1:0:1::10");
  ASSERT_TRUE(controller_.Apply(dual, "test").ok());
  Hello(0, "", {"sotw", "chunked"});
  EXPECT_EQ(NextChunk().index(), 0u);  // the stream is open
  const v1::NodeRealization hv1 = Hv1();
  EXPECT_EQ(std::vector<std::string>(hv1.capabilities().begin(), hv1.capabilities().end()),
            (std::vector<std::string>{"sotw", "chunked"}));
  ASSERT_EQ(hv1.unrealized_size(), 1);
  EXPECT_EQ(hv1.unrealized(0), "ipv6-tenants");
  // hv2 never connected: nothing is known of its agent.
  EXPECT_EQ(controller_.Realization(0).nodes(1).unrealized_size(), 0);
}

TEST_F(ResumeTest, ADifferentDigestGetsTheView) {
  Hello(10, std::string(32, '\x01'));
  EXPECT_FALSE(SaidResumed());
  const v1::StateChunk first = NextChunk();
  EXPECT_EQ(first.version(), 10u);
  EXPECT_EQ(first.index(), 0u);
  EXPECT_EQ(first.digest(), controller_.View("hv1")->digest);
  EXPECT_EQ(Hv1().acked_version(), 0u);
}

TEST_F(ResumeTest, AHelloWithoutADigestGetsTheView) {
  Hello(10, "");  // a restarted agent: its maps say 10, its memory nothing
  EXPECT_FALSE(SaidResumed());
  const v1::StateChunk first = NextChunk();
  EXPECT_EQ(first.version(), 10u);
  EXPECT_EQ(first.index(), 0u);
}

TEST_F(ResumeTest, TheDigestOfAnotherNodesViewGetsTheView) {
  Hello(10, controller_.View("hv2")->digest);
  EXPECT_FALSE(SaidResumed());
  EXPECT_EQ(NextChunk().digest(), controller_.View("hv1")->digest);
}

}  // namespace
}  // namespace weft
