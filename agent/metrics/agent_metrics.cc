#include "agent/metrics/agent_metrics.h"

#include <algorithm>
#include <chrono>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/datapath/maps/conntrack.h"
#include "agent/datapath/maps/counters.h"
#include "agent/datapath/maps/fill.h"
#include "common/serving/metric_families.h"

namespace weft {
namespace {

using Type = prometheus::MetricType;

// One group of series each; those that read maps return how many reads
// failed (their series are then left out).

void WriteAgent(const AgentMetricsSource& source, MetricFamilies& w) {
  w.Family("weft_agent_info", Type::Gauge,
           "Always 1; the labels say which node this agent serves and how.");
  w.Sample({{"node", source.node}, {"mode", source.mode}, {"underlay_hook", source.underlay_hook}},
           uint64_t{1});
  w.Gauge("weft_agent_ready", "1 once the programs are attached and the first state is applied.",
          source.ready ? 1.0 : 0.0);
  w.Family("weft_router_advertisements_total", Type::Counter,
           "Unsolicited router advertisements to VMs on IPv6 segments, sent or failed (the "
           "agent's log says why).");
  w.Sample({{"result", "sent"}}, source.router_adverts.sent);
  w.Sample({{"result", "failed"}}, source.router_adverts.failed);
}

uint64_t WriteDatapathCounters(const Datapath& dp, MetricFamilies& w) {
  absl::StatusOr<Counters> counters = ReadCounters(dp);
  if (!counters.ok()) return 1;
  for (const bool bytes : {false, true}) {
    w.Family(bytes ? "weft_datapath_bytes_total" : "weft_datapath_packets_total", Type::Counter,
             bytes ? "Bytes the datapath programs handled, by verdict and reason."
                   : "Packets the datapath programs handled, by verdict and reason.");
    for (int r = 0; r < WEFT_REASON_COUNT; ++r) {
      w.Sample({{"reason", std::string(ReasonLabel(r))}, {"verdict", ReasonVerdict(r)}},
               static_cast<uint64_t>(bytes ? (*counters)[r].bytes : (*counters)[r].packets));
    }
  }
  return 0;
}

uint64_t WriteConntrackEvents(const Datapath& dp, MetricFamilies& w) {
  absl::StatusOr<CtStats> ct = ReadCtStats(dp);
  if (!ct.ok()) return 1;
  w.Family("weft_conntrack_events_total", Type::Counter,
           "What conntrack did besides passing packets; insert_failed and picked_up "
           "rising mean the tables are under pressure.");
  for (int i = 0; i < WEFT_CT_STAT_COUNT; ++i) {
    w.Sample({{"event", std::string(CtStatLabel(i))}}, (*ct)[i]);
  }
  return 0;
}

// The entries of the maps `names` together; none when one of them was not
// read (a partial sum would look like a drop).
std::optional<uint64_t> EntriesOf(const std::vector<MapFill>& fills,
                                  std::initializer_list<std::string_view> names) {
  uint64_t total = 0;
  size_t found = 0;
  for (const MapFill& f : fills) {
    if (std::find(names.begin(), names.end(), f.name) == names.end()) continue;
    total += f.entries;
    ++found;
  }
  if (found != names.size()) return std::nullopt;
  return total;
}

uint64_t WriteMapFill(const Datapath& dp, MetricFamilies& w) {
  uint64_t errors = 0;
  std::vector<MapFill> fills;
  for (const Map map : KeyedMaps(dp)) {
    absl::StatusOr<MapFill> fill = ReadMapFill(dp, map);
    if (!fill.ok()) {
      ++errors;
      continue;
    }
    fills.push_back(*std::move(fill));
  }
  // Flows of both families; each family's tables have their own capacity,
  // which weft_map_fill_ratio shows per map.
  if (auto n = EntriesOf(fills, {WEFT_MAP_CT, WEFT_MAP_CT6})) {
    w.Gauge("weft_conntrack_entries", "Confirmed flows in conntrack (weft_ct, weft_ct6).",
            static_cast<double>(*n));
  }
  // A pending table full (fill ratio 1) means new flows are evicting each other.
  if (auto n = EntriesOf(fills, {WEFT_MAP_CT_PENDING, WEFT_MAP_CT6_PENDING})) {
    w.Gauge("weft_conntrack_pending_entries",
            "Flows seen one way only in conntrack (weft_ct_pending, weft_ct6_pend); new-flow "
            "churn evicts there, never from the confirmed tables.",
            static_cast<double>(*n));
  }
  w.Family("weft_map_entries", Type::Gauge, "Entries in each keyed BPF map.");
  for (const MapFill& f : fills) w.Sample({{"map", f.name}}, f.entries);
  w.Family("weft_map_capacity", Type::Gauge, "max_entries of each keyed BPF map.");
  for (const MapFill& f : fills) w.Sample({{"map", f.name}}, f.capacity);
  w.Family("weft_map_fill_ratio", Type::Gauge,
           "Entries / max_entries of each keyed BPF map (0..1).");
  for (const MapFill& f : fills) {
    w.Sample({{"map", f.name}}, f.capacity ? static_cast<double>(f.entries) / f.capacity : 0.0);
  }
  return errors;
}

uint64_t WriteStateVersion(const Datapath& dp, MetricFamilies& w) {
  absl::StatusOr<uint64_t> v = dp.AppliedStateVersion();
  if (!v.ok()) return 1;
  w.Gauge("weft_agent_state_version", "Desired-state version the maps hold (0: none applied yet).",
          static_cast<double>(*v));
  return 0;
}

uint64_t WritePolicyControl(const Datapath& dp, MetricFamilies& w) {
  absl::StatusOr<weft_policy_ctl> ctl = dp.PolicyControl();
  if (!ctl.ok()) return 1;
  w.Gauge("weft_policy_generation",
          "Generation of the firewall rule set in force (bumped at every switch).",
          static_cast<double>(ctl->generation));
  w.Gauge("weft_policy_active_slot", "Policy slot (0 or 1) packets read.",
          static_cast<double>(ctl->active_slot));
  return 0;
}

void WriteSync(const SyncClient& sync, MetricFamilies& w) {
  w.Gauge("weft_sync_connected", "1 while the stream to the controller is up.",
          sync.connected() ? 1.0 : 0.0);
  w.Gauge("weft_sync_applied_version", "Last controller state version this agent applied.",
          static_cast<double>(sync.applied_version()));
  w.Counter("weft_sync_acks_total", "Updates applied and acknowledged.", sync.acks());
  w.Counter("weft_sync_nacks_total", "Updates refused (Nack), nothing of them applied.",
            sync.nacks());
  w.Counter("weft_sync_reconnects_total", "Streams to the controller opened after the first one.",
            sync.reconnects());
}

}  // namespace

const char* ReasonVerdict(int reason) {
  switch (reason) {
    case WEFT_ARP_REPLY:
    case WEFT_ND_REPLY:
    case WEFT_ICMP_ERROR:
    case WEFT_REJECT:
      return "reply";
    case WEFT_ND_DAD:  // nothing to answer, nothing wrong
      return "ignored";
  }
  return WEFT_REASON_IS_DROP(reason) ? "drop" : "forward";
}

std::vector<prometheus::MetricFamily> CollectAgentMetrics(const AgentMetricsSource& source) {
  const auto started = std::chrono::steady_clock::now();
  MetricFamilies w;
  uint64_t errors = 0;

  WriteAgent(source, w);
  if (const Datapath* dp = source.datapath; dp != nullptr) {
    errors += WriteDatapathCounters(*dp, w);
    errors += WriteConntrackEvents(*dp, w);
    errors += WriteMapFill(*dp, w);
    errors += WriteStateVersion(*dp, w);
    errors += WritePolicyControl(*dp, w);
  }
  if (const SyncClient* sync = source.sync; sync != nullptr) WriteSync(*sync, w);

  w.Gauge("weft_agent_scrape_errors", "Map reads that failed during this scrape.",
          static_cast<double>(errors));
  w.Gauge("weft_agent_scrape_duration_seconds", "Time this scrape took to compute.",
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  return std::move(w).Take();
}

}  // namespace weft
