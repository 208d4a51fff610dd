// weft-controller's /metrics (--metrics_listen), computed at scrape time
// from the controller's bookkeeping. Series: docs/OPERATIONS.md#metrics.
#ifndef WEFT_CONTROLLER_METRICS_H_
#define WEFT_CONTROLLER_METRICS_H_

#include <string>

#include "controller/controller.h"

namespace weft {

std::string CollectControllerMetrics(const Controller& controller);

}  // namespace weft

#endif  // WEFT_CONTROLLER_METRICS_H_
