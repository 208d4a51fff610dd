// What one scrape returns, built in order: a family (name, type, HELP), then
// its samples. prometheus-cpp's TextSerializer writes them (format 0.0.4).
#ifndef WEFT_COMMON_SERVING_METRIC_FAMILIES_H_
#define WEFT_COMMON_SERVING_METRIC_FAMILIES_H_

#include <string>
#include <vector>

#include "prometheus/client_metric.h"
#include "prometheus/metric_family.h"
#include "prometheus/metric_type.h"

namespace weft {

// Written in this order (not sorted).
using MetricLabels = std::vector<prometheus::ClientMetric::Label>;

class MetricFamilies {
 public:
  // Starts a family: a counter (named with its _total suffix) or a gauge.
  // Samples of this family follow; a family must not be started twice.
  void Family(std::string name, prometheus::MetricType type, std::string help);

  // One sample of the current family.
  void Sample(MetricLabels labels, double value);

  // A family with a single unlabelled sample.
  void Gauge(std::string name, std::string help, double value);
  void Counter(std::string name, std::string help, double value);

  std::vector<prometheus::MetricFamily> Take() && { return std::move(families_); }

 private:
  std::vector<prometheus::MetricFamily> families_;
};

}  // namespace weft

#endif  // WEFT_COMMON_SERVING_METRIC_FAMILIES_H_
