#include "agent/sync/chunk.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/message.h"

namespace weft {
namespace {

// Room for a chunk's version, nonce, index, count and the part's own tag and
// length, beyond the nonce's bytes.
constexpr size_t kChunkOverhead = 64;

}  // namespace

absl::StatusOr<std::vector<v1::State>> SplitState(
    absl::Span<const v1::State* const> pieces, size_t max_bytes) {
  using google::protobuf::FieldDescriptor;
  if (max_bytes <= kChunkOverhead) {
    return absl::InvalidArgumentError(
        absl::StrCat("chunk size ", max_bytes, " is too small"));
  }
  const size_t budget = max_bytes - kChunkOverhead;
  std::vector<v1::State> parts(1);
  size_t size = 0;
  const google::protobuf::Descriptor* desc = v1::State::descriptor();
  const google::protobuf::Reflection* refl = v1::State::GetReflection();
  // Piece by piece, list by list: each list's entries stay in the order
  // the merged pieces would give them.
  for (const v1::State* piece : pieces) {
    // A piece that fits a chunk goes in whole: one generated MergeFrom
    // instead of an entry-by-entry copy through reflection.
    if (const size_t piece_size = piece->ByteSizeLong(); piece_size <= budget) {
      if (size + piece_size > budget) {
        parts.emplace_back();
        size = 0;
      }
      parts.back().MergeFrom(*piece);
      parts.back().clear_version();
      size += piece_size;
      continue;
    }
    // Every list of State, by reflection: a list added to state.proto is
    // chunked without a change here.
    for (int f = 0; f < desc->field_count(); ++f) {
      const FieldDescriptor* field = desc->field(f);
      if (!field->is_repeated() ||
          field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) {
        continue;
      }
      const int n = refl->FieldSize(*piece, field);
      for (int i = 0; i < n; ++i) {
        const google::protobuf::Message& item =
            refl->GetRepeatedMessage(*piece, field, i);
        const size_t item_size = item.ByteSizeLong();
        const size_t cost =
            google::protobuf::io::CodedOutputStream::VarintSize32(
                static_cast<uint32_t>(field->number() << 3)) +
            google::protobuf::io::CodedOutputStream::VarintSize64(item_size) +
            item_size;
        if (cost > budget) {
          return absl::ResourceExhaustedError(absl::StrCat(
              field->name(), " entry ", i, " alone is ", cost,
              " bytes, more than a chunk's ", budget));
        }
        if (size + cost > budget) {
          parts.emplace_back();
          size = 0;
        }
        refl->AddMessage(&parts.back(), field)->CopyFrom(item);
        size += cost;
      }
    }
  }
  return parts;
}

absl::StatusOr<std::vector<v1::StateChunk>> ChunkState(
    absl::Span<const v1::State* const> pieces, uint64_t version,
    const std::string& nonce, size_t max_bytes) {
  if (max_bytes <= nonce.size() + kChunkOverhead) {
    return absl::InvalidArgumentError(
        absl::StrCat("chunk size ", max_bytes, " is too small"));
  }
  absl::StatusOr<std::vector<v1::State>> parts =
      SplitState(pieces, max_bytes - nonce.size());
  if (!parts.ok()) return parts.status();
  std::vector<v1::StateChunk> chunks(parts->size());
  for (size_t i = 0; i < parts->size(); ++i) {
    chunks[i].set_version(version);
    chunks[i].set_nonce(nonce);
    chunks[i].set_index(static_cast<uint32_t>(i));
    chunks[i].set_count(static_cast<uint32_t>(parts->size()));
    *chunks[i].mutable_part() = std::move((*parts)[i]);
  }
  return chunks;
}

void ChunkAssembler::Reset() {
  next_ = 0;
  count_ = 0;
  update_ = Update();
}

absl::StatusOr<std::optional<Update>> ChunkAssembler::Add(
    const v1::StateChunk& chunk) {
  auto refuse = [&](absl::string_view what) {
    const std::string where = absl::StrCat(
        "chunk ", chunk.index(), "/", chunk.count(), " of version ",
        chunk.version(), " (nonce \"", chunk.nonce(), "\"): ", what);
    Reset();
    return absl::InvalidArgumentError(where);
  };
  if (chunk.count() == 0) return refuse("count is 0");
  if (chunk.index() >= chunk.count()) return refuse("index is not below count");
  if (next_ == 0) {
    if (chunk.index() != 0) {
      return refuse("an update must start with chunk 0");
    }
    count_ = chunk.count();
    update_.version = chunk.version();
    update_.nonce = chunk.nonce();
    update_.state.Clear();
  } else {
    if (chunk.index() != next_) {
      return refuse(absl::StrCat("expected chunk ", next_, " of version ",
                                 update_.version));
    }
    if (chunk.version() != update_.version || chunk.nonce() != update_.nonce) {
      return refuse(absl::StrCat("version or nonce differs from chunk 0's (",
                                 update_.version, ", \"", update_.nonce,
                                 "\")"));
    }
    if (chunk.count() != count_) {
      return refuse(absl::StrCat("count differs from chunk 0's ", count_));
    }
  }
  update_.state.MergeFrom(chunk.part());
  if (++next_ < count_) return std::optional<Update>();
  Update done = std::move(update_);
  done.state.set_version(done.version);
  Reset();
  return std::optional<Update>(std::move(done));
}

}  // namespace weft
