// States for the store tests: one with every kind of object, and fleets of
// many endpoints.
#ifndef WEFT_TESTS_STORE_SAMPLE_STATES_H_
#define WEFT_TESTS_STORE_SAMPLE_STATES_H_

#include <cstddef>

#include "common/model/state.h"
#include "common/store/state_codec.h"

namespace weft::testing {

State EveryKind();
// Two tenants' worth of nodes and segments, and `count` endpoints (names
// "<prefix>-<i>").
State ManyEndpoints(size_t count, const char* prefix = "vm");
// Same objects, same fields (order aside: the store keeps them by key).
bool SameState(const State& a, const State& b);
size_t ObjectCount(const State& state);

}  // namespace weft::testing

#endif  // WEFT_TESTS_STORE_SAMPLE_STATES_H_
