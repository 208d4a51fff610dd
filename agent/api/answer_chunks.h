// The agent API's long answers (endpoints, routes, conntrack entries) go out
// as a stream of messages of bounded size rather than one message: at
// 100,000 endpoints one answer passes gRPC's default 4 MiB limit on what a
// client receives. The messages, merged in order (protobuf MergeFrom
// concatenates repeated fields), are the whole answer; weftctl merges them.
#ifndef WEFT_AGENT_API_ANSWER_CHUNKS_H_
#define WEFT_AGENT_API_ANSWER_CHUNKS_H_

#include <cstddef>
#include <functional>
#include <type_traits>
#include <utility>

#include "google/protobuf/repeated_ptr_field.h"

namespace weft::api {

// Well under gRPC's default 4 MiB, so a message is never near the limit.
inline constexpr size_t kMaxAnswerChunkBytes = 1 << 20;

// Hands `answer` to `write` in messages of at most `max_bytes` each: the
// first holds the answer's other fields, every message as many of the
// `entries` (in order) as fit; a single entry bigger than `max_bytes` goes
// alone. An answer without entries is one message. False when `write` is
// (the client went away); the rest is not sent.
template <typename Response, typename Entry>
bool WriteInChunks(Response answer,
                   google::protobuf::RepeatedPtrField<Entry>* (Response::*entries)(),
                   size_t max_bytes,
                   const std::type_identity_t<std::function<bool(const Response&)>>& write) {
  // The field's tag and length prefix of an entry: at most 1 + 5 bytes.
  constexpr size_t kEntryFraming = 6;
  google::protobuf::RepeatedPtrField<Entry> all;
  all.Swap((answer.*entries)());
  Response chunk = std::move(answer);
  size_t bytes = chunk.ByteSizeLong();
  for (Entry& entry : all) {
    const size_t size = entry.ByteSizeLong() + kEntryFraming;
    if (bytes + size > max_bytes && !(chunk.*entries)()->empty()) {
      if (!write(chunk)) return false;
      chunk = Response();
      bytes = 0;
    }
    *(chunk.*entries)()->Add() = std::move(entry);
    bytes += size;
  }
  return write(chunk);
}

}  // namespace weft::api

#endif  // WEFT_AGENT_API_ANSWER_CHUNKS_H_
