// The packet fuzzer's oracle: from what a program did with one frame (its
// verdict, the one reason it counted, the frame it left) decides where the
// frame was going and whether the input was allowed to reach it: the same
// tenant as the ingress identity (the VM bound to the interface, or the
// segment of the VNI), the same segment unless routed through its gateway,
// answers only about the asker's segment, and a verdict that agrees with
// the reason. A forwarded packet, IPv4 or IPv6 alike, keeps the addresses
// it was sent with (from a VM: its own source address); switched, its MACs
// and hop count, to the endpoint of its destination MAC on the segment;
// routed, from the gateway MAC with one hop less, to where the tenant's
// longest matching route of the family leads (the endpoint owning the
// address, or one of the route's VTEPs). For TC programs, the redirect
// target a trace run of the frame recorded is that endpoint's interface.
// ICMP errors come from the gateway's address of the family, back to the
// sender's. On an edge, what leaves by an uplink leaves by one of the
// tenant's, and what comes in by an uplink goes into that uplink's tenant
// only. It knows the maps through the World, not through the programs.
#ifndef WEFT_BENCH_PACKET_FUZZ_ORACLE_H_
#define WEFT_BENCH_PACKET_FUZZ_ORACLE_H_

#include <cstdint>
#include <string>

#include "agent/datapath/attach.h"
#include "bench/packet_fuzz_world.h"

namespace weft::fuzz {

enum class Program { kVm, kUnderlayTc, kUnderlayXdp, kUplink };

// What one run did.
struct Outcome {
  bool refused = false;  // the kernel refused the run (the program never ran)
  uint32_t retval = 0;   // TC_ACT_* or XDP_*
  Bytes out;
  uint64_t counted = 0;  // packets counted over all reasons during the run
  int reason = -1;       // the reason counted, when exactly one was
  // TC only: the same frame run first as a trace (weftctl trace's mark),
  // which records the interface a local delivery is redirected to (test
  // runs return a redirect without its target).
  bool traced = false;
  uint32_t trace_reason = 0;
  uint32_t trace_egress_ifindex = 0;
};

// Whether `o` forwarded an IPv6 packet (delivered, encapsulated or
// decapsulated it; for VXLAN, the inner packet): the report counts them, so
// that a run whose seeds forward no IPv6 shows it.
bool ForwardedIpv6(const Outcome& o);

class Oracle {
 public:
  explicit Oracle(const World& world) : world_(world) {}

  // "" when the outcome is allowed, else what is wrong.
  std::string Judge(Program program, uint32_t ingress_ifindex, const Bytes& in,
                    const Outcome& o) const;

 private:
  std::string JudgeVm(uint32_t ingress_ifindex, const Bytes& in, const Outcome& o) const;
  std::string JudgeUnderlay(bool xdp, const Bytes& in, const Outcome& o) const;
  std::string JudgeUplink(uint32_t ingress_ifindex, const Bytes& in, const Outcome& o) const;

  const World& world_;
};

}  // namespace weft::fuzz

#endif  // WEFT_BENCH_PACKET_FUZZ_ORACLE_H_
