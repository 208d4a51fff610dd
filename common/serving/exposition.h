// Prometheus text exposition format 0.0.4, written by hand: metric families
// (HELP and TYPE once, then their samples), label values escaped.
// https://prometheus.io/docs/instrumenting/exposition_formats/
#ifndef WEFT_COMMON_SERVING_EXPOSITION_H_
#define WEFT_COMMON_SERVING_EXPOSITION_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace weft {

// The Content-Type of a /metrics answer in this format.
inline constexpr std::string_view kExpositionContentType =
    "text/plain; version=0.0.4; charset=utf-8";

using MetricLabels = std::vector<std::pair<std::string, std::string>>;

class ExpositionWriter {
 public:
  enum class Type { kCounter, kGauge };

  // Starts a family. Counters' names end in _total (Prometheus' convention;
  // the family is named with the suffix in format 0.0.4). Samples of this
  // family follow; a family must not be started twice.
  void Family(std::string_view name, Type type, std::string_view help);

  // One sample of the current family.
  void Sample(const MetricLabels& labels, uint64_t value);
  void Sample(const MetricLabels& labels, double value);
  void Sample(uint64_t value) { Sample({}, value); }

  // A family with a single unlabelled sample.
  void Gauge(std::string_view name, std::string_view help, double value);
  void Counter(std::string_view name, std::string_view help, uint64_t value);

  const std::string& text() const { return out_; }

 private:
  void SampleLine(const MetricLabels& labels, std::string_view value);

  std::string out_;
  std::string family_;
};

// "a\"b\\c\nd" -> a\"b\\c\nd as a label value must be written.
std::string EscapeLabelValue(std::string_view value);

}  // namespace weft

#endif  // WEFT_COMMON_SERVING_EXPOSITION_H_
