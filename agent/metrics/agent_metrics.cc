#include "agent/metrics/agent_metrics.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <chrono>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "agent/datapath/bpf_error.h"
#include "common/serving/metric_families.h"

namespace weft {
namespace {

using Type = prometheus::MetricType;

constexpr std::string_view kCtStatLabels[] = {
#define WEFT_CT_STAT_LABEL_(name, label) label,
    WEFT_CT_STATS(WEFT_CT_STAT_LABEL_)
#undef WEFT_CT_STAT_LABEL_
};
static_assert(std::size(kCtStatLabels) == WEFT_CT_STAT_COUNT);

// The maps whose fill matters: every keyed map of abi.h. Arrays (config,
// counters, policy control) are always full; the ring buffer has no entries.
constexpr const char* kKeyedMaps[] = {
    WEFT_MAP_VTEPS,       WEFT_MAP_SEGMENTS,   WEFT_MAP_EP_BY_IP,  WEFT_MAP_EP_BY_MAC,
    WEFT_MAP_EP_BY_IF,    WEFT_MAP_ROUTES,     WEFT_MAP_CT,        WEFT_MAP_POL_TENANT,
    WEFT_MAP_POL_APPLIED, WEFT_MAP_POL_PEER,   WEFT_MAP_POL_L4,    WEFT_MAP_POL_RULES,
};

bool Keyed(uint32_t type) {
  return type == BPF_MAP_TYPE_HASH || type == BPF_MAP_TYPE_LRU_HASH ||
         type == BPF_MAP_TYPE_LPM_TRIE || type == BPF_MAP_TYPE_PERCPU_HASH ||
         type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

struct MapFill {
  std::string name;
  uint64_t entries;
  uint64_t capacity;
};

absl::StatusOr<std::vector<uint64_t>> ReadCtStats(const Datapath& dp) {
  const int fd = dp.MapFd(WEFT_MAP_CT_STATS);
  if (fd < 0) return absl::NotFoundError("no " WEFT_MAP_CT_STATS " map");
  const int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) return BpfError(cpus, "counting possible CPUs");
  std::vector<uint64_t> total(WEFT_CT_STAT_COUNT), per_cpu(cpus);
  for (__u32 i = 0; i < WEFT_CT_STAT_COUNT; ++i) {
    if (bpf_map_lookup_elem(fd, &i, per_cpu.data()) != 0) {
      return BpfError(errno, "reading " WEFT_MAP_CT_STATS);
    }
    for (uint64_t v : per_cpu) total[i] += v;
  }
  return total;
}

}  // namespace

const char* ReasonVerdict(int reason) {
  switch (reason) {
    case WEFT_ARP_REPLY:
    case WEFT_ICMP_ERROR:
    case WEFT_REJECT:
      return "reply";
  }
  return WEFT_REASON_IS_DROP(reason) ? "drop" : "forward";
}

absl::StatusOr<uint64_t> CountMapEntries(int fd, uint32_t key_size, uint64_t limit) {
  std::string key(key_size, '\0'), next(key_size, '\0');
  const void* prev = nullptr;
  uint64_t count = 0;
  while (count < limit && bpf_map_get_next_key(fd, prev, next.data()) == 0) {
    ++count;
    key.swap(next);
    prev = key.data();
  }
  if (count < limit && errno != ENOENT) return BpfError(errno, "iterating a map");
  return count;
}

std::vector<prometheus::MetricFamily> CollectAgentMetrics(const AgentMetricsSource& source) {
  const auto started = std::chrono::steady_clock::now();
  MetricFamilies w;
  uint64_t errors = 0;

  w.Family("weft_agent_info", Type::Gauge,
           "Always 1; the labels say which node this agent serves and how.");
  w.Sample({{"node", source.node}, {"mode", source.mode}, {"underlay_hook", source.underlay_hook}},
           uint64_t{1});
  w.Gauge("weft_agent_ready",
          "1 once the programs are attached and the first state is applied.",
          source.ready ? 1.0 : 0.0);

  const Datapath* dp = source.datapath;
  if (dp != nullptr) {
    if (absl::StatusOr<Counters> counters = dp->ReadCounters(); counters.ok()) {
      for (const bool bytes : {false, true}) {
        w.Family(bytes ? "weft_datapath_bytes_total" : "weft_datapath_packets_total",
                 Type::Counter,
                 bytes ? "Bytes the datapath programs handled, by verdict and reason."
                       : "Packets the datapath programs handled, by verdict and reason.");
        for (int r = 0; r < WEFT_REASON_COUNT; ++r) {
          w.Sample({{"reason", std::string(ReasonLabel(r))}, {"verdict", ReasonVerdict(r)}},
                   static_cast<uint64_t>(bytes ? (*counters)[r].bytes : (*counters)[r].packets));
        }
      }
    } else {
      ++errors;
    }

    if (absl::StatusOr<std::vector<uint64_t>> ct = ReadCtStats(*dp); ct.ok()) {
      w.Family("weft_conntrack_events_total", Type::Counter,
               "What conntrack did besides passing packets; insert_failed and picked_up "
               "rising mean the table is under pressure.");
      for (int i = 0; i < WEFT_CT_STAT_COUNT; ++i) {
        w.Sample({{"event", std::string(kCtStatLabels[i])}}, (*ct)[i]);
      }
    } else if (dp->MapFd(WEFT_MAP_CT_STATS) >= 0) {
      ++errors;
    }

    std::vector<MapFill> fills;
    for (const char* name : kKeyedMaps) {
      const int fd = dp->MapFd(name);
      if (fd < 0) continue;  // objects built before that map existed
      bpf_map_info info{};
      __u32 len = sizeof(info);
      if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0 || !Keyed(info.type)) continue;
      absl::StatusOr<uint64_t> n = CountMapEntries(fd, info.key_size, info.max_entries);
      if (!n.ok()) {
        ++errors;
        continue;
      }
      fills.push_back({name, *n, info.max_entries});
    }
    for (const MapFill& f : fills) {
      if (f.name != WEFT_MAP_CT) continue;
      w.Gauge("weft_conntrack_entries", "Entries in the conntrack table (weft_ct).",
              static_cast<double>(f.entries));
    }
    w.Family("weft_map_entries", Type::Gauge, "Entries in each keyed BPF map.");
    for (const MapFill& f : fills) w.Sample({{"map", f.name}}, f.entries);
    w.Family("weft_map_capacity", Type::Gauge, "max_entries of each keyed BPF map.");
    for (const MapFill& f : fills) w.Sample({{"map", f.name}}, f.capacity);
    w.Family("weft_map_fill_ratio", Type::Gauge,
             "Entries / max_entries of each keyed BPF map (0..1).");
    for (const MapFill& f : fills) {
      w.Sample({{"map", f.name}},
               f.capacity ? static_cast<double>(f.entries) / f.capacity : 0.0);
    }

    if (absl::StatusOr<uint64_t> v = dp->AppliedStateVersion(); v.ok()) {
      w.Gauge("weft_agent_state_version",
              "Desired-state version the maps hold (0: none applied yet).",
              static_cast<double>(*v));
    } else {
      ++errors;
    }
    if (dp->HasPolicyMaps()) {
      if (absl::StatusOr<weft_policy_ctl> ctl = dp->PolicyControl(); ctl.ok()) {
        w.Gauge("weft_policy_generation",
                "Generation of the firewall rule set in force (bumped at every switch).",
                static_cast<double>(ctl->generation));
        w.Gauge("weft_policy_active_slot", "Policy slot (0 or 1) packets read.",
                static_cast<double>(ctl->active_slot));
      } else {
        ++errors;
      }
    }
  }

  if (const SyncClient* sync = source.sync; sync != nullptr) {
    w.Gauge("weft_sync_connected", "1 while the stream to the controller is up.",
            sync->connected() ? 1.0 : 0.0);
    w.Gauge("weft_sync_applied_version",
            "Last controller state version this agent applied.",
            static_cast<double>(sync->applied_version()));
    w.Counter("weft_sync_acks_total", "Updates applied and acknowledged.", sync->acks());
    w.Counter("weft_sync_nacks_total", "Updates refused (Nack), nothing of them applied.",
              sync->nacks());
    w.Counter("weft_sync_reconnects_total",
              "Streams to the controller opened after the first one.", sync->reconnects());
  }

  w.Gauge("weft_agent_scrape_errors", "Map reads that failed during this scrape.",
          static_cast<double>(errors));
  w.Gauge("weft_agent_scrape_duration_seconds", "Time this scrape took to compute.",
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  return std::move(w).Take();
}

}  // namespace weft
