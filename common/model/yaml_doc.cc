#include "common/model/yaml_doc.h"

#include <yaml.h>

#include <algorithm>
#include <limits>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/base/status.h"

namespace weft {
namespace {

constexpr uint32_t kMaxSize = std::numeric_limits<uint32_t>::max();

// As editors count: from 1.
std::string Position(const yaml_mark_t& mark) {
  return absl::StrCat(mark.line + 1, ":", mark.column + 1);
}

// The position of byte `offset` of `text`, its column counted in bytes: for
// problems found before libyaml counts lines (text that does not decode)
// or before it runs (text too long).
std::string PositionOfByte(absl::string_view text, size_t offset) {
  const absl::string_view before = text.substr(0, offset);
  const size_t line_start = before.rfind('\n') + 1;  // npos + 1 == 0
  return absl::StrCat(std::count(before.begin(), before.end(), '\n') + 1, ":",
                      offset - line_start + 1);
}

absl::Status ParserError(const yaml_parser_t& parser, absl::string_view text) {
  if (parser.error == YAML_MEMORY_ERROR || parser.problem == nullptr) {
    return absl::ResourceExhaustedError("out of memory parsing YAML");
  }
  if (parser.error == YAML_READER_ERROR) {
    // libyaml's reader knows the byte, not the line.
    return absl::InvalidArgumentError(
        absl::StrCat(PositionOfByte(text, parser.problem_offset), ": ", parser.problem));
  }
  std::string message = absl::StrCat(Position(parser.problem_mark), ": ", parser.problem);
  if (parser.context != nullptr) {
    absl::StrAppend(&message, " (", parser.context, " at ", Position(parser.context_mark), ")");
  }
  return absl::InvalidArgumentError(message);
}

absl::string_view View(const yaml_char_t* text) {
  return text == nullptr ? absl::string_view() : reinterpret_cast<const char*>(text);
}

// YAML 1.1's null (Kind::kNull).
bool IsNull(const yaml_event_t& event) {
  if (event.data.scalar.tag != nullptr || event.data.scalar.style != YAML_PLAIN_SCALAR_STYLE) {
    return false;
  }
  const absl::string_view text(reinterpret_cast<const char*>(event.data.scalar.value),
                               event.data.scalar.length);
  return text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL";
}

}  // namespace

// Turns the events of one document into nodes. A collection becomes a node
// at its end event, when all its children are known: until then they wait
// in `pending_`, so each collection's children land contiguously.
//
// Every node's walk size is what walking it costs a reader that follows
// aliases: 1 per node plus its scalar bytes, an alias counting as the whole
// node it names. What aliases add in all is held to `alias_budget`.
class YamlDoc::Builder {
 public:
  // Node 0 is the null node, shared by every null.
  Builder(YamlDoc& doc, uint64_t alias_budget) : doc_(doc), alias_budget_(alias_budget) {
    doc_.nodes_.push_back({Kind::kNull, 0, 0});
  }

  absl::Status Add(const yaml_event_t& event) {
    switch (event.type) {
      case YAML_DOCUMENT_START_EVENT:
        if (seen_document_) {
          return Error(event, "a second document; one is expected");
        }
        seen_document_ = true;
        return absl::OkStatus();
      case YAML_SCALAR_EVENT:
        return Scalar(event);
      case YAML_SEQUENCE_START_EVENT:
        return Open(event, Kind::kSequence, event.data.sequence_start.anchor);
      case YAML_MAPPING_START_EVENT:
        return Open(event, Kind::kMapping, event.data.mapping_start.anchor);
      case YAML_SEQUENCE_END_EVENT:
      case YAML_MAPPING_END_EVENT:
        Close();
        return absl::OkStatus();
      case YAML_ALIAS_EVENT:
        return Alias(event);
      default:  // stream start and end, document end: nothing to build
        return absl::OkStatus();
    }
  }

 private:
  // An anchor's value while the node it names is still open: an alias to
  // it would make the tree a cycle.
  static constexpr NodeId kOpen = std::numeric_limits<NodeId>::max();

  struct OpenCollection {
    Kind kind;
    size_t first_pending;
    std::string anchor;
    uint64_t walk_size;  // of the children so far, and itself
  };

  struct Anchor {
    NodeId node;
    uint64_t walk_size;
  };

  static absl::Status Error(const yaml_event_t& event, absl::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat(Position(event.start_mark), ": ", what));
  }

  absl::Status Scalar(const yaml_event_t& event) {
    NodeId id = 0;
    const uint64_t walk_size = 1 + event.data.scalar.length;
    if (!IsNull(event)) {
      const size_t length = event.data.scalar.length;
      if (length > kMaxSize - doc_.text_.size()) {
        return Error(event, "the scalars add up to 4 GiB or more");
      }
      id = NewNode(Kind::kScalar, doc_.text_.size(), length);
      doc_.text_.append(reinterpret_cast<const char*>(event.data.scalar.value), length);
    }
    Complete(id, View(event.data.scalar.anchor), walk_size);
    return absl::OkStatus();
  }

  absl::Status Open(const yaml_event_t& event, Kind kind, const yaml_char_t* anchor) {
    // Refused at the first level too deep, before libyaml, whose every
    // token costs as much as the depth, reads on.
    if (open_.size() == kMaxDepth) {
      return Error(event, absl::StrCat("collections nested more than ", kMaxDepth,
                                       " levels deep; at most ", kMaxDepth, " are read"));
    }
    open_.push_back({kind, pending_.size(), std::string(View(anchor)), 1});
    if (!open_.back().anchor.empty()) anchors_[open_.back().anchor] = {kOpen, 0};
    return absl::OkStatus();
  }

  void Close() {
    OpenCollection collection = std::move(open_.back());
    open_.pop_back();
    const auto children = pending_.begin() + collection.first_pending;
    const size_t count = pending_.end() - children;
    NodeId id;
    if (collection.kind == Kind::kSequence) {
      id = NewNode(Kind::kSequence, doc_.items_.size(), count);
      doc_.items_.insert(doc_.items_.end(), children, pending_.end());
    } else {
      // libyaml's events alternate key and value.
      id = NewNode(Kind::kMapping, doc_.entries_.size(), count / 2);
      for (auto it = children; it != pending_.end(); it += 2) {
        doc_.entries_.push_back({*it, *(it + 1)});
      }
    }
    pending_.erase(children, pending_.end());
    Complete(id, collection.anchor, collection.walk_size);
  }

  absl::Status Alias(const yaml_event_t& event) {
    const absl::string_view anchor = View(event.data.alias.anchor);
    const auto it = anchors_.find(anchor);
    if (it == anchors_.end()) {
      return Error(event,
                   absl::StrCat("alias *", anchor, " has no anchor &", anchor, " before it"));
    }
    if (it->second.node == kOpen) {
      return Error(event, absl::StrCat("alias *", anchor, " is inside the node it names"));
    }
    // No overflow: a walk size is at most a few times the text's size
    // (below 4 GiB) plus the budget.
    aliased_ += it->second.walk_size;
    if (aliased_ > alias_budget_) {
      return Error(event, absl::StrCat("alias *", anchor, " makes the aliases repeat more than ",
                                       alias_budget_,
                                       " nodes and bytes of text in all (as much as the "
                                       "document holds, or 1 MiB); aliases nested like this are "
                                       "refused"));
    }
    Complete(it->second.node, "", it->second.walk_size);
    return absl::OkStatus();
  }

  // Sizes fit: Parse refuses input of 4 GiB or more, and every node,
  // item and entry takes at least one byte of it.
  NodeId NewNode(Kind kind, size_t first, size_t size) {
    doc_.nodes_.push_back({kind, static_cast<uint32_t>(first), static_cast<uint32_t>(size)});
    return static_cast<NodeId>(doc_.nodes_.size() - 1);
  }

  // A finished node: a child of the innermost open collection, or the
  // root.
  void Complete(NodeId id, absl::string_view anchor, uint64_t walk_size) {
    if (!anchor.empty()) anchors_[anchor] = {id, walk_size};
    if (open_.empty()) {
      doc_.root_ = id;
    } else {
      pending_.push_back(id);
      open_.back().walk_size += walk_size;
    }
  }

  YamlDoc& doc_;
  const uint64_t alias_budget_;
  uint64_t aliased_ = 0;  // the walk sizes of every alias so far
  bool seen_document_ = false;
  std::vector<OpenCollection> open_;  // innermost last
  std::vector<NodeId> pending_;       // children of open_, in order
  absl::flat_hash_map<std::string, Anchor> anchors_;
};

absl::StatusOr<YamlDoc> YamlDoc::Parse(absl::string_view text) {
  if (text.size() >= kMaxSize) {
    return absl::InvalidArgumentError(absl::StrCat(PositionOfByte(text, kMaxSize),
                                                   ": 4 GiB of text; a document must be smaller"));
  }
  yaml_parser_t parser;
  if (!yaml_parser_initialize(&parser)) {
    return absl::ResourceExhaustedError("out of memory for a YAML parser");
  }
  absl::Cleanup delete_parser = [&parser] { yaml_parser_delete(&parser); };
  yaml_parser_set_input_string(&parser, reinterpret_cast<const unsigned char*>(text.data()),
                               text.size());

  YamlDoc doc;
  Builder builder(doc, std::max<uint64_t>(text.size(), kMinAliasBudget));
  for (;;) {
    yaml_event_t event;
    if (!yaml_parser_parse(&parser, &event)) return ParserError(parser, text);
    const absl::Status added = builder.Add(event);
    const bool end = event.type == YAML_STREAM_END_EVENT;
    yaml_event_delete(&event);
    RETURN_IF_ERROR(added);
    if (end) return doc;
  }
}

absl::string_view YamlDoc::scalar(NodeId node) const {
  const Node& n = nodes_[node];
  if (n.kind != Kind::kScalar) return {};
  return absl::string_view(text_.data() + n.first, n.size);
}

absl::Span<const YamlDoc::NodeId> YamlDoc::items(NodeId node) const {
  const Node& n = nodes_[node];
  if (n.kind != Kind::kSequence) return {};
  return absl::MakeConstSpan(items_.data() + n.first, n.size);
}

absl::Span<const YamlDoc::Entry> YamlDoc::entries(NodeId node) const {
  const Node& n = nodes_[node];
  if (n.kind != Kind::kMapping) return {};
  return absl::MakeConstSpan(entries_.data() + n.first, n.size);
}

std::optional<YamlDoc::NodeId> YamlDoc::Find(NodeId mapping, absl::string_view key) const {
  for (const Entry& entry : entries(mapping)) {
    if (kind(entry.key) == Kind::kScalar && scalar(entry.key) == key) {
      return entry.value;
    }
  }
  return std::nullopt;
}

}  // namespace weft
