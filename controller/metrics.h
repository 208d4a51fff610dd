// weft-controller's /metrics (--metrics_listen), computed at scrape time
// from the controller's bookkeeping. Series: docs/OPERATIONS.md#metrics.
#ifndef WEFT_CONTROLLER_METRICS_H_
#define WEFT_CONTROLLER_METRICS_H_

#include <vector>

#include "controller/controller.h"
#include "controller/replica.h"
#include "prometheus/metric_family.h"

namespace weft {

// The families of one scrape (for MetricsEndpoint).
std::vector<prometheus::MetricFamily> CollectControllerMetrics(const Controller& controller);
// A replica's on etcd, beside its controller's: the store's reachability,
// the revision served, the replica's name.
std::vector<prometheus::MetricFamily> CollectReplicaMetrics(const Replica& replica);

}  // namespace weft

#endif  // WEFT_CONTROLLER_METRICS_H_
