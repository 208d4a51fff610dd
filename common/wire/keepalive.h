// gRPC keepalive on the sync stream (docs/CONTROL_PLANE.md "Failure
// behaviour"): how an agent notices a controller that vanished without
// closing the connection (powered off, partitioned, stopped), whose stream
// would otherwise look idle forever.
#ifndef WEFT_COMMON_WIRE_KEEPALIVE_H_
#define WEFT_COMMON_WIRE_KEEPALIVE_H_

namespace weft {

// The agent pings every kSyncKeepaliveTimeMs, idle stream or not, and drops
// the connection when a ping is not answered within kSyncKeepaliveTimeoutMs:
// a dead controller is noticed within their sum (15 s), and the agent then
// reconnects with its backoff (at most 5 s).
inline constexpr int kSyncKeepaliveTimeMs = 10000;
inline constexpr int kSyncKeepaliveTimeoutMs = 5000;
// The controller accepts pings this often (half the agents' period: a
// server closes a connection that pings more often than it allows).
inline constexpr int kSyncMinPingIntervalMs = kSyncKeepaliveTimeMs / 2;

}  // namespace weft

#endif  // WEFT_COMMON_WIRE_KEEPALIVE_H_
