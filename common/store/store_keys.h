// Where each thing lives in etcd under the store's prefix
// (docs/CONTROL_PLANE.md "Replicas on etcd: the store layout"). Names are
// escaped ('%' and '/' as %25 and %2F) so that a key's parts never run into
// each other.
#ifndef WEFT_COMMON_STORE_STORE_KEYS_H_
#define WEFT_COMMON_STORE_STORE_KEYS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"

namespace weft {

std::string EscapeKeyPart(absl::string_view part);
std::string UnescapeKeyPart(absl::string_view part);

class StoreKeys {
 public:
  explicit StoreKeys(std::string prefix) : prefix_(std::move(prefix)) {}

  // state/head: StoreHead; its mod_revision is the state's version.
  std::string Head() const { return prefix_ + "state/head"; }
  // state/g<generation>/: the objects, each at <kind>/<identity> below.
  std::string Generation(uint64_t generation) const;
  std::string StateEnd() const;  // the end of everything under state/

  // learned/<edge>/owner: the writing stream; learned/<edge>/p/<index>:
  // LearnedRecord parts, in order.
  std::string Learned() const { return prefix_ + "learned/"; }
  std::string LearnedEdge(absl::string_view edge) const;
  std::string LearnedOwner(absl::string_view edge) const;
  std::string LearnedParts(absl::string_view edge) const;
  std::string LearnedPart(absl::string_view edge, size_t index) const;
  // The edge of a key under learned/, nullopt for another key.
  std::optional<std::string> EdgeOfLearnedKey(absl::string_view key) const;

  // fleet/realized/<node>: RealizedRecord; fleet/connected/<node>/<replica>.
  std::string Fleet() const { return prefix_ + "fleet/"; }
  std::string Realized(absl::string_view node) const;
  std::string Connected(absl::string_view node, absl::string_view replica) const;

 private:
  const std::string prefix_;
};

}  // namespace weft

#endif  // WEFT_COMMON_STORE_STORE_KEYS_H_
