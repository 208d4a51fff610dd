// The edge BGP speaker's series on the agent's /metrics
// (docs/OPERATIONS.md#metrics); zero on a node that runs no speaker.
#ifndef WEFT_AGENT_EDGE_BGP_METRICS_H_
#define WEFT_AGENT_EDGE_BGP_METRICS_H_

#include <vector>

#include "agent/edge/bgp_announcer.h"
#include "agent/edge/learned_watcher.h"
#include "prometheus/metric_family.h"

namespace weft::edge {

std::vector<prometheus::MetricFamily> CollectBgpMetrics(const BgpAnnouncer& announcer,
                                                        const LearnedRoutesWatcher& learned);

}  // namespace weft::edge

#endif  // WEFT_AGENT_EDGE_BGP_METRICS_H_
