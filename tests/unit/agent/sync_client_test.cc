// The agent's update handling, and the sync stream end to end in one
// process: weft-controller's services on a loopback port, SyncClients
// against them, plaintext and mutual TLS with node, operator and server
// certificates (a throwaway CA made with openssl).
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "agent/sync/client.h"
#include "common/model/state_yaml.h"
#include "common/plan/node_check.h"
#include "common/wire/convert.h"
#include "common/wire/credentials.h"
#include "controller/controller.h"
#include "controller/service.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "grpc/grpc_security_constants.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"
#include "tests/testing/test_pki.h"
#include "tests/testing/wait_for.h"

namespace weft {
namespace {

using ::google::protobuf::util::MessageDifferencer;
using ::testing::HasSubstr;

constexpr char kSyncFleet[] = R"yaml(
version: 5
nodes:
  - {name: hv1, vtep: 198.18.0.1}
  - {name: hv2, vtep: 198.18.0.2}
tenants:
  - {name: blue, id: 1}
  - {name: red, id: 2}
segments:
  - {name: blue-web, tenant: blue, vni: 1001, subnet: 10.0.1.0/24, gateway: 10.0.1.1, gateway_mac: "02:fe:00:00:00:01"}
  - {name: red-web, tenant: red, vni: 2001, subnet: 10.0.1.0/24, gateway: 10.0.1.1, gateway_mac: "02:fe:00:00:00:02"}
endpoints:
  - {name: blue-1, segment: blue-web, ip: 10.0.1.10, mac: "02:00:00:01:01:10", node: hv1, interface: vb1}
  - {name: blue-2, segment: blue-web, ip: 10.0.1.11, mac: "02:00:00:01:01:11", node: hv2, interface: vb2}
  - {name: red-2, segment: red-web, ip: 10.0.1.12, mac: "02:00:00:02:01:12", node: hv2, interface: vr2}
)yaml";

State SyncFleet() {
  absl::StatusOr<State> s = ParseStateYaml(kSyncFleet, "fleet");
  EXPECT_TRUE(s.ok()) << s.status();
  return *s;
}

// As the ChunkAssembler hands it over: converted, or with the conversion's error.
Update UpdateOf(const v1::State& proto, uint64_t version, std::string nonce) {
  return Update{.version = version, .nonce = std::move(nonce), .state = StateFromProto(proto)};
}

Update UpdateOf(const State& state, uint64_t version, std::string nonce) {
  return UpdateOf(ToProto(state), version, std::move(nonce));
}

// ---- UpdateHandler: no network ----

TEST(UpdateHandlerTest, AcksAndApplies) {
  std::vector<uint64_t> applied;
  UpdateHandler h(
      "hv1",
      [&](const State& s) {
        applied.push_back(s.version);
        return absl::OkStatus();
      },
      0);
  v1::AgentMessage reply = h.Handle(UpdateOf(SyncFleet(), 7, "a"));
  ASSERT_TRUE(reply.has_ack());
  EXPECT_EQ(reply.ack().version(), 7u);
  EXPECT_EQ(reply.ack().nonce(), "a");
  EXPECT_EQ(applied, std::vector<uint64_t>{7});
  EXPECT_EQ(h.applied_version(), 7u);
}

TEST(UpdateHandlerTest, VersionGoingBackwardsOnAStreamIsNacked) {
  int calls = 0;
  UpdateHandler h(
      "hv1",
      [&](const State&) {
        ++calls;
        return absl::OkStatus();
      },
      0);
  ASSERT_TRUE(h.Handle(UpdateOf(SyncFleet(), 7, "a")).has_ack());
  v1::AgentMessage reply = h.Handle(UpdateOf(SyncFleet(), 6, "c"));
  ASSERT_TRUE(reply.has_nack());
  EXPECT_EQ(reply.nack().version(), 6u);
  EXPECT_EQ(reply.nack().nonce(), "c");
  EXPECT_THAT(reply.nack().error(), HasSubstr("older than version 7"));
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(h.applied_version(), 7u);
  h.NewStream();  // a restarted controller may count from lower
  EXPECT_TRUE(h.Handle(UpdateOf(SyncFleet(), 2, "d")).has_ack());
}

TEST(UpdateHandlerTest, AVersionAlreadyAppliedOnAStreamIsNackedUnapplied) {
  std::vector<uint64_t> applied;
  UpdateHandler h(
      "hv1",
      [&](const State& s) {
        applied.push_back(s.version);
        return absl::OkStatus();
      },
      0);
  ASSERT_TRUE(h.Handle(UpdateOf(SyncFleet(), 7, "a")).has_ack());
  State other = SyncFleet();
  other.segments[0].gateway_mac[5] ^= 1;  // a second state under the same number
  v1::AgentMessage reply = h.Handle(UpdateOf(other, 7, "b"));
  ASSERT_TRUE(reply.has_nack());
  EXPECT_THAT(reply.nack().error(), HasSubstr("already applied on this stream"));
  EXPECT_EQ(applied, std::vector<uint64_t>{7});
  h.NewStream();  // a new stream (a restarted controller) may send it again
  EXPECT_TRUE(h.Handle(UpdateOf(other, 7, "c")).has_ack());
  EXPECT_EQ(applied, (std::vector<uint64_t>{7, 7}));
}

TEST(UpdateHandlerTest, InvalidStateIsNackedUnapplied) {
  int calls = 0;
  UpdateHandler h(
      "hv1",
      [&](const State&) {
        ++calls;
        return absl::OkStatus();
      },
      3);
  v1::State bad = ToProto(SyncFleet());
  bad.mutable_segments(0)->set_vni(0);
  v1::AgentMessage reply = h.Handle(UpdateOf(bad, 8, "n"));
  ASSERT_TRUE(reply.has_nack());
  EXPECT_THAT(reply.nack().error(), HasSubstr("segment \"blue-web\": field \"vni\""));
  bad = ToProto(SyncFleet());
  bad.mutable_segments(1)->set_subnet("10.0.1.0/33");
  EXPECT_THAT(h.Handle(UpdateOf(bad, 8, "n")).nack().error(),
              HasSubstr("segment \"red-web\": field \"subnet\""));
  bad = ToProto(SyncFleet());
  bad.mutable_endpoints(0)->set_node("hv7");
  EXPECT_THAT(h.Handle(UpdateOf(bad, 8, "n")).nack().error(),
              HasSubstr("endpoint \"blue-1\": field \"node\": no node \"hv7\""));
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(h.applied_version(), 3u);
}

TEST(UpdateHandlerTest, AStateWithoutThisNodeIsNacked) {
  UpdateHandler h(
      "hv9", [](const State&) { return absl::OkStatus(); }, 0);
  EXPECT_TRUE(h.Handle(UpdateOf(SyncFleet(), 1, "n")).has_nack());
}

TEST(UpdateHandlerTest, ApplyErrorIsNacked) {
  UpdateHandler h(
      "hv1", [](const State&) { return absl::ResourceExhaustedError("map weft_routes is full"); },
      0);
  v1::AgentMessage reply = h.Handle(UpdateOf(SyncFleet(), 1, "n"));
  ASSERT_TRUE(reply.has_nack());
  EXPECT_EQ(reply.nack().error(), "map weft_routes is full");
}

TEST(BackoffTest, DoublesWithJitterUpToMax) {
  Backoff b(absl::Milliseconds(100), absl::Seconds(5));
  absl::Duration last_cap = absl::Milliseconds(100);
  for (int i = 0; i < 12; ++i) {
    const absl::Duration d = b.Next();
    EXPECT_GE(d, last_cap / 2);
    EXPECT_LE(d, last_cap);
    last_cap = std::min(last_cap * 2, absl::Seconds(5));
  }
  b.Reset();
  EXPECT_LE(b.Next(), absl::Milliseconds(100));
}

// ---- Controller: scoping, versions ----

TEST(ControllerTest, ViewHoldsTheTenantsWithAnEndpointThere) {
  ViewBuilder b;
  b.Update(SyncFleet());
  absl::StatusOr<State> hv1 = StateFromProto(b.View("hv1", 5)->Merged());
  ASSERT_TRUE(hv1.ok()) << hv1.status();
  EXPECT_EQ(hv1->version, 5u);
  EXPECT_EQ(hv1->nodes.size(), 2u);
  ASSERT_EQ(hv1->tenants.size(), 1u);
  EXPECT_EQ(hv1->tenants[0].name, "blue");
  EXPECT_EQ(hv1->segments.size(), 1u);
  EXPECT_EQ(hv1->endpoints.size(), 2u);  // blue-1 and the remote blue-2
  absl::StatusOr<State> hv2 = StateFromProto(b.View("hv2", 5)->Merged());
  ASSERT_TRUE(hv2.ok()) << hv2.status();
  EXPECT_EQ(hv2->tenants.size(), 2u);
  EXPECT_EQ(hv2->endpoints.size(), 3u);
  EXPECT_TRUE(ValidateForNode(*hv1, "hv1").ok());
  EXPECT_TRUE(ValidateForNode(*hv2, "hv2").ok());
  absl::StatusOr<State> stranger = StateFromProto(b.View("hv9", 5)->Merged());
  ASSERT_TRUE(stranger.ok()) << stranger.status();
  EXPECT_EQ(stranger->nodes.size(), 2u);
  EXPECT_TRUE(stranger->tenants.empty());
}

TEST(ControllerTest, ViewsShareTenantPartsAndKeepUnchangedOnes) {
  ViewBuilder b;
  State s = SyncFleet();
  b.Update(s);
  auto hv1 = b.View("hv1", 1);
  auto hv2 = b.View("hv2", 1);
  ASSERT_EQ(hv1->parts.size(), 2u);  // nodes, blue
  ASSERT_EQ(hv2->parts.size(), 3u);  // nodes, blue, red
  EXPECT_EQ(hv1->parts[1], hv2->parts[1]) << "one blue for both nodes";
  s.segments[1].gateway_mac[5] = 9;  // red changes
  b.Update(s);
  auto hv1_after = b.View("hv1", 2);
  auto hv2_after = b.View("hv2", 2);
  EXPECT_EQ(hv1_after->fingerprint, hv1->fingerprint);
  EXPECT_EQ(hv1_after->parts[1], hv1->parts[1]) << "blue is not rebuilt";
  EXPECT_NE(hv2_after->fingerprint, hv2->fingerprint);
  EXPECT_NE(hv2_after->parts[2]->id, hv2->parts[2]->id);
  s.endpoints.pop_back();  // hv2 loses its only red endpoint: red leaves its view
  b.Update(s);
  EXPECT_EQ(b.View("hv2", 3)->parts.size(), 2u);
}

TEST(ControllerTest, VersionsAndViews) {
  Controller c;
  EXPECT_EQ(c.Apply(SyncFleet(), "test").value_or(0), 5u);  // the file's version
  auto hv1 = c.View("hv1");
  auto hv2 = c.View("hv2");
  EXPECT_EQ(hv1->version, 5u);
  State s = SyncFleet();                 // same version again: last + 1
  s.segments[1].gateway_mac[5] = 9;  // red only: hv2's view
  EXPECT_EQ(c.Apply(s, "test").value_or(0), 6u);
  EXPECT_EQ(c.View("hv1"), hv1);  // unchanged, not re-sent
  EXPECT_EQ(c.View("hv2")->version, 6u);
  s.version = 40;
  EXPECT_EQ(c.Apply(s, "test").value_or(0), 40u);
  EXPECT_EQ(c.View("hv2")->version, 6u);
}

// A version asked for leaves room for every later one: 2^64-1 would wrap to
// 1 at the next change, and every agent would refuse that as going back.
TEST(ControllerTest, ANackIsKeptEscapedAndBounded) {
  Controller c;
  ASSERT_TRUE(c.Apply(SyncFleet(), "test").ok());
  c.Nacked("hv1", 5, std::string(1 << 20, 'n'), "\x1b[2J \"a3\"" + std::string(1 << 20, 'x'));
  const std::string kept = c.Realization(0).nodes(0).nack_error();
  EXPECT_LT(kept.size(), 8192u);
  EXPECT_EQ(kept.find('\x1b'), std::string::npos);
  EXPECT_THAT(kept, HasSubstr("\\x1b[2J \"a3\""));  // quotes kept as they are
  EXPECT_THAT(kept, HasSubstr("(1048585 bytes)"));
}

TEST(ControllerTest, VersionsNeverWrap) {
  Controller c;
  State s = SyncFleet();
  s.version = Controller::kMaxRequestedVersion + 1;
  absl::StatusOr<uint64_t> refused = c.Apply(s, "test");
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(refused.status().message()),
              HasSubstr("state: field \"version\": 9223372036854775809 is over "
                        "9223372036854775808"));
  EXPECT_EQ(c.version(), 0u) << "a refused state changes nothing";
  s.version = UINT64_MAX;
  EXPECT_FALSE(c.Apply(s, "test").ok());
  s.version = Controller::kMaxRequestedVersion;
  EXPECT_EQ(c.Apply(s, "test").value_or(0), Controller::kMaxRequestedVersion);
  s.version = 1;
  EXPECT_EQ(c.Apply(s, "test").value_or(0), Controller::kMaxRequestedVersion + 1);
}

// ---- end to end over gRPC ----

class FakeAgent {
 public:
  FakeAgent(const std::string& address, std::shared_ptr<grpc::ChannelCredentials> creds,
            const std::string& node, std::function<absl::Status(const State&)> apply = nullptr)
      : apply_(std::move(apply)) {
    SyncClientOptions o{.controllers = {address},
                        .credentials = std::move(creds),
                        .node = node,
                        .stall_timeout = absl::Seconds(1),
                        .backoff_max = absl::Milliseconds(300)};
    client_ = std::make_unique<SyncClient>(o, [this](const State& s) {
      if (apply_) {
        if (absl::Status st = apply_(s); !st.ok()) return st;
      }
      std::lock_guard<std::mutex> lock(mu_);
      versions_.push_back(s.version);
      last_ = s;
      return absl::OkStatus();
    });
    client_->Start();
  }
  std::vector<uint64_t> versions() {
    std::lock_guard<std::mutex> lock(mu_);
    return versions_;
  }
  State last() {
    std::lock_guard<std::mutex> lock(mu_);
    return last_;
  }
  SyncClient& client() { return *client_; }

 private:
  std::function<absl::Status(const State&)> apply_;
  std::mutex mu_;
  std::vector<uint64_t> versions_;
  State last_;
  std::unique_ptr<SyncClient> client_;
};

using weft::testing::WaitFor;

struct Server {
  Server(Controller* c, std::shared_ptr<grpc::ServerCredentials> creds,
         PeerTrust trust = PeerTrust::kAnyone, size_t chunk = kMaxChunkBytes)
      : sync(c, trust, chunk), admin(c, trust) {
    grpc::ServerBuilder b;
    b.AddListeningPort("127.0.0.1:0", std::move(creds), &port);
    b.RegisterService(&sync);
    b.RegisterService(&admin);
    server = b.BuildAndStart();
  }
  ~Server() { server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1)); }
  std::string address() const { return absl::StrCat("127.0.0.1:", port); }
  SyncService sync;
  AdminService admin;
  int port = 0;
  std::unique_ptr<grpc::Server> server;
};

TEST(SyncEndToEndTest, SnapshotUpdatesOnlyChangedViewsAndRealization) {
  Controller c;
  ASSERT_TRUE(c.Apply(SyncFleet(), "test").ok());
  Server server(&c, grpc::InsecureServerCredentials(), PeerTrust::kAnyone,
                /*chunk=*/1024);  // many chunks
  ASSERT_NE(server.port, 0);
  FakeAgent hv1(server.address(), grpc::InsecureChannelCredentials(), "hv1");
  FakeAgent hv2(server.address(), grpc::InsecureChannelCredentials(), "hv2");
  ASSERT_TRUE(WaitFor([&] { return hv1.versions().size() == 1 && hv2.versions().size() == 1; }));
  EXPECT_EQ(hv1.last().tenants.size(), 1u);
  ASSERT_TRUE(WaitFor([&] { return c.Realization(5).all_enforcing(); }));

  State s = SyncFleet();
  s.segments[1].gateway_mac[5] = 9;  // red: hv2 only
  EXPECT_EQ(c.Apply(s, "test").value_or(0), 6u);
  ASSERT_TRUE(WaitFor([&] { return hv2.versions().size() == 2; }));
  EXPECT_EQ(hv2.versions().back(), 6u);
  ASSERT_TRUE(WaitFor([&] { return c.Realization(6).all_enforcing(); }));
  v1::GetRealizationResponse r = c.Realization(6);
  ASSERT_EQ(r.nodes_size(), 2);
  EXPECT_EQ(r.nodes(0).acked_version(), 5u);     // hv1 was not sent 6...
  EXPECT_EQ(r.nodes(0).enforced_version(), 6u);  // ...but its view is current
  EXPECT_TRUE(r.nodes(0).connected());
  EXPECT_EQ(hv1.versions().size(), 1u);
}

TEST(SyncEndToEndTest, NackIsReportedAndTheAgentKeepsItsState) {
  Controller c;
  ASSERT_TRUE(c.Apply(SyncFleet(), "test").ok());
  Server server(&c, grpc::InsecureServerCredentials());
  std::atomic<bool> refuse{false};
  FakeAgent hv1(server.address(), grpc::InsecureChannelCredentials(), "hv1", [&](const State&) {
    return refuse ? absl::ResourceExhaustedError("map weft_routes is full") : absl::OkStatus();
  });
  ASSERT_TRUE(WaitFor([&] { return hv1.versions().size() == 1; }));
  refuse = true;
  State s = SyncFleet();
  s.endpoints[0].mac[5] = 0x77;
  ASSERT_TRUE(c.Apply(s, "test").ok());
  ASSERT_TRUE(WaitFor([&] { return c.Realization(0).nodes(0).nacked_version() == 6; }));
  EXPECT_EQ(c.Realization(0).nodes(0).nack_error(), "map weft_routes is full");
  EXPECT_EQ(c.Realization(0).nodes(0).enforced_version(), 5u);
  EXPECT_FALSE(c.Realization(6).all_enforcing());
  EXPECT_EQ(hv1.versions(), std::vector<uint64_t>{5});
}

TEST(SyncEndToEndTest, ReconnectsAfterTheControllerRestarts) {
  Controller c;
  ASSERT_TRUE(c.Apply(SyncFleet(), "test").ok());
  std::string address;
  {
    Server first(&c, grpc::InsecureServerCredentials());
    address = first.address();
    FakeAgent* hv1 = new FakeAgent(address, grpc::InsecureChannelCredentials(), "hv1");
    ASSERT_TRUE(WaitFor([&] { return hv1->versions().size() == 1; }));
    // The server goes away with the agent still running: it keeps its state
    // and retries; a new server on the same port is found again.
    first.server->Shutdown(std::chrono::system_clock::now());
    first.server->Wait();
    ASSERT_TRUE(WaitFor([&] { return !hv1->client().connected(); }));
    Controller c2;
    State s = SyncFleet();
    s.version = 1;  // a new controller counting from lower
    s.endpoints[0].mac[5] = 0x55;
    ASSERT_TRUE(c2.Apply(s, "restart").ok());
    grpc::ServerBuilder b;
    SyncService sync(&c2, PeerTrust::kAnyone);
    b.AddListeningPort(address, grpc::InsecureServerCredentials());
    b.RegisterService(&sync);
    std::unique_ptr<grpc::Server> second = b.BuildAndStart();
    ASSERT_NE(second, nullptr);
    ASSERT_TRUE(WaitFor([&] { return hv1->versions().size() == 2; }));
    EXPECT_EQ(hv1->versions().back(), 1u);
    EXPECT_EQ(hv1->client().applied_version(), 1u);
    delete hv1;
    second->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  }
}

// A fake controller (a Sync service of this test's own, not
// weft-controller's) that cuts the stream inside an update: on the first
// stream it sends `old_chunks` (one whole update), waits for the Ack, sends
// the first `cut` of `new_chunks` and ends the call (UNAVAILABLE, as a
// controller going away does: the chunks sent reach the agent before the
// end); on every later stream it sends `new_chunks` whole.
class FakeCuttingController final : public v1::Sync::Service {
 public:
  FakeCuttingController(std::vector<v1::StateChunk> old_chunks,
                        std::vector<v1::StateChunk> new_chunks, size_t cut)
      : old_(std::move(old_chunks)), new_(std::move(new_chunks)), cut_(cut) {}

  grpc::Status Stream(
      grpc::ServerContext*,
      grpc::ServerReaderWriter<v1::ControllerMessage, v1::AgentMessage>* stream) override {
    v1::AgentMessage message;
    if (!stream->Read(&message) || !message.has_hello()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "no Hello");
    }
    if (streams_++ == 0) {
      if (!Send(*stream, old_, old_.size()) || !stream->Read(&message) || !message.has_ack()) {
        return grpc::Status(grpc::StatusCode::ABORTED, "the first update was not acked");
      }
      Send(*stream, new_, cut_);
      return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                          absl::StrCat("cut after ", cut_, " chunks"));
    }
    Send(*stream, new_, new_.size());
    while (stream->Read(&message)) {  // Acks, until the agent leaves
    }
    return grpc::Status::OK;
  }

 private:
  static bool Send(grpc::ServerReaderWriter<v1::ControllerMessage, v1::AgentMessage>& stream,
                   const std::vector<v1::StateChunk>& chunks, size_t count) {
    for (size_t i = 0; i < count; ++i) {
      v1::ControllerMessage message;
      *message.mutable_chunk() = chunks[i];
      if (!stream.Write(message)) return false;
    }
    return true;
  }

  const std::vector<v1::StateChunk> old_, new_;
  const size_t cut_;
  std::atomic<int> streams_{0};
};

TEST(SyncEndToEndTest, AStreamCutAtAnyChunkBoundaryAppliesNoPartialState) {
  State old_state = SyncFleet();
  State new_state = SyncFleet();
  new_state.version = 6;
  for (Endpoint& ep : new_state.endpoints) ep.mac[5] ^= 0x40;  // every entry differs
  absl::StatusOr<std::vector<v1::StateChunk>> old_chunks =
      ChunkState(ToProto(old_state), 5, "five", /*max_bytes=*/200);
  absl::StatusOr<std::vector<v1::StateChunk>> new_chunks =
      ChunkState(ToProto(new_state), 6, "six", /*max_bytes=*/200);
  ASSERT_TRUE(old_chunks.ok() && new_chunks.ok()) << old_chunks.status() << new_chunks.status();
  const size_t k = new_chunks->size();
  ASSERT_GE(k, 3u) << "the update should take several chunks";

  for (size_t cut = 0; cut < k; ++cut) {
    SCOPED_TRACE(absl::StrCat("cut after ", cut, " of ", k, " chunks"));
    FakeCuttingController fake(*old_chunks, *new_chunks, cut);
    grpc::ServerBuilder b;
    int port = 0;
    b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    b.RegisterService(&fake);
    std::unique_ptr<grpc::Server> server = b.BuildAndStart();
    ASSERT_NE(port, 0);
    std::vector<State> applied;
    std::mutex mu;
    {
      FakeAgent hv1(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials(), "hv1",
                    [&](const State& s) {
                      std::lock_guard<std::mutex> lock(mu);
                      applied.push_back(s);
                      return absl::OkStatus();
                    });
      ASSERT_TRUE(WaitFor([&] { return hv1.client().applied_version() == 6; }));
      EXPECT_GE(hv1.client().reconnects(), 1u);
      EXPECT_EQ(hv1.client().last_stream_end().code(), absl::StatusCode::kUnavailable);
    }
    server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
    // Exactly the two whole states, each once: nothing of the cut update
    // was applied before the whole of it came again.
    std::lock_guard<std::mutex> lock(mu);
    ASSERT_EQ(applied.size(), 2u);
    EXPECT_TRUE(MessageDifferencer::Equals(ToProto(applied[0]), ToProto(old_state)));
    EXPECT_TRUE(MessageDifferencer::Equals(ToProto(applied[1]), ToProto(new_state)));
  }
}

// ---- mutual TLS ----

// The controller over mutual TLS with the identities of the real deployment:
// hv1's and hv2's node certificates, an operator's, the controller's own.
class TlsServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(pki_.ok() && pki_.Mint("controller", TestPki::kServer) &&
                pki_.Mint("hv1", TestPki::Node("hv1")) && pki_.Mint("hv2", TestPki::Node("hv2")) &&
                pki_.Mint("admin", TestPki::Admin("ops")) && pki_.MintCa("rogue") &&
                pki_.Mint("rogue-hv2", TestPki::Node("hv2"), "rogue"))
        << "openssl failed; see " << pki_.path("log");
    absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> creds =
        ServerCredentials({.cert = pki_.path("controller.pem"),
                           .key = pki_.path("controller.key"),
                           .ca = pki_.path("ca.pem"),
                           .refresh_seconds = 1});
    ASSERT_TRUE(creds.ok()) << creds.status();
    ASSERT_TRUE(controller_.Apply(SyncFleet(), "test").ok());
    server_ = std::make_unique<Server>(&controller_, *creds, PeerTrust::kCertificate);
    ASSERT_NE(server_->port, 0);
  }

  std::shared_ptr<grpc::ChannelCredentials> As(const std::string& who,
                                               const std::string& ca = "ca") {
    absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> creds =
        ClientCredentials({.cert = pki_.path(who + ".pem"),
                           .key = pki_.path(who + ".key"),
                           .ca = pki_.path(ca + ".pem")});
    EXPECT_TRUE(creds.ok()) << creds.status();
    return *creds;
  }

  // A Sync stream that says Hello{node}: how it ends, and whether the
  // controller sent anything first.
  std::pair<grpc::Status, bool> Hello(std::shared_ptr<grpc::ChannelCredentials> creds,
                                      const std::string& node) {
    auto stub = v1::Sync::NewStub(grpc::CreateChannel(server_->address(), std::move(creds)));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(3));
    auto stream = stub->Stream(&ctx);
    v1::AgentMessage hello;
    hello.mutable_hello()->set_node(node);
    stream->Write(hello);
    v1::ControllerMessage message;
    const bool got_view = stream->Read(&message);
    if (got_view) ctx.TryCancel();  // what the test refutes; done with it
    return {stream->Finish(), got_view};
  }

  grpc::Status ApplyEmptyState(std::shared_ptr<grpc::ChannelCredentials> creds) {
    auto stub = v1::Admin::NewStub(grpc::CreateChannel(server_->address(), std::move(creds)));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(3));
    v1::ApplyStateRequest request;
    request.mutable_state();
    v1::ApplyStateResponse response;
    return stub->ApplyState(&ctx, request, &response);
  }

  TestPki pki_;
  Controller controller_;
  std::unique_ptr<Server> server_;
};

TEST_F(TlsServerTest, EachNodeGetsOnlyItsOwnView) {
  FakeAgent hv1(server_->address(), As("hv1"), "hv1");
  ASSERT_TRUE(WaitFor([&] { return hv1.versions().size() == 1; }));
  EXPECT_EQ(hv1.last().tenants.size(), 1u);  // blue only

  // hv1's certificate asking for hv2's view: refused before anything is sent.
  auto [status, got_view] = Hello(As("hv1"), "hv2");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr("node hv1 may not speak for node \"hv2\""));
  EXPECT_FALSE(got_view);
  // ...and hv2 is neither connected nor acknowledged in its name.
  const v1::GetRealizationResponse r = controller_.Realization(5);
  for (const auto& node : r.nodes()) {
    if (node.node() == "hv2") {
      EXPECT_FALSE(node.connected());
      EXPECT_EQ(node.acked_version(), 0u);
    }
  }
  EXPECT_FALSE(r.all_enforcing());

  // The controller's own certificate (serverAuth only) as a client, an
  // operator's on Sync, another CA's with hv2's name, plaintext: none gets a view.
  for (auto& [creds, what] :
       std::vector<std::pair<std::shared_ptr<grpc::ChannelCredentials>, const char*>>{
           {As("controller"), "controller"},
           {As("admin"), "admin"},
           {As("rogue-hv2"), "rogue CA"},
           {grpc::InsecureChannelCredentials(), "plaintext"}}) {
    auto [status, got_view] = Hello(creds, "hv2");
    EXPECT_FALSE(status.ok()) << what;
    EXPECT_FALSE(got_view) << what;
  }
  EXPECT_EQ(Hello(As("admin"), "hv2").first.error_code(), grpc::StatusCode::PERMISSION_DENIED);

  FakeAgent hv2(server_->address(), As("hv2"), "hv2");
  ASSERT_TRUE(WaitFor([&] { return hv2.versions().size() == 1; }));
  EXPECT_EQ(hv2.last().tenants.size(), 2u);  // blue and red
}

TEST_F(TlsServerTest, TheControllersRefusalIsWhatTheAgentReportsAndLogs) {
  // hv1's certificate saying it is hv2: the controller refuses the stream.
  ::testing::internal::CaptureStderr();
  absl::Status end;
  {
    FakeAgent impostor(server_->address(), As("hv1"), "hv2");
    EXPECT_TRUE(WaitFor([&] {
      end = impostor.client().last_stream_end();
      return !end.ok();
    }));
    EXPECT_TRUE(impostor.versions().empty());
  }
  const std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(end.code(), absl::StatusCode::kPermissionDenied) << end;
  EXPECT_THAT(end.message(), HasSubstr("node hv1 may not speak for node \"hv2\""));
  EXPECT_THAT(log, HasSubstr("stream ended: PERMISSION_DENIED: the certificate of node hv1 may "
                             "not speak for node"));
}

// The PEM certificate the controller presents to a new connection ("" when
// the call fails).
std::string ServerCertificate(const std::string& address,
                              std::shared_ptr<grpc::ChannelCredentials> creds) {
  auto stub = v1::Admin::NewStub(grpc::CreateChannel(address, std::move(creds)));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(3));
  v1::GetRealizationResponse response;
  if (!stub->GetRealization(&ctx, {}, &response).ok()) return "";
  const std::vector<grpc::string_ref> pems =
      ctx.auth_context()->FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME);
  return pems.size() == 1 ? std::string(pems[0].data(), pems[0].size()) : "";
}

TEST_F(TlsServerTest, CertificatesRotateWithoutARestart) {
  const std::string before = ServerCertificate(server_->address(), As("admin"));
  ASSERT_EQ(before, pki_.Read("controller.pem"));
  // A new server certificate, renamed over the old files as a rotation does.
  ASSERT_TRUE(pki_.Mint("controller-next", TestPki::kServer));
  for (const char* ext : {".key", ".pem"}) {
    ASSERT_EQ(std::rename(pki_.path(absl::StrCat("controller-next", ext)).c_str(),
                          pki_.path(absl::StrCat("controller", ext)).c_str()),
              0);
  }
  std::string after;
  EXPECT_TRUE(WaitFor([&] {
    after = ServerCertificate(server_->address(), As("admin"));
    return !after.empty() && after != before;
  }));
  EXPECT_EQ(after, pki_.Read("controller.pem"));
}

TEST_F(TlsServerTest, AdminNeedsAnOperatorCertificate) {
  for (const char* who : {"hv1", "controller"}) {
    const grpc::Status status = ApplyEmptyState(As(who));
    EXPECT_FALSE(status.ok()) << who;
    EXPECT_EQ(controller_.version(), 5u) << who;
    EXPECT_EQ(controller_.state().endpoints.size(), 3u) << who;
  }
  const grpc::Status node = ApplyEmptyState(As("hv1"));
  EXPECT_EQ(node.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(node.error_message(), HasSubstr("node hv1 may not call the Admin API"));
  const grpc::Status admin = ApplyEmptyState(As("admin"));
  EXPECT_TRUE(admin.ok()) << admin.error_message();
  EXPECT_EQ(controller_.state().endpoints.size(), 0u);
}

TEST(SyncTlsTest, FlagsMustBeCompleteOrInsecure) {
  EXPECT_EQ(ClientCredentials({}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ClientCredentials({.cert = "a"}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ServerCredentials({.cert = "a", .insecure = true}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(ClientCredentials({.insecure = true}).ok());
  EXPECT_EQ(ClientCredentials({.cert = "/nonexistent", .key = "k", .ca = "c"}).status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace weft
