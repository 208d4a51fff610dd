#include "common/serving/exposition.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace weft {
namespace {

// HELP text: backslash and newline escaped.
std::string EscapeHelp(std::string_view help) {
  std::string out;
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

void ExpositionWriter::Family(std::string_view name, Type type, std::string_view help) {
  family_ = std::string(name);
  // (Debian 12's absl::string_view is not std::string_view: plain appends.)
  out_.append("# HELP ").append(name).append(" ").append(EscapeHelp(help)).append("\n");
  out_.append("# TYPE ").append(name).append(" ");
  out_.append(type == Type::kCounter ? "counter\n" : "gauge\n");
}

void ExpositionWriter::SampleLine(const MetricLabels& labels, std::string_view value) {
  out_ += family_;
  if (!labels.empty()) {
    out_ += '{';
    for (size_t i = 0; i < labels.size(); ++i) {
      absl::StrAppend(&out_, i ? "," : "", labels[i].first, "=\"",
                      EscapeLabelValue(labels[i].second), "\"");
    }
    out_ += '}';
  }
  out_.append(" ").append(value).append("\n");
}

void ExpositionWriter::Sample(const MetricLabels& labels, uint64_t value) {
  SampleLine(labels, absl::StrCat(value));
}

void ExpositionWriter::Sample(const MetricLabels& labels, double value) {
  if (std::isnan(value)) {
    SampleLine(labels, "NaN");
  } else if (std::isinf(value)) {
    SampleLine(labels, value > 0 ? "+Inf" : "-Inf");
  } else {
    SampleLine(labels, absl::StrFormat("%.15g", value));
  }
}

void ExpositionWriter::Gauge(std::string_view name, std::string_view help, double value) {
  Family(name, Type::kGauge, help);
  Sample({}, value);
}

void ExpositionWriter::Counter(std::string_view name, std::string_view help, uint64_t value) {
  Family(name, Type::kCounter, help);
  Sample({}, value);
}

}  // namespace weft
