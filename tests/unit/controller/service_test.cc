// The controller's services refuse, before keeping or converting anything,
// what a hostile or broken peer sends: a Hello's node name that is no node
// name or not a node of the state, its capabilities that are no names, an
// ApplyState past the state limits.
#include "controller/service.h"

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/model/state_yaml.h"
#include "controller/controller.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"

namespace weft {
namespace {

using ::testing::HasSubstr;

constexpr char kServiceFleet[] = R"yaml(
version: 1
nodes:
  - {name: hv1, vtep: 198.18.0.1}
  - {name: ext1, vtep: 198.18.0.9, foreign: true}
)yaml";

class ServiceTest : public ::testing::Test {
 protected:
  ServiceTest()
      : sync_(&controller_, PeerTrust::kAnyone), admin_(&controller_, PeerTrust::kAnyone) {
    absl::StatusOr<State> state = ParseStateYaml(kServiceFleet, "fleet");
    EXPECT_TRUE(state.ok()) << state.status();
    EXPECT_TRUE(controller_.Apply(*state, "test").ok());
    grpc::ServerBuilder b;
    int port = 0;
    b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    b.RegisterService(&sync_);
    b.RegisterService(&admin_);
    b.SetMaxReceiveMessageSize(-1);
    server_ = b.BuildAndStart();
    grpc::ChannelArguments args;
    args.SetMaxSendMessageSize(-1);
    channel_ = grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port),
                                         grpc::InsecureChannelCredentials(), args);
  }
  ~ServiceTest() override {
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  }

  // The status a stream opened with a Hello for `node` ends with; OK when
  // the controller sent the node its state.
  grpc::Status Hello(const std::string& node, const std::vector<std::string>& capabilities = {}) {
    std::unique_ptr<v1::Sync::Stub> stub = v1::Sync::NewStub(channel_);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    auto stream = stub->Stream(&context);
    v1::AgentMessage hello;
    hello.mutable_hello()->set_node(node);
    for (const std::string& c : capabilities) hello.mutable_hello()->add_capabilities(c);
    stream->Write(hello);
    v1::ControllerMessage reply;
    if (stream->Read(&reply)) return grpc::Status::OK;
    return stream->Finish();
  }

  grpc::Status Apply(const v1::State& state) {
    std::unique_ptr<v1::Admin::Stub> stub = v1::Admin::NewStub(channel_);
    grpc::ClientContext context;
    v1::ApplyStateRequest request;
    *request.mutable_state() = state;
    v1::ApplyStateResponse response;
    return stub->ApplyState(&context, request, &response);
  }

  Controller controller_;
  SyncService sync_;
  AdminService admin_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

TEST_F(ServiceTest, AHelloForANodeOfTheStateIsServed) { EXPECT_TRUE(Hello("hv1").ok()); }

TEST_F(ServiceTest, AHelloWithANameThatIsNoNodeNameIsRefused) {
  for (const std::string& name : {std::string(1 << 20, 'a'), std::string(254, 'a'),
                                  std::string("hv1\n[fake log line]"), std::string("hv\0001", 4)}) {
    grpc::Status s = Hello(name);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << name.substr(0, 20);
    EXPECT_THAT(s.error_message(), HasSubstr("Hello: field \"node\""));
    EXPECT_LT(s.error_message().size(), 200u);  // never the name itself at length
  }
  EXPECT_FALSE(controller_.Realization(0).nodes(0).connected());
}

// Capabilities are kept with the node's realization (and in etcd): junk is
// refused before anything is kept, never echoed at length.
TEST_F(ServiceTest, AHelloWithCapabilitiesThatAreNoNamesIsRefused) {
  EXPECT_TRUE(Hello("hv1", {"sotw", "chunked", "ipv6-tenants"}).ok());
  const std::vector<std::vector<std::string>> bad = {
      {std::string(1 << 20, 'a')},
      {"sotw", std::string("x\n[fake log line]")},
      {""},
      {"Sotw"},
      std::vector<std::string>(33, "sotw"),
  };
  for (const std::vector<std::string>& capabilities : bad) {
    grpc::Status s = Hello("hv1", capabilities);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << capabilities.size();
    EXPECT_THAT(s.error_message(), HasSubstr("Hello: field \"capabilities\""));
    EXPECT_LT(s.error_message().size(), 200u);
  }
}

TEST_F(ServiceTest, AHelloForANodeNotInTheStateIsRefused) {
  for (const char* name : {"hv9", "ext1"}) {  // unknown; foreign: runs no agent
    grpc::Status s = Hello(name);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << name;
    EXPECT_THAT(s.error_message(), HasSubstr(absl::StrCat("node ", name, " is not a Weft node")));
  }
}

// 2 bytes of the message each, hundreds once converted: refused by count
// before anything is converted, and the state served stays.
TEST_F(ServiceTest, ApplyStateWithMoreEntriesThanTheLimitIsRefused) {
  v1::State empties;
  for (size_t i = 0; i <= StateLimits().entries; ++i) empties.add_endpoints();
  grpc::Status s = Apply(empties);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(s.error_message(), HasSubstr("more than 1048576 list entries"));
  EXPECT_EQ(controller_.version(), 1u);
  EXPECT_EQ(controller_.rejected_edits(), 1u);
}

}  // namespace
}  // namespace weft
