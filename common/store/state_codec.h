// The desired state as etcd holds it: one key per object,
// <kind>/<identity> (the identity the validator keeps unique), each value a
// weft.v1.State holding that one object. Objects come back sorted by key,
// which is the order every replica sees.
#ifndef WEFT_COMMON_STORE_STATE_CODEC_H_
#define WEFT_COMMON_STORE_STATE_CODEC_H_

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "common/model/state.h"

namespace weft {

// Object key (relative to the generation's prefix) -> serialized value.
using EncodedState = std::map<std::string, std::string>;

EncodedState EncodeState(const State& state);

// One value back: a State holding exactly that one object. InvalidArgument
// naming `key` when it does not parse or holds anything else.
absl::StatusOr<State> DecodeObject(const std::string& key, const std::string& value);

// Appends the one object of `object` (a DecodeObject result) to `state`.
void AppendObject(State& state, const State& object);

}  // namespace weft

#endif  // WEFT_COMMON_STORE_STATE_CODEC_H_
