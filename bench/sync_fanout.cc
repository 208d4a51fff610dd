// weft_bench_sync: the control-plane benchmark's helpers (bench/sync_scale.py).
//
//   weft_bench_sync fanout (--controller HOST:PORT | --controller_base 127.0.0.2
//                           --controller_port PORT[,PORT...]) --nodes n0001,n0002,...
//       One weft::SyncClient per node (plaintext), all in this process, no
//       datapath: each update is received, reassembled, converted and
//       validated for its node exactly as an agent does (UpdateHandler:
//       ValidateForNode builds the node's tables as a probe), then the apply
//       callback records the arrival and says OK. Prints one line per
//       applied update, "applied NODE VERSION UNIX_NS" (CLOCK_REALTIME, so
//       the driver can compare it with the time it edited the state file),
//       and "connected N" once every client has applied a first update.
//       With --controller_base, client i dials the controller at the
//       loopback address base + i (a controller listening on 0.0.0.0): one
//       TCP connection per client, as separate agents would have (gRPC
//       shares one connection between channels to the same target). With
//       several ports (controller replicas, bench/replicas.py), client i
//       dials port i % n: the clients spread evenly over the replicas.
//       Exits when stdin closes.
//
//   sudo weft_bench_sync breakdown --state FILE --node NODE [--underlay_mtu 1500]
//       Where the time of one full sync goes, stage by stage, in one process
//       (single-threaded; JSON on stdout): YAML load, ValidateState, the
//       controller's view of the node (NodeScope + ToProto + serialize),
//       chunking, the agent's parse and StateFromProto, ValidateForNode (the
//       agent's validation, tables built as a probe), BuildNodeTables,
//       BuildPolicyTables, and, in a private network namespace (unshare;
//       an underlay veth "eth0"), Datapath::Load, Apply (map writes) and
//       ApplyPolicy. Also VmHWM of this process.
#include <arpa/inet.h>
#include <net/if.h>
#include <sched.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "agent/datapath/datapath.h"
#include "agent/sync/client.h"
#include "common/model/state_yaml.h"
#include "common/model/validate.h"
#include "common/plan/node_check.h"
#include "common/plan/policy_tables.h"
#include "common/plan/tables.h"
#include "common/wire/chunk.h"
#include "common/wire/convert.h"
#include "controller/views.h"
#include "grpcpp/security/credentials.h"

namespace weft::bench {
namespace {

[[noreturn]] void Die(const std::string& msg) {
  std::fprintf(stderr, "weft_bench_sync: %s\n", msg.c_str());
  std::exit(1);
}

std::string Flag(int argc, char** argv, const std::string& name, const std::string& def = "") {
  for (int i = 2; i + 1 < argc; ++i)
    if (name == argv[i]) return argv[i + 1];
  return def;
}

int64_t RealtimeNs() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

int Fanout(int argc, char** argv) {
  const std::string controller = Flag(argc, argv, "--controller");
  const std::string base = Flag(argc, argv, "--controller_base");
  const std::vector<std::string> ports =
      absl::StrSplit(Flag(argc, argv, "--controller_port"), ',', absl::SkipEmpty());
  const std::vector<std::string> nodes =
      absl::StrSplit(Flag(argc, argv, "--nodes"), ',', absl::SkipEmpty());
  if ((controller.empty() && (base.empty() || ports.empty())) || nodes.empty())
    Die("fanout needs --nodes and --controller or --controller_base/--controller_port");
  in_addr base_addr{};
  if (!base.empty() && inet_pton(AF_INET, base.c_str(), &base_addr) != 1)
    Die("--controller_base: not an IPv4 address");
  auto target = [&](size_t i) {
    if (base.empty()) return controller;
    in_addr a{htonl(ntohl(base_addr.s_addr) + static_cast<uint32_t>(i))};
    char text[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &a, text, sizeof text);
    return std::string(text) + ":" + ports[i % ports.size()];
  };
  std::mutex out_mu;
  std::atomic<size_t> first_applied{0};
  std::vector<std::unique_ptr<std::atomic<bool>>> seen;
  std::vector<std::unique_ptr<SyncClient>> clients;
  for (size_t i = 0; i < nodes.size(); ++i) {
    seen.push_back(std::make_unique<std::atomic<bool>>(false));
    SyncClientOptions o;
    o.controllers = {target(i)};
    o.credentials = grpc::InsecureChannelCredentials();
    o.node = nodes[i];
    o.vteps = {};
    o.backoff_initial = absl::Milliseconds(50);
    o.backoff_max = absl::Milliseconds(500);
    std::atomic<bool>* first = seen.back().get();
    const std::string node = nodes[i];
    clients.push_back(std::make_unique<SyncClient>(
        std::move(o), [&, first, node, total = nodes.size()](const State& state) {
          const int64_t now = RealtimeNs();
          std::lock_guard<std::mutex> lock(out_mu);
          std::printf("applied %s %llu %lld\n", node.c_str(),
                      static_cast<unsigned long long>(state.version), static_cast<long long>(now));
          if (!first->exchange(true) && ++first_applied == total) {
            std::printf("connected %zu\n", total);
          }
          std::fflush(stdout);
          return absl::OkStatus();
        }));
  }
  for (auto& c : clients) c->Start();
  std::string line;
  while (std::getline(std::cin, line)) {
  }
  for (auto& c : clients) c->Stop();
  return 0;
}

// ---- breakdown ----------------------------------------------------------------

using Clock = std::chrono::steady_clock;

double Ms(Clock::time_point since) {
  return std::chrono::duration<double, std::milli>(Clock::now() - since).count();
}

long StatusKb(const char* field) {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind(field, 0) == 0) return std::atol(line.c_str() + std::strlen(field));
  return -1;
}

void Sh(const std::string& cmd) {
  if (std::system((cmd + " >/dev/null 2>&1").c_str()) != 0) Die("`" + cmd + "` failed");
}

int Breakdown(int argc, char** argv) {
  const std::string path = Flag(argc, argv, "--state");
  const std::string node = Flag(argc, argv, "--node");
  if (path.empty() || node.empty()) Die("breakdown needs --state and --node");
  std::vector<std::pair<std::string, double>> stages;
  auto stage = [&](const char* name, Clock::time_point t0) { stages.emplace_back(name, Ms(t0)); };

  auto t = Clock::now();
  absl::StatusOr<State> loaded = LoadStateFile(path);
  if (!loaded.ok()) Die(loaded.status().ToString());
  stage("controller: load YAML", t);
  t = Clock::now();
  if (absl::Status s = ValidateState(*loaded); !s.ok()) Die(s.ToString());
  stage("controller: ValidateState", t);

  t = Clock::now();
  ViewBuilder views;
  views.Update(*loaded);
  std::shared_ptr<const NodeView> view = views.View(node, loaded->version);
  stage("controller: views (ToProto, one part per tenant, serialize)", t);
  t = Clock::now();
  absl::StatusOr<std::vector<v1::StateChunk>> chunks =
      ChunkState(view->PartStates(), view->version, "bench");
  if (!chunks.ok()) Die(chunks.status().ToString());
  stage("controller: ChunkState", t);
  std::string bytes;
  view->Merged().SerializeToString(&bytes);

  t = Clock::now();
  v1::State parsed;
  if (!parsed.ParseFromString(bytes)) Die("ParseFromString failed");
  absl::StatusOr<State> state = StateFromProto(parsed);
  if (!state.ok()) Die(state.status().ToString());
  stage("agent: parse + StateFromProto", t);
  t = Clock::now();
  if (absl::Status s = ValidateForNode(*state, node); !s.ok()) Die(s.ToString());
  stage("agent: ValidateForNode (validate + tables built as a probe)", t);

  const bool root = geteuid() == 0;
  if (root) {
    if (unshare(CLONE_NEWNET) != 0) Die(std::string("unshare: ") + std::strerror(errno));
    Sh("ip link set lo up");
    Sh("ip link add eth0 type veth peer name eth0p");
    Sh("ip link set eth0 up && ip link set eth0p up");
  }
  NodeSettings settings;
  settings.node = node;
  settings.underlay_ifindex = root ? if_nametoindex("eth0") : 1;
  settings.underlay_mtu =
      static_cast<uint16_t>(std::atoi(Flag(argc, argv, "--underlay_mtu", "1500").c_str()));
  t = Clock::now();
  absl::StatusOr<NodeTables> tables = BuildNodeTables(
      *state, settings, [](const std::string& name) { return if_nametoindex(name.c_str()); });
  if (!tables.ok()) Die(tables.status().ToString());
  stage("agent: BuildNodeTables", t);
  t = Clock::now();
  absl::StatusOr<std::vector<MapTable>> policy = BuildPolicyTables(*state, node, 0);
  if (!policy.ok()) Die(policy.status().ToString());
  stage("agent: BuildPolicyTables", t);
  size_t policy_entries = 0;
  for (const MapTable& m : *policy) policy_entries += m.entries.size();

  if (root) {
    t = Clock::now();
    auto dp = Datapath::Load("");
    if (!dp.ok()) Die(dp.status().ToString());
    stage("agent: Datapath::Load (programs, maps)", t);
    t = Clock::now();
    if (absl::Status s = (*dp)->Apply(*tables); !s.ok()) Die("Apply: " + s.ToString());
    stage("agent: Apply (map writes)", t);
    t = Clock::now();
    if (absl::Status s = (*dp)->ApplyPolicy(
            [&](uint32_t slot) { return BuildPolicyTables(*state, node, slot); });
        !s.ok())
      Die("ApplyPolicy: " + s.ToString());
    stage("agent: ApplyPolicy (build + write slot + flip)", t);
  }

  std::printf(
      "{\"node\": \"%s\", \"endpoints\": %zu, \"routes\": %zu, \"rules\": %zu, "
      "\"view_bytes\": %zu, \"chunks\": %zu, \"policy_entries\": %zu, "
      "\"vm_hwm_kb\": %ld, \"stages\": [",
      node.c_str(), state->endpoints.size(), state->routes.size(),
      [&] {
        size_t n = 0;
        for (const Policy& p : state->policies) n += p.rules.size();
        return n;
      }(),
      bytes.size(), chunks->size(), policy_entries, StatusKb("VmHWM:"));
  for (size_t i = 0; i < stages.size(); ++i)
    std::printf("%s[\"%s\", %.1f]", i ? ", " : "", stages[i].first.c_str(), stages[i].second);
  std::printf("]}\n");
  return 0;
}

}  // namespace
}  // namespace weft::bench

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "fanout") return weft::bench::Fanout(argc, argv);
  if (mode == "breakdown") return weft::bench::Breakdown(argc, argv);
  std::fprintf(stderr,
               "usage: weft_bench_sync fanout --controller HOST:PORT --nodes A,B,...\n"
               "       weft_bench_sync breakdown --state FILE --node NODE\n");
  return 2;
}
