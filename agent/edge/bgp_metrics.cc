#include "agent/edge/bgp_metrics.h"

#include "common/serving/metric_families.h"

namespace weft::edge {

std::vector<prometheus::MetricFamily> CollectBgpMetrics(const BgpAnnouncer& announcer,
                                                        const LearnedRoutesWatcher& learned) {
  MetricFamilies w;
  w.Gauge("weft_bgp_sessions", "Uplink peers configured in this edge's BGP speaker.",
          static_cast<double>(announcer.sessions()));
  w.Gauge("weft_bgp_announced_prefixes", "Prefixes the speaker announces, summed over its uplinks.",
          static_cast<double>(announcer.announced_prefixes()));
  w.Gauge("weft_bgp_failing",
          "1 while the speaker does not hold what the state says (see the log); retried "
          "every reconcile.",
          announcer.failing() ? 1.0 : 0.0);
  w.Gauge("weft_bgp_peers_established", "Uplink sessions in state Established.",
          static_cast<double>(learned.established()));
  w.Family("weft_bgp_learned_prefixes", prometheus::MetricType::Gauge,
           "Prefixes an uplink's peer announces that the edge reports to the controller "
           "(0 while the session is down).");
  for (const auto& [uplink, count] : learned.learned_per_uplink()) {
    w.Sample({{"uplink", uplink}}, static_cast<double>(count));
  }
  w.Gauge("weft_bgp_learned_prefixes_dropped",
          "Learned prefixes not reported: over --max_learned_prefixes on their uplink.",
          static_cast<double>(learned.dropped()));
  return std::move(w).Take();
}

}  // namespace weft::edge
