#ifndef WEFT_COMMON_WIRE_NACK_H_
#define WEFT_COMMON_WIRE_NACK_H_

#include <cstddef>

namespace weft {

// The most of a Nack's error text that travels and is kept: the agent sends
// at most this much (its Sync messages must stay under the controller's
// receive limit, controller/server.h) and the controller keeps at most this
// much of what any peer sends.
inline constexpr size_t kMaxNackErrorBytes = 4096;

}  // namespace weft

#endif  // WEFT_COMMON_WIRE_NACK_H_
