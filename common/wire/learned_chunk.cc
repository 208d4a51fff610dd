#include "common/wire/learned_chunk.h"

#include <algorithm>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/base/status.h"
#include "common/model/net_format.h"
#include "common/model/validate.h"

namespace weft {
namespace {

// A chunk's report, index and count with their tags, at most.
constexpr size_t kChunkFieldsBytes = 32;
// An UplinkLearned's tag and length (up to 64 KiB), and its name's tag and length.
constexpr size_t kUplinkEntryBytes = 1 + 3 + 1 + 1;
// A prefix's tag and length.
constexpr size_t kPrefixEntryBytes = 2;

}  // namespace

void SortLearnedPrefixes(std::vector<Ipv4Prefix>& prefixes) {
  std::sort(prefixes.begin(), prefixes.end(), [](const Ipv4Prefix& a, const Ipv4Prefix& b) {
    return std::tie(a.addr, a.length) < std::tie(b.addr, b.length);
  });
  prefixes.erase(std::unique(prefixes.begin(), prefixes.end()), prefixes.end());
}

std::vector<v1::LearnedRoutesChunk> ChunkLearnedRoutes(const LearnedSnapshot& snapshot,
                                                       uint64_t report, size_t max_bytes) {
  std::vector<v1::LearnedRoutesChunk> chunks(1);
  size_t size = kChunkFieldsBytes;
  for (const auto& [uplink, prefixes] : snapshot) {
    const size_t entry = kUplinkEntryBytes + uplink.size();
    if (size + entry > max_bytes) {
      chunks.emplace_back();
      size = kChunkFieldsBytes;
    }
    v1::UplinkLearned* current = chunks.back().add_uplinks();
    current->set_uplink(uplink);
    size += entry;
    for (const Ipv4Prefix& prefix : prefixes) {
      std::string text = FormatIpv4Prefix(prefix);
      const size_t cost = kPrefixEntryBytes + text.size();
      if (size + cost > max_bytes) {  // the uplink goes on in the next chunk
        chunks.emplace_back();
        current = chunks.back().add_uplinks();
        current->set_uplink(uplink);
        size = kChunkFieldsBytes + entry;
      }
      current->add_prefixes(std::move(text));
      size += cost;
    }
  }
  for (size_t i = 0; i < chunks.size(); ++i) {
    chunks[i].set_report(report);
    chunks[i].set_index(static_cast<uint32_t>(i));
    chunks[i].set_count(static_cast<uint32_t>(chunks.size()));
  }
  return chunks;
}

absl::StatusOr<std::optional<LearnedSnapshot>> LearnedRoutesAssembler::Add(
    const v1::LearnedRoutesChunk& chunk) {
  if (absl::Status taken = Take(chunk); !taken.ok()) {
    next_ = 0;
    snapshot_.clear();
    return WithContext(taken, absl::StrCat("learned routes report ", chunk.report()));
  }
  if (next_ < count_) return std::nullopt;
  last_report_ = report_;
  next_ = 0;
  return std::exchange(snapshot_, {});
}

absl::Status LearnedRoutesAssembler::Take(const v1::LearnedRoutesChunk& chunk) {
  if (next_ == 0) {
    if (chunk.count() == 0 || chunk.count() > limits_.chunks) {
      return absl::InvalidArgumentError(
          absl::StrCat("count ", chunk.count(), " is outside 1..", limits_.chunks));
    }
    if (last_report_ && chunk.report() <= *last_report_) {
      return absl::InvalidArgumentError(
          absl::StrCat("does not follow report ", *last_report_, ": report numbers grow"));
    }
    count_ = chunk.count();
    report_ = chunk.report();
    prefixes_ = 0;
    snapshot_.clear();
  } else if (chunk.report() != report_ || chunk.count() != count_) {
    return absl::InvalidArgumentError(absl::StrCat("chunk of report ", chunk.report(), " (count ",
                                                   chunk.count(), ") while report ", report_,
                                                   " (count ", count_, ") is in progress"));
  }
  if (chunk.index() != next_) {
    return absl::InvalidArgumentError(
        absl::StrCat("chunk ", chunk.index(), " where chunk ", next_, " was due"));
  }
  ++next_;
  for (const v1::UplinkLearned& uplink : chunk.uplinks()) {
    if (uplink.uplink().empty()) return absl::InvalidArgumentError("an uplink without a name");
    prefixes_ += uplink.prefixes_size();
    if (prefixes_ > limits_.prefixes) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "more than ", limits_.prefixes, " prefixes, the most the controller takes in a report"));
    }
    std::vector<Ipv4Prefix>& into = snapshot_[uplink.uplink()];
    for (const std::string& text : uplink.prefixes()) {
      // "255.255.255.255/32" at most: a longer text is not parsed (nor quoted whole).
      absl::StatusOr<Ipv4Prefix> prefix = text.size() <= 18
                                              ? ParseIpv4Prefix(text)
                                              : absl::InvalidArgumentError("is not an IPv4 prefix");
      if (!prefix.ok()) {
        return absl::InvalidArgumentError(absl::StrCat("uplink ", QuoteBounded(uplink.uplink()),
                                                       ": prefix ", QuoteBounded(text), ": ",
                                                       prefix.status().message()));
      }
      into.push_back(*prefix);
    }
  }
  if (next_ == count_) {
    for (auto& [name, prefixes] : snapshot_) SortLearnedPrefixes(prefixes);
  }
  return absl::OkStatus();
}

}  // namespace weft
