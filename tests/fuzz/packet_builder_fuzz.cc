// The packet builder and parser (common/packet, what weftctl trace and the
// tests build frames with): a frame built from fuzzed fields parses back to
// those fields, layer by layer: Ethernet (with or without a VLAN tag), ARP,
// IPv4 (options, fragments, checksum), UDP, TCP, ICMP echo, and VXLAN
// around a second such frame. Fields take the values their header can hold
// (IPv4 options at most 40 bytes, the packet at most 65535). Parse also
// runs on the fuzz bytes as they are (a frame the datapath returned).
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/packet/builder.h"
#include "common/packet/parser.h"
#include "tests/fuzz/fuzz_check.h"

namespace weft::packet {
namespace {

constexpr size_t kMaxPayload = 1500;

enum class L4 { kUdp, kTcp, kIcmp, kOther, kArp, kVxlan, kMaxValue = kVxlan };

// What a frame was built of, to compare with what Parse reads.
struct Built {
  L4 l4 = L4::kUdp;
  Mac dst{}, src{};
  std::optional<uint16_t> vlan;
  Ipv4Spec ip;
  uint16_t sport = 0, dport = 0;
  uint8_t flags = 0;  // TCP flags; ICMP type; VXLAN flags
  uint32_t vni = 0;
  Bytes payload;
  std::shared_ptr<const Built> inner;  // VXLAN's
  Bytes frame;
};

Mac ConsumeMac(FuzzedDataProvider& in) {
  Mac m;
  for (uint8_t& b : m) b = in.ConsumeIntegral<uint8_t>();
  return m;
}

// A frame of fuzzed fields; `depth` 1 is inside VXLAN (no VXLAN again).
Built Build(FuzzedDataProvider& in, int depth) {
  Built b;
  b.l4 = in.ConsumeEnum<L4>();
  if (depth > 0 && b.l4 == L4::kVxlan) b.l4 = L4::kUdp;
  b.dst = ConsumeMac(in);
  b.src = ConsumeMac(in);
  if (in.ConsumeBool()) b.vlan = in.ConsumeIntegralInRange<uint16_t>(0, 0x0fff);
  b.ip.src = in.ConsumeIntegral<uint32_t>();
  b.ip.dst = in.ConsumeIntegral<uint32_t>();
  b.ip.ttl = in.ConsumeIntegral<uint8_t>();
  b.ip.tos = in.ConsumeIntegral<uint8_t>();
  b.ip.id = in.ConsumeIntegral<uint16_t>();
  b.ip.df = in.ConsumeBool();
  b.ip.mf = in.ConsumeBool();
  if (in.ConsumeIntegralInRange<int>(0, 7) == 0) {
    b.ip.frag_offset = in.ConsumeIntegralInRange<uint16_t>(0, 0x1fff);
  }
  b.ip.options = in.ConsumeBytes<uint8_t>(in.ConsumeIntegralInRange<size_t>(0, 40));
  b.sport = in.ConsumeIntegral<uint16_t>();
  b.dport = in.ConsumeIntegral<uint16_t>();
  b.flags = in.ConsumeIntegral<uint8_t>();
  b.vni = in.ConsumeIntegralInRange<uint32_t>(0, (1u << 24) - 1);
  if (b.l4 == L4::kVxlan) {
    b.inner = std::make_shared<const Built>(Build(in, depth + 1));
  } else {
    b.payload = in.ConsumeBytes<uint8_t>(in.ConsumeIntegralInRange<size_t>(0, kMaxPayload));
  }

  Bytes l3;
  uint16_t ethertype = kEthIpv4;
  switch (b.l4) {
    case L4::kArp:
      ethertype = kEthArp;
      l3 = Arp(b.sport, b.src, b.ip.src, b.dst, b.ip.dst);
      break;
    case L4::kVxlan:
      b.ip.proto = kProtoUdp;
      b.dport = kVxlanPort;
      l3 = Ipv4(b.ip, Udp(b.sport, b.dport, Vxlan(b.vni, b.inner->frame, b.flags)));
      break;
    case L4::kUdp:
      b.ip.proto = kProtoUdp;
      l3 = Ipv4(b.ip, Udp(b.sport, b.dport, b.payload, b.ip.src, b.ip.dst));
      break;
    case L4::kTcp:
      b.ip.proto = kProtoTcp;
      l3 = Ipv4(b.ip, Tcp(b.sport, b.dport, b.flags, 1, 2, b.payload, b.ip.src, b.ip.dst));
      break;
    case L4::kIcmp:
      b.ip.proto = kProtoIcmp;
      b.flags = b.flags & 1 ? 8 : 0;  // echo request or reply
      l3 = Ipv4(b.ip, IcmpEcho(b.flags, b.sport, b.dport, b.payload));
      break;
    case L4::kOther:
      b.ip.proto = static_cast<uint8_t>(
          b.flags == kProtoUdp || b.flags == kProtoTcp || b.flags == kProtoIcmp ? 0 : b.flags);
      l3 = Ipv4(b.ip, b.payload);
      break;
  }
  b.frame =
      b.vlan ? EthVlan(b.dst, b.src, *b.vlan, ethertype, l3) : Eth(b.dst, b.src, ethertype, l3);
  return b;
}

void Check(const Built& b, const Parsed& p) {
  const std::string frame = HexDump(b.frame);
  WEFT_FUZZ_CHECK(p.eth && p.eth->dst == b.dst && p.eth->src == b.src && p.eth->vlan == b.vlan,
                  frame);
  if (b.l4 == L4::kArp) {
    WEFT_FUZZ_CHECK(p.eth->ethertype == kEthArp && p.arp && p.error.empty(), frame);
    WEFT_FUZZ_CHECK(p.arp->op == b.sport && p.arp->sha == b.src && p.arp->spa == b.ip.src &&
                        p.arp->tha == b.dst && p.arp->tpa == b.ip.dst && p.arp->hlen == 6 &&
                        p.arp->plen == 4,
                    frame);
    return;
  }
  WEFT_FUZZ_CHECK(p.eth->ethertype == kEthIpv4 && p.ipv4 && p.error.empty(),
                  absl::StrCat(p.error, "\n", frame));
  const Ipv4View& ip = *p.ipv4;
  const size_t options = (b.ip.options.size() + 3) / 4 * 4;
  WEFT_FUZZ_CHECK(ip.version == 4 && ip.ihl * 4u == 20 + options && ip.checksum_ok, frame);
  WEFT_FUZZ_CHECK(ip.src == b.ip.src && ip.dst == b.ip.dst && ip.proto == b.ip.proto &&
                      ip.ttl == b.ip.ttl && ip.tos == b.ip.tos && ip.id == b.ip.id &&
                      ip.df == b.ip.df && ip.mf == b.ip.mf && ip.frag_offset == b.ip.frag_offset,
                  frame);
  WEFT_FUZZ_CHECK(ip.offset + ip.total_length == b.frame.size(), frame);
  if (b.ip.frag_offset != 0) {  // no L4 header to read
    WEFT_FUZZ_CHECK(!p.udp && !p.tcp && !p.icmp, frame);
    return;
  }
  switch (b.l4) {
    case L4::kVxlan:
    case L4::kUdp:
      WEFT_FUZZ_CHECK(p.udp && p.udp->sport == b.sport && p.udp->dport == b.dport &&
                          ip.offset + ip.ihl * 4u + p.udp->length == b.frame.size(),
                      frame);
      WEFT_FUZZ_CHECK(p.vxlan.has_value() ==
                          (b.dport == kVxlanPort && (b.l4 == L4::kVxlan || b.payload.size() >= 8)),
                      frame);
      if (b.l4 == L4::kVxlan) {
        WEFT_FUZZ_CHECK(p.vxlan->vni == b.vni && p.vxlan->flags == b.flags &&
                            p.vxlan->reserved_low == 0 && p.inner == b.inner->frame,
                        frame);
        Check(*b.inner, p.Inner());
      } else if (p.vxlan) {
        WEFT_FUZZ_CHECK(p.inner == Bytes(b.payload.begin() + 8, b.payload.end()), frame);
      }
      break;
    case L4::kTcp:
      WEFT_FUZZ_CHECK(
          p.tcp && p.tcp->sport == b.sport && p.tcp->dport == b.dport && p.tcp->flags == b.flags,
          frame);
      break;
    case L4::kIcmp:
      WEFT_FUZZ_CHECK(
          p.icmp && p.icmp->type == b.flags && p.icmp->code == 0 && p.icmp->checksum_ok &&
              p.icmp->rest == (uint32_t{b.sport} << 16 | b.dport) && p.icmp->payload == b.payload,
          frame);
      break;
    case L4::kOther:
      WEFT_FUZZ_CHECK(!p.udp && !p.tcp && !p.icmp, frame);
      break;
    case L4::kArp:
      break;
  }
}

}  // namespace
}  // namespace weft::packet

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace weft::packet;
  const Parsed raw = Parse(Bytes(data, data + size));
  if (raw.vxlan) (void)raw.Inner();

  FuzzedDataProvider in(data, size);
  const Built built = Build(in, 0);
  Check(built, Parse(built.frame));
  return 0;
}
