// The local API's concurrency bounds (BoundApiServer) on a server built as
// the agent builds its own, serving calls that hold their thread as long as
// they run (grpc.health.v1 Watch, as a monitor does): past the thread quota
// a call is refused with RESOURCE_EXHAUSTED, past the streams of one
// connection a call waits; once the held calls end, calls are served again.
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "agent/api/server.h"
#include "common/serving/health.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"

namespace weft::api {
namespace {

using grpc::health::v1::Health;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

// A call that holds a server thread until cancelled.
struct HeldWatch {
  std::unique_ptr<Health::Stub> stub;
  std::unique_ptr<grpc::ClientContext> context = std::make_unique<grpc::ClientContext>();
  std::unique_ptr<grpc::ClientReader<HealthCheckResponse>> reader;

  // Whether the server answered within `wait` (its handler runs).
  bool Start(std::shared_ptr<grpc::Channel> channel, std::chrono::milliseconds wait) {
    stub = Health::NewStub(std::move(channel));
    context->set_deadline(std::chrono::system_clock::now() + wait);
    reader = stub->Watch(context.get(), HealthCheckRequest());
    HealthCheckResponse first;
    return reader->Read(&first);
  }
  grpc::Status End() {
    context->TryCancel();
    HealthCheckResponse more;
    while (reader->Read(&more)) {
    }
    return reader->Finish();
  }
};

class ApiCapsTest : public ::testing::Test {
 protected:
  ApiCapsTest() {
    char dir[] = "/tmp/weft-api-caps-XXXXXX";
    dir_ = mkdtemp(dir);
    address_ = "unix:" + dir_ + "/api.sock";
    grpc::ServerBuilder builder;
    builder.AddListeningPort(address_, grpc::InsecureServerCredentials());
    BoundApiServer(builder);
    builder.RegisterService(&health_);
    server_ = builder.BuildAndStart();
  }
  ~ApiCapsTest() override {
    health_.Shutdown();
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    std::system(("rm -rf " + dir_).c_str());
  }

  // A channel of its own connection (channels with the same arguments share one).
  std::shared_ptr<grpc::Channel> NewConnection() {
    grpc::ChannelArguments args;
    args.SetInt("weft.test.connection", ++connections_);
    return grpc::CreateCustomChannel(address_, grpc::InsecureChannelCredentials(), args);
  }

  grpc::Status Check(std::shared_ptr<grpc::Channel> channel) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    HealthCheckResponse response;
    return Health::NewStub(channel)->Check(&context, HealthCheckRequest(), &response);
  }

  std::string dir_;
  std::string address_;
  int connections_ = 0;
  HealthService health_;
  std::unique_ptr<grpc::Server> server_;
};

TEST_F(ApiCapsTest, PastTheThreadQuotaACallIsRefusedAndCallsAreServedOnceOthersEnd) {
  std::vector<std::unique_ptr<HeldWatch>> held;
  grpc::Status refused;
  // Each on its own connection, so that only the thread quota bounds them.
  for (int i = 0; i <= kMaxApiThreads && refused.ok(); ++i) {
    auto watch = std::make_unique<HeldWatch>();
    if (watch->Start(NewConnection(), std::chrono::seconds(10))) {
      held.push_back(std::move(watch));
    } else {
      refused = watch->reader->Finish();
    }
  }
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << refused.error_message() << " after " << held.size() << " held calls";
  // The quota counts gRPC's own polling threads as well as the calls'.
  EXPECT_LE(held.size(), size_t(kMaxApiThreads));
  EXPECT_GE(held.size(), size_t(kMaxApiThreads) - 8);
  std::printf("  %zu calls held; the next refused: %s\n", held.size(),
              refused.error_message().c_str());
  for (auto& watch : held) watch->End();
  held.clear();
  // Threads are returned as the handlers finish: a bounded wait for a Check.
  grpc::Status again;
  for (int attempt = 0; attempt < 50; ++attempt) {
    again = Check(NewConnection());
    if (again.ok()) break;
    usleep(100 * 1000);
  }
  EXPECT_TRUE(again.ok()) << again.error_message();
}

TEST_F(ApiCapsTest, PastTheStreamsOfAConnectionACallWaitsForOneToEnd) {
  std::shared_ptr<grpc::Channel> connection = NewConnection();
  std::vector<std::unique_ptr<HeldWatch>> held;
  for (int i = 0; i < kMaxStreamsPerConnection; ++i) {
    auto watch = std::make_unique<HeldWatch>();
    ASSERT_TRUE(watch->Start(connection, std::chrono::seconds(30))) << i;
    held.push_back(std::move(watch));
  }
  // The 17th stream is not started by the client until one ends.
  HeldWatch waiting;
  EXPECT_FALSE(waiting.Start(connection, std::chrono::milliseconds(500)));
  const grpc::Status waited = waiting.reader->Finish();
  EXPECT_EQ(waited.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << waited.error_message();
  // Another connection is served meanwhile.
  EXPECT_TRUE(Check(NewConnection()).ok());
  held.back()->End();
  held.pop_back();
  HeldWatch next;
  EXPECT_TRUE(next.Start(connection, std::chrono::seconds(10)));
  next.End();
  for (auto& watch : held) watch->End();
}

}  // namespace
}  // namespace weft::api
