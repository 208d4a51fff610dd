// The controller's Sync and Admin listeners as weft-controller builds them
// (ListenSync, ListenAdmin): what a peer can make the controller parse is
// bounded before any service code runs.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/model/state_yaml.h"
#include "controller/server.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"

namespace weft {
namespace {

using ::testing::HasSubstr;

constexpr char kListenFleet[] = R"yaml(
version: 1
nodes:
  - {name: hv1, vtep: 198.18.0.1}
)yaml";

// The process's resident set, and its peak since the last ResetPeak, in KiB.
long StatusKib(const std::string& field) {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.starts_with(field + ":")) return std::stol(line.substr(field.size() + 1));
  }
  return -1;
}
void ResetPeak() { std::ofstream("/proc/self/clear_refs") << "5"; }

class ListenTest : public ::testing::Test {
 protected:
  ListenTest() : sync_(&controller_, PeerTrust::kAnyone), admin_(&controller_, PeerTrust::kAnyone) {
    absl::StatusOr<State> state = ParseStateYaml(kListenFleet, "fleet");
    EXPECT_TRUE(state.ok()) << state.status();
    EXPECT_TRUE(controller_.Apply(*state, "test").ok());
  }

  std::shared_ptr<grpc::Channel> Channel(const GrpcListener& listener) {
    grpc::ChannelArguments args;
    args.SetMaxSendMessageSize(-1);
    return grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", listener.port),
                                     grpc::InsecureChannelCredentials(), args);
  }

  // How a stream opened with `hello` ends; OK when the controller sent a view.
  grpc::Status Hello(const GrpcListener& listener, const v1::AgentMessage& hello) {
    std::unique_ptr<v1::Sync::Stub> stub = v1::Sync::NewStub(Channel(listener));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    auto stream = stub->Stream(&context);
    stream->Write(hello);
    v1::ControllerMessage reply;
    if (stream->Read(&reply)) return grpc::Status::OK;
    return stream->Finish();
  }

  // ApplyState with `bytes` as its request, as they are.
  grpc::Status ApplyBytes(const GrpcListener& listener, const std::string& bytes) {
    grpc::GenericStub stub(Channel(listener));
    grpc::CompletionQueue cq;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    grpc::ByteBuffer request;
    {
      grpc::Slice slice(bytes);
      request = grpc::ByteBuffer(&slice, 1);
    }
    auto call = stub.PrepareUnaryCall(&context, "/weft.v1.Admin/ApplyState", request, &cq);
    call->StartCall();
    grpc::ByteBuffer response;
    grpc::Status status;
    call->Finish(&response, &status, this);
    void* tag;
    bool ok;
    EXPECT_TRUE(cq.Next(&tag, &ok));
    cq.Shutdown();
    while (cq.Next(&tag, &ok)) {
    }
    return status;
  }

  Controller controller_;
  SyncService sync_;
  AdminService admin_;
};

TEST_F(ListenTest, AHelloPastTheAgentMessageLimitIsRefusedAndAnOrdinaryOneServed) {
  absl::StatusOr<GrpcListener> listener =
      ListenSync("127.0.0.1:0", grpc::InsecureServerCredentials(), &sync_);
  ASSERT_TRUE(listener.ok()) << listener.status();
  v1::AgentMessage hello;
  hello.mutable_hello()->set_node("hv1");
  hello.mutable_hello()->add_vteps("198.18.0.1");
  EXPECT_TRUE(Hello(*listener, hello).ok());
  // 100 KiB of addresses: under gRPC's default 4 MiB, past the 64 KiB bound.
  for (int i = 0; i < 10000; ++i) hello.mutable_hello()->add_vteps("198.18.0.1");
  ASSERT_GT(hello.ByteSizeLong(), size_t(kMaxAgentMessageBytes));
  const grpc::Status big = Hello(*listener, hello);
  EXPECT_EQ(big.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << big.error_message();
  listener->server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
}

// 32 MiB of empty endpoints (2 bytes each, 16 Mi entries): parsed first
// they took ~1.9 GiB; counted on the wire they are refused with the
// request's bytes as the only cost.
TEST_F(ListenTest, AnApplyStateOfEmptyEntriesIsRefusedBeforeItIsParsed) {
  absl::StatusOr<GrpcListener> listener =
      ListenAdmin("127.0.0.1:0", grpc::InsecureServerCredentials(), &admin_);
  ASSERT_TRUE(listener.ok()) << listener.status();
  constexpr size_t kEntries = 16 << 20;
  std::string state;
  state.reserve(2 * kEntries);
  for (size_t i = 0; i < kEntries; ++i) state.append("\x2a\x00", 2);  // State.endpoints {}
  std::string request = "\x0a";  // ApplyStateRequest.state, its length as a varint
  for (size_t n = state.size(); n != 0 || request.size() == 1; n >>= 7) {
    request.push_back(char((n & 0x7f) | (n >= 0x80 ? 0x80 : 0)));
  }
  request += state;
  state.clear();
  state.shrink_to_fit();
  const long before_kib = StatusKib("VmRSS");
  ResetPeak();
  const grpc::Status status = ApplyBytes(*listener, request);
  const long peak_kib = StatusKib("VmHWM");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr("more than 1048576 list entries"));
  std::printf("  RSS %ld KiB before, peak %ld KiB while refused\n", before_kib, peak_kib);
  // The request's copies (the client's and the server's buffers), not a parse.
  EXPECT_LT(peak_kib - before_kib, 512 << 10)
      << "KiB before " << before_kib << ", peak " << peak_kib;
  EXPECT_EQ(controller_.version(), 1u);
  EXPECT_EQ(controller_.rejected_edits(), 1u);
  listener->server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
}

TEST_F(ListenTest, AnOrdinaryApplyStateIsApplied) {
  absl::StatusOr<GrpcListener> listener =
      ListenAdmin("127.0.0.1:0", grpc::InsecureServerCredentials(), &admin_);
  ASSERT_TRUE(listener.ok()) << listener.status();
  std::unique_ptr<v1::Admin::Stub> stub = v1::Admin::NewStub(Channel(*listener));
  grpc::ClientContext context;
  v1::ApplyStateRequest request;
  v1::Node* node = request.mutable_state()->add_nodes();
  node->set_name("hv2");
  node->set_vtep("198.18.0.2");
  v1::ApplyStateResponse response;
  const grpc::Status status = stub->ApplyState(&context, request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.version(), controller_.version());
  EXPECT_TRUE(controller_.HasWeftNode("hv2"));
  listener->server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
}

}  // namespace
}  // namespace weft
