// weft-agent's /metrics: computed from the maps and the sync client at
// scrape time. The series are listed in docs/OPERATIONS.md#metrics.
#ifndef WEFT_AGENT_METRICS_AGENT_METRICS_H_
#define WEFT_AGENT_METRICS_AGENT_METRICS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/datapath/datapath.h"
#include "agent/router_adverts.h"
#include "agent/sync/client.h"
#include "prometheus/metric_family.h"

namespace weft {

struct AgentMetricsSource {
  std::string node;
  std::string mode;           // "file" or "controller"
  std::string underlay_hook;  // "tc" or "xdp"
  const Datapath* datapath = nullptr;
  const SyncClient* sync = nullptr;  // null in file mode
  bool ready = false;                // programs attached, first state applied
  RouterAdvertCounts router_adverts;  // the agent's unsolicited ones
};

// The families of one scrape (for MetricsEndpoint). A map that cannot be read
// leaves its series out and counts in weft_agent_scrape_errors.
std::vector<prometheus::MetricFamily> CollectAgentMetrics(const AgentMetricsSource& source);

// "forward", "drop", "reply" or "ignored" (nd_dad) for a reason of abi.h's WEFT_REASONS.
const char* ReasonVerdict(int reason);

}  // namespace weft

#endif  // WEFT_AGENT_METRICS_AGENT_METRICS_H_
