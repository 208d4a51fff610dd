// One YAML document as a read-only tree, built from libyaml's event parser
// for the state reader (state_yaml.cc). Cheap by construction: every node
// is 12 bytes in one vector, scalar text lives in one buffer, and the
// children of a collection are one contiguous run of a shared vector; no
// allocation per node.
//
// What it keeps of YAML is what the state file needs: scalars (their text,
// whatever the quoting or tag), nulls, sequences, mappings (every entry in
// document order, repeated keys included, so the reader can refuse them).
// An alias is the node its anchor names (shared, not copied). Tags other
// than making a scalar non-null are ignored, as are comments and styles.
//
// A reader of the tree walks an alias as a copy of its node, so a small
// document of nested aliases ("billion laughs") would make it walk and
// copy billions of nodes, and libyaml slows down with depth: Parse bounds
// both (kMaxDepth, kMinAliasBudget).
#ifndef WEFT_COMMON_MODEL_YAML_DOC_H_
#define WEFT_COMMON_MODEL_YAML_DOC_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace weft {

class YamlDoc {
 public:
  using NodeId = uint32_t;

  // kNull is YAML 1.1's null: an untagged plain scalar ``, `~`, `null`,
  // `Null` or `NULL` (quoted or tagged, each is a kScalar).
  enum class Kind : uint8_t { kNull, kScalar, kSequence, kMapping };

  struct Entry {
    NodeId key;
    NodeId value;
  };

  // Collections nest at most this deep (the state file needs 4 levels).
  static constexpr size_t kMaxDepth = 64;
  // What aliases may repeat in all, counting each node once and each byte
  // of scalar text once, as a walk that follows them would: the size of the
  // document's text, or this much for a smaller one. So a document walks
  // like a plain one at most twice its size (or 1 MiB) would.
  static constexpr size_t kMinAliasBudget = 1 << 20;

  // Parses a stream of at most one document; no document (empty, or only
  // comments) gives a null root. Errors are InvalidArgument and start with
  // the 1-based `<line>:<column>: ` of the problem: YAML syntax, text that
  // is not UTF-8 or UTF-16 (its column in bytes), an alias with no anchor
  // before it or inside the node it names, a second document (its settings
  // would otherwise go unread), nesting deeper than kMaxDepth, aliases that
  // repeat more than their budget, 4 GiB of text.
  static absl::StatusOr<YamlDoc> Parse(absl::string_view text);

  NodeId root() const { return root_; }
  Kind kind(NodeId node) const { return nodes_[node].kind; }

  // The text of a kScalar node; empty for any other kind.
  absl::string_view scalar(NodeId node) const;
  // The items of a kSequence node, in order; empty for any other kind.
  absl::Span<const NodeId> items(NodeId node) const;
  // The entries of a kMapping node, in document order; empty for any
  // other kind.
  absl::Span<const Entry> entries(NodeId node) const;

  // The value of the first entry of `mapping` whose key is the scalar
  // `key`, or nullopt.
  std::optional<NodeId> Find(NodeId mapping, absl::string_view key) const;

 private:
  class Builder;

  // A scalar's text is text_[first, first + size); a collection's children
  // are items_ or entries_ [first, first + size).
  struct Node {
    Kind kind;
    uint32_t first;
    uint32_t size;
  };

  std::vector<Node> nodes_;
  std::string text_;
  std::vector<NodeId> items_;
  std::vector<Entry> entries_;
  NodeId root_ = 0;
};

}  // namespace weft

#endif  // WEFT_COMMON_MODEL_YAML_DOC_H_
