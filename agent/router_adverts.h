// Unsolicited router advertisements (RFC 4861 6.2.4). The datapath answers
// a VM's router solicitation (bpf/lib/nd.h) but has no timer; so that a VM
// keeps its default route without soliciting again, the agent makes the same
// advertisement for every local endpoint on a segment with an IPv6 subnet,
// every `interval`: it runs the VM program on a solicitation from `::`
// (BPF_PROG_TEST_RUN, marked as a trace, so nothing is counted) and sends
// what the program answers out of the VM's interface. One builder of
// advertisements, the datapath's.
#ifndef WEFT_AGENT_ROUTER_ADVERTS_H_
#define WEFT_AGENT_ROUTER_ADVERTS_H_

#include <atomic>
#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/datapath/datapath.h"

namespace weft {

// How many advertisements were sent, and how many could not be (for
// /metrics).
struct RouterAdvertCounts {
  uint64_t sent = 0;
  uint64_t failed = 0;
};

class RouterAdverts {
 public:
  // A zero `interval`: none (only solicited ones, from the datapath).
  explicit RouterAdverts(absl::Duration interval) : interval_(interval) {}
  ~RouterAdverts();
  RouterAdverts(const RouterAdverts&) = delete;
  RouterAdverts& operator=(const RouterAdverts&) = delete;

  // Advertises on every such interface when `interval` has passed since
  // the last time; returns how many advertisements were sent (failures are
  // logged, and the next interfaces still served).
  int Tick(const Datapath& dp, absl::Time now);

  // Since start; read from the metrics thread.
  RouterAdvertCounts Counts() const { return {sent_.load(), failed_.load()}; }

 private:
  absl::StatusOr<int> AdvertiseAll(const Datapath& dp);
  absl::Status Advertise(const Datapath& dp, uint32_t ifindex, const weft_endpoint& ep);

  absl::Duration interval_;
  absl::Time next_ = absl::InfinitePast();
  int socket_ = -1;  // AF_PACKET, opened at the first advertisement
  std::atomic<uint64_t> sent_{0};
  std::atomic<uint64_t> failed_{0};
};

}  // namespace weft

#endif  // WEFT_AGENT_ROUTER_ADVERTS_H_
