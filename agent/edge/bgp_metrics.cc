#include "agent/edge/bgp_metrics.h"

#include "common/serving/metric_families.h"

namespace weft::edge {

std::vector<prometheus::MetricFamily> CollectBgpMetrics(const BgpAnnouncer& announcer) {
  MetricFamilies w;
  w.Gauge("weft_bgp_sessions", "Uplink peers configured in this edge's BGP speaker.",
          static_cast<double>(announcer.sessions()));
  w.Gauge("weft_bgp_announced_prefixes", "Prefixes the speaker announces, summed over its uplinks.",
          static_cast<double>(announcer.announced_prefixes()));
  w.Gauge("weft_bgp_failing",
          "1 while the speaker does not hold what the state says (see the log); retried "
          "every reconcile.",
          announcer.failing() ? 1.0 : 0.0);
  return std::move(w).Take();
}

}  // namespace weft::edge
