// Shared expectations on program output, for the VM and underlay tables.
#ifndef WEFT_TESTS_BPF_CHECKS_H_
#define WEFT_TESTS_BPF_CHECKS_H_

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/packet/builder.h"
#include "common/packet/parser.h"
#include "tests/bpf/fixture.h"

namespace weft::testing {

// Hook return codes (from linux/pkt_cls.h and linux/bpf.h).
inline constexpr uint32_t kTcOk = 0;
inline constexpr uint32_t kTcShot = 2;
inline constexpr uint32_t kTcRedirect = 7;
inline constexpr uint32_t kXdpDrop = 1;
inline constexpr uint32_t kXdpPass = 2;
inline constexpr uint32_t kXdpTx = 3;
inline constexpr uint32_t kXdpRedirect = 4;

std::string TcRetName(uint32_t r);
std::string XdpRetName(uint32_t r);

// What a check sees: the input, the output (raw and parsed), and the fixture
// environment (ul0's MAC etc).
struct Seen {
  const Bytes& in;
  const Bytes& out;
  const Parsed& p;
  const Env& env;
};
using Check = std::function<void(const Seen&)>;

// What a table row asserts after its run, the verdict compared by the
// caller: the reason counted is one of `reasons`;
void ExpectReasonIn(const RunResult& r, const std::vector<int>& reasons);
// `check` (when set) sees the output;
void ExpectOutput(const Check& check, const Bytes& in, const RunResult& r, const Env& env);
// and on any failure so far both frames are printed.
void PrintFramesOnFailure(const Bytes& in, const RunResult& r);

// This kernel's BPF_PROG_TEST_RUN refuses TC input of an IPv4 ethertype
// shorter than 14 + 20 bytes (EINVAL): such a row cannot run at TC.
bool TcRefusedShortIpv4(const RunResult& r, const Bytes& in);
inline constexpr char kShortIpv4Skip[] =
    "this kernel's BPF_PROG_TEST_RUN refuses TC input of an IPv4 ethertype shorter than "
    "14 + 20 bytes (EINVAL): not testable at TC";

// The output is the input, byte for byte.
void ExpectUnchanged(const Seen& s);

// The output is a VXLAN packet from this node (hv1, ul0's MAC) to `vtep`
// (underlay MAC from the permanent neighbour) on `vni`, well formed
// (lengths, checksum, TTL, ports, flags); returns the inner frame parsed.
Parsed ExpectVxlanFromHv1(const Seen& s, uint32_t vtep, uint32_t vni);

// The frame `out` is `in` routed: MACs rewritten to `src`/`dst`, TTL - 1,
// checksum valid, everything else in the IPv4 packet unchanged.
void ExpectRouted(const Bytes& in, const Bytes& out, const Mac& src, const Mac& dst);

// An ARP reply to (to_mac, to_ip) saying `ip` is at `mac`, Ethernet from `mac`.
void ExpectArpReply(const Parsed& p, const Mac& mac, uint32_t ip, const Mac& to_mac,
                    uint32_t to_ip);

// An ICMP error (type/code, rest-of-header word) from `from_ip`/`from_mac`
// back to the sender of `in` (an Ethernet/IPv4 frame), quoting at least its
// IPv4 header and 8 bytes.
void ExpectIcmpErrorBack(const Bytes& in, const Parsed& p, uint8_t type, uint8_t code,
                         uint32_t rest, uint32_t from_ip, const Mac& from_mac);

Mac VtepMac(uint32_t vtep);

}  // namespace weft::testing

#endif  // WEFT_TESTS_BPF_CHECKS_H_
