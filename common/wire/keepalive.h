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

// The controller pings every connection this often, idle or not, and drops
// one whose ping is not answered within kNodeKeepaliveTimeoutMs: a node that
// dies without closing its connection (powered off, its underlay cut) loses
// its stream within their sum (3 s), and an edge with it its place as a next
// hop of the routes it learned (docs/NORTH_SOUTH.md "Failover"). Without it
// such a stream lived until TCP gave up on it, and hypervisors kept hashing
// flows to the dead edge. 1,000 agents cost the controller 500 pings a second.
inline constexpr int kNodeKeepaliveTimeMs = 2000;
inline constexpr int kNodeKeepaliveTimeoutMs = 1000;

}  // namespace weft

#endif  // WEFT_COMMON_WIRE_KEEPALIVE_H_
