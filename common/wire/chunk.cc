#include "common/wire/chunk.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/base/status.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/message.h"

namespace weft {
namespace {

// Room for a chunk's version, nonce, index, count and the part's own tag and
// length, beyond the nonce's bytes.
constexpr size_t kChunkOverhead = 64;

}  // namespace

size_t CountListEntries(const google::protobuf::Message& message) {
  using google::protobuf::FieldDescriptor;
  const google::protobuf::Reflection* refl = message.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  refl->ListFields(message, &fields);
  size_t entries = 0;
  for (const FieldDescriptor* field : fields) {
    const bool nested = field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE;
    if (!field->is_repeated()) {
      if (nested) entries += CountListEntries(refl->GetMessage(message, field));
      continue;
    }
    const int n = refl->FieldSize(message, field);
    entries += n;
    for (int i = 0; nested && i < n; ++i) {
      entries += CountListEntries(refl->GetRepeatedMessage(message, field, i));
    }
  }
  return entries;
}

absl::Status StateBudget::Add(const v1::State& part) {
  bytes_ += part.ByteSizeLong();
  if (bytes_ > limits_.bytes) {
    return absl::ResourceExhaustedError(
        absl::StrCat("the state is more than ", limits_.bytes, " bytes, the most accepted"));
  }
  entries_ += CountListEntries(part);
  if (entries_ > limits_.entries) {
    return absl::ResourceExhaustedError(absl::StrCat("the state has more than ", limits_.entries,
                                                     " list entries, the most accepted"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<ChunkPart>> SplitState(absl::Span<const v1::State* const> pieces,
                                                  size_t max_bytes) {
  using google::protobuf::FieldDescriptor;
  if (max_bytes <= kChunkOverhead) {
    return absl::InvalidArgumentError(absl::StrCat("chunk size ", max_bytes, " is too small"));
  }
  const size_t budget = max_bytes - kChunkOverhead;
  std::vector<ChunkPart> parts;
  const google::protobuf::Descriptor* desc = v1::State::descriptor();
  const google::protobuf::Reflection* refl = v1::State::GetReflection();
  for (const v1::State* piece : pieces) {
    if (piece->ByteSizeLong() <= budget) {
      parts.emplace_back(piece);
      continue;
    }
    // Every list of State, by reflection: a list added to state.proto is
    // cut without a change here.
    v1::State cut;
    size_t size = 0;
    for (int f = 0; f < desc->field_count(); ++f) {
      const FieldDescriptor* field = desc->field(f);
      if (!field->is_repeated() || field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) {
        continue;
      }
      const int n = refl->FieldSize(*piece, field);
      for (int i = 0; i < n; ++i) {
        const google::protobuf::Message& item = refl->GetRepeatedMessage(*piece, field, i);
        const size_t item_size = item.ByteSizeLong();
        const size_t cost = google::protobuf::io::CodedOutputStream::VarintSize32(
                                static_cast<uint32_t>(field->number() << 3)) +
                            google::protobuf::io::CodedOutputStream::VarintSize64(item_size) +
                            item_size;
        if (cost > budget) {
          return absl::ResourceExhaustedError(absl::StrCat(field->name(), " entry ", i,
                                                           " alone is ", cost,
                                                           " bytes, more than a chunk's ", budget));
        }
        if (size + cost > budget) {
          parts.emplace_back(std::move(cut));
          cut = v1::State();
          size = 0;
        }
        refl->AddMessage(&cut, field)->CopyFrom(item);
        size += cost;
      }
    }
    parts.emplace_back(std::move(cut));
  }
  if (parts.empty()) parts.emplace_back(v1::State());  // an update has a chunk
  return parts;
}

absl::Status WriteChunks(absl::Span<const v1::State* const> pieces, uint64_t version,
                         const std::string& nonce, const std::string& digest, size_t max_bytes,
                         const std::function<bool(const v1::ControllerMessage&)>& write) {
  const size_t own_bytes = nonce.size() + digest.size();
  if (max_bytes <= own_bytes + kChunkOverhead) {
    return absl::InvalidArgumentError(absl::StrCat("chunk size ", max_bytes, " is too small"));
  }
  ASSIGN_OR_RETURN(const std::vector<ChunkPart> parts, SplitState(pieces, max_bytes - own_bytes));
  if (const uint32_t most = StateLimits().chunks; parts.size() > most) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the update is ", parts.size(), " chunks, more than the ", most, " an agent takes"));
  }
  v1::ControllerMessage message;
  v1::StateChunk* chunk = message.mutable_chunk();
  chunk->set_version(version);
  chunk->set_nonce(nonce);
  chunk->set_digest(digest);
  chunk->set_count(static_cast<uint32_t>(parts.size()));
  for (size_t i = 0; i < parts.size(); ++i) {
    chunk->set_index(static_cast<uint32_t>(i));
    // Lent for the write only, and taken back before `message` can free
    // it: serializing reads the part, nothing writes it.
    chunk->unsafe_arena_set_allocated_part(const_cast<v1::State*>(&parts[i].state()));
    const bool written = write(message);
    chunk->unsafe_arena_release_part();
    if (!written) return absl::CancelledError("the stream is closed");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<v1::StateChunk>> ChunkState(absl::Span<const v1::State* const> pieces,
                                                       uint64_t version, const std::string& nonce,
                                                       size_t max_bytes) {
  std::vector<v1::StateChunk> chunks;
  RETURN_IF_ERROR(WriteChunks(pieces, version, nonce, /*digest=*/"", max_bytes,
                              [&](const v1::ControllerMessage& message) {
                                chunks.push_back(message.chunk());
                                return true;
                              }));
  return chunks;
}

void ChunkAssembler::Reset() {
  next_ = 0;
  count_ = 0;
  version_ = 0;
  nonce_.clear();
  digest_.clear();
  budget_ = StateBudget(limits_);
  over_limit_ = absl::OkStatus();
  converter_ = StateConverter();
}

absl::StatusOr<std::optional<Update>> ChunkAssembler::Add(const v1::StateChunk& chunk) {
  auto refuse = [&](absl::string_view what) {
    const std::string where =
        absl::StrCat("chunk ", chunk.index(), "/", chunk.count(), " of version ", chunk.version(),
                     " (nonce \"", chunk.nonce(), "\"): ", what);
    Reset();
    return absl::InvalidArgumentError(where);
  };
  if (chunk.count() == 0) return refuse("count is 0");
  if (chunk.index() >= chunk.count()) return refuse("index is not below count");
  if (next_ == 0) {
    if (chunk.index() != 0) {
      return refuse("an update must start with chunk 0");
    }
    if (chunk.count() > limits_.chunks) {
      return refuse(
          absl::StrCat("count is more than the ", limits_.chunks, " chunks an update may have"));
    }
    count_ = chunk.count();
    version_ = chunk.version();
    nonce_ = chunk.nonce();
    digest_ = chunk.digest();
  } else {
    if (chunk.index() != next_) {
      return refuse(absl::StrCat("expected chunk ", next_, " of version ", version_));
    }
    if (chunk.version() != version_ || chunk.nonce() != nonce_ || chunk.digest() != digest_) {
      return refuse(absl::StrCat("version, nonce or digest differs from chunk 0's (", version_,
                                 ", \"", nonce_, "\")"));
    }
    if (chunk.count() != count_) {
      return refuse(absl::StrCat("count differs from chunk 0's ", count_));
    }
  }
  if (over_limit_.ok()) {
    over_limit_ = budget_.Add(chunk.part());
    if (over_limit_.ok()) {
      converter_.Add(chunk.part());
    } else {
      converter_ = StateConverter();  // frees what the update took so far
    }
  }
  if (++next_ < count_) return std::optional<Update>();
  absl::StatusOr<State> state =
      over_limit_.ok() ? std::move(converter_).Finish() : absl::StatusOr<State>(over_limit_);
  Update done{.version = version_,
              .nonce = std::move(nonce_),
              .digest = std::move(digest_),
              .state = std::move(state)};
  Reset();
  return std::optional<Update>(std::move(done));
}

}  // namespace weft
