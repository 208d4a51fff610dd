#include "controller/wire_entries.h"

#include <algorithm>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/wire_format_lite.h"

namespace weft {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::internal::WireFormatLite;
using google::protobuf::io::CodedInputStream;

// Deeper than any message of ours; a bound on the walk's recursion.
constexpr int kMaxDepth = 32;

// The elements of a packed repeated scalar of `length` bytes.
bool CountPacked(const FieldDescriptor* field, CodedInputStream& in, uint32_t length,
                 size_t& entries) {
  switch (
      WireFormatLite::WireTypeForFieldType(static_cast<WireFormatLite::FieldType>(field->type()))) {
    case WireFormatLite::WIRETYPE_FIXED32:
      entries += length / 4;
      return in.Skip(int(length));
    case WireFormatLite::WIRETYPE_FIXED64:
      entries += length / 8;
      return in.Skip(int(length));
    default:  // varints: one ends at each byte below 0x80
      while (length > 0) {
        const void* data;
        int size;
        if (!in.GetDirectBufferPointer(&data, &size)) return false;
        const int n = std::min<int>(size, int(length));
        const auto* bytes = static_cast<const uint8_t*>(data);
        entries += size_t(std::count_if(bytes, bytes + n, [](uint8_t b) { return b < 0x80; }));
        in.Skip(n);
        length -= uint32_t(n);
      }
      return true;
  }
}

// Walks one message of `type` up to the stream's current limit.
bool Walk(const Descriptor* type, CodedInputStream& in, int depth, size_t stop_above,
          size_t& entries) {
  if (depth > kMaxDepth) return false;
  while (entries <= stop_above) {
    const uint32_t tag = in.ReadTag();
    // 0 at the end of the message (or of the bytes), and on an error.
    if (tag == 0) return in.ConsumedEntireMessage();
    const FieldDescriptor* field = type->FindFieldByNumber(WireFormatLite::GetTagFieldNumber(tag));
    const bool delimited =
        WireFormatLite::GetTagWireType(tag) == WireFormatLite::WIRETYPE_LENGTH_DELIMITED;
    if (field == nullptr || !delimited) {  // unknown, or one scalar (of a list or not)
      if (field != nullptr && field->is_repeated()) ++entries;
      if (!WireFormatLite::SkipField(&in, tag)) return false;
      continue;
    }
    uint32_t length;
    if (!in.ReadVarint32(&length) || length > uint32_t(INT32_MAX)) return false;
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (field->is_repeated()) ++entries;
      const CodedInputStream::Limit limit = in.PushLimit(int(length));
      if (!Walk(field->message_type(), in, depth + 1, stop_above, entries)) return false;
      if (entries > stop_above) return true;
      // The bytes ran out before the length said: cut short.
      if (in.BytesUntilLimit() != 0) return false;
      in.PopLimit(limit);
    } else if (field->is_repeated() && field->cpp_type() != FieldDescriptor::CPPTYPE_STRING) {
      if (!CountPacked(field, in, length, entries)) return false;
    } else {
      if (field->is_repeated()) ++entries;  // a string or bytes of a list
      if (!in.Skip(int(length))) return false;
    }
  }
  return true;
}

}  // namespace

absl::StatusOr<size_t> CountWireListEntries(const Descriptor* type,
                                            google::protobuf::io::ZeroCopyInputStream* bytes,
                                            size_t stop_above) {
  CodedInputStream in(bytes);
  size_t entries = 0;
  if (!Walk(type, in, 0, stop_above, entries)) {
    return absl::InvalidArgumentError(
        absl::StrCat("the request is not a well-formed ", type->full_name()));
  }
  return entries;
}

}  // namespace weft
