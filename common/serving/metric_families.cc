#include "common/serving/metric_families.h"

#include <utility>

namespace weft {

void MetricFamilies::Family(std::string name, prometheus::MetricType type, std::string help) {
  families_.push_back({.name = std::move(name), .help = std::move(help), .type = type});
}

void MetricFamilies::Sample(MetricLabels labels, double value) {
  prometheus::MetricFamily& family = families_.back();
  prometheus::ClientMetric& sample = family.metric.emplace_back();
  sample.label = std::move(labels);
  if (family.type == prometheus::MetricType::Counter) {
    sample.counter.value = value;
  } else {
    sample.gauge.value = value;
  }
}

void MetricFamilies::Gauge(std::string name, std::string help, double value) {
  Family(std::move(name), prometheus::MetricType::Gauge, std::move(help));
  Sample({}, value);
}

void MetricFamilies::Counter(std::string name, std::string help, double value) {
  Family(std::move(name), prometheus::MetricType::Counter, std::move(help));
  Sample({}, value);
}

}  // namespace weft
