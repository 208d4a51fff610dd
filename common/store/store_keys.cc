#include "common/store/store_keys.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "common/etcd/client.h"

namespace weft {

std::string EscapeKeyPart(absl::string_view part) {
  return absl::StrReplaceAll(part, {{"%", "%25"}, {"/", "%2F"}});
}

std::string UnescapeKeyPart(absl::string_view part) {
  return absl::StrReplaceAll(part, {{"%2F", "/"}, {"%25", "%"}});
}

std::string StoreKeys::Generation(uint64_t generation) const {
  return absl::StrCat(prefix_, "state/g", generation, "/");
}

std::string StoreKeys::StateEnd() const { return etcd::PrefixEnd(prefix_ + "state/"); }

std::string StoreKeys::LearnedEdge(absl::string_view edge) const {
  return absl::StrCat(Learned(), EscapeKeyPart(edge), "/");
}

std::string StoreKeys::LearnedOwner(absl::string_view edge) const {
  return LearnedEdge(edge) + "owner";
}

std::string StoreKeys::LearnedParts(absl::string_view edge) const {
  return LearnedEdge(edge) + "p/";
}

std::string StoreKeys::LearnedPart(absl::string_view edge, size_t index) const {
  return absl::StrFormat("%s%06d", LearnedParts(edge), index);  // sorts in order
}

std::optional<std::string> StoreKeys::EdgeOfLearnedKey(absl::string_view key) const {
  std::string learned = Learned();
  if (!absl::StartsWith(key, learned)) return std::nullopt;
  key.remove_prefix(learned.size());
  size_t slash = key.find('/');
  if (slash == absl::string_view::npos) return std::nullopt;
  return UnescapeKeyPart(key.substr(0, slash));
}

std::string StoreKeys::Realized(absl::string_view node) const {
  return absl::StrCat(Fleet(), "realized/", EscapeKeyPart(node));
}

std::string StoreKeys::Connected(absl::string_view node, absl::string_view replica) const {
  return absl::StrCat(Fleet(), "connected/", EscapeKeyPart(node), "/", EscapeKeyPart(replica));
}

}  // namespace weft
