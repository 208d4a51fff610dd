#include "bench/packet_fuzz_seeds.h"

#include <functional>
#include <optional>
#include <utility>
#include <vector>

#include "common/model/net_format.h"
#include "common/packet/builder.h"

namespace weft::fuzz {
namespace {

using packet::Ip;
using packet::Ip6;
using packet::Ipv4Spec;
using packet::Ipv6Spec;

// Route targets of the fixture (tests/bpf/fixture.cc): blue's ECMP route,
// blue's blackhole, an address no route covers; and with the edge's uplinks
// bound (tests/bpf/uplink_maps.h) upstream through each tenant's uplink and
// blue's route that names red's uplink.
const uint32_t kRouteTargets[] = {Ip("10.9.1.1"), Ip("10.66.1.1"), Ip("10.77.1.1"),
                                  Ip("203.0.113.9"), Ip("198.51.100.7")};
// The same for IPv6 (fixture.cc's routes6): blue's ECMP route, blue's
// blackhole, an address no route covers.
const Ipv6Address kRouteTargets6[] = {Ip6("2001:db8:9::1"), Ip6("2001:db8:66::1"),
                                      Ip6("2001:db8:77::1")};
// What a VM's stack may put between the IPv6 header and the upper layer.
constexpr uint8_t kHopByHop = 0;
constexpr uint8_t kDestOptions = 60;
constexpr Mac kBroadcast = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
constexpr Mac kNobody = {0x02, 0x99, 0x00, 0x00, 0x00, 0x99};

enum class Kind { kIcmp, kTcpSyn, kTcpAck, kTcpTelnet, kUdp, kUdpDenied };
constexpr Kind kKinds[] = {Kind::kIcmp,      Kind::kTcpSyn, Kind::kTcpAck,
                           Kind::kTcpTelnet, Kind::kUdp,    Kind::kUdpDenied};

const char* KindName(Kind k) {
  switch (k) {
    case Kind::kIcmp:
      return "icmp-echo";
    case Kind::kTcpSyn:
      return "tcp-syn";
    case Kind::kTcpAck:
      return "tcp-ack";
    case Kind::kTcpTelnet:
      return "tcp-23";
    case Kind::kUdp:
      return "udp";
    case Kind::kUdpDenied:
      return "udp-5001";
  }
  return "?";
}

Address Addr6(const Ipv6Address& a) {
  Address addr;
  addr.v6 = a;
  return addr;
}

// The upper layer of kind `k` from `sip` to `dip` (IPv6 addresses: the
// checksums over their pseudo header), and its protocol.
std::pair<uint8_t, Bytes> KindPayload6(Kind k, const Ipv6Address& sip, const Ipv6Address& dip) {
  switch (k) {
    case Kind::kIcmp: {
      Bytes echo = packet::IcmpEcho(128, 0x4242, 1, Bytes(24, 0x5a));
      echo[2] = echo[3] = 0;
      const uint16_t sum = packet::InternetChecksum(
          echo.data(), echo.size(),
          packet::PseudoHeaderSum6(sip, dip, packet::kProtoIcmp6, echo.size()));
      echo[2] = sum >> 8;
      echo[3] = sum & 0xff;
      return {packet::kProtoIcmp6, echo};
    }
    case Kind::kTcpSyn:
    case Kind::kTcpAck:
    case Kind::kTcpTelnet:
      return {packet::kProtoTcp, packet::Tcp(43210, k == Kind::kTcpTelnet ? 23 : 443,
                                             k == Kind::kTcpAck ? packet::kTcpAck : packet::kTcpSyn,
                                             1000, 0, Bytes(8, 0x11), sip, dip)};
    case Kind::kUdp:
    case Kind::kUdpDenied:
      return {packet::kProtoUdp,
              packet::Udp(40000, k == Kind::kUdp ? 53 : 5001, Bytes(16, 0xab), sip, dip)};
  }
  return {};
}

// An Ethernet/IPv6 frame carrying `l4` (protocol `proto`) behind the
// extension headers `ext` (8 bytes each, PadN options), with `hop_limit`.
Bytes Ipv6Frame(const Mac& dmac, const Mac& smac, const Ipv6Address& sip, const Ipv6Address& dip,
                uint8_t proto, const Bytes& l4, const std::vector<uint8_t>& ext = {},
                uint8_t hop_limit = 64) {
  Ipv6Spec ip;
  ip.src = sip;
  ip.dst = dip;
  ip.hop_limit = hop_limit;
  ip.next_header = ext.empty() ? proto : ext.front();
  Bytes payload;
  for (size_t i = 0; i < ext.size(); ++i) {
    const uint8_t next = i + 1 < ext.size() ? ext[i + 1] : proto;
    payload.insert(payload.end(), {next, 0, 1, 4, 0, 0, 0, 0});
  }
  payload.insert(payload.end(), l4.begin(), l4.end());
  return packet::Eth(dmac, smac, packet::kEthIpv6, packet::Ipv6(ip, payload));
}

// An Ethernet frame of kind `k` from `sip` to `dip`, IPv4 or IPv6 (behind
// the extension headers `ext`). Ports are chosen to meet the policy the
// fuzzer installs: TCP 23 rejected, UDP 5001 denied for some endpoints.
Bytes KindFrame(Kind k, const Mac& dmac, const Mac& smac, const Address& sip, const Address& dip,
                const std::vector<uint8_t>& ext = {}) {
  if (sip.is_v6()) {
    const auto [proto, l4] = KindPayload6(k, *sip.v6, *dip.v6);
    return Ipv6Frame(dmac, smac, *sip.v6, *dip.v6, proto, l4, ext);
  }
  Ipv4Spec ip;
  ip.src = sip.v4;
  ip.dst = dip.v4;
  switch (k) {
    case Kind::kIcmp:
      ip.proto = packet::kProtoIcmp;
      return packet::Ipv4Frame(dmac, smac, ip, packet::IcmpEcho(8, 0x4242, 1, Bytes(24, 0x5a)));
    case Kind::kTcpSyn:
    case Kind::kTcpAck:
    case Kind::kTcpTelnet: {
      ip.proto = packet::kProtoTcp;
      ip.df = true;
      const uint16_t dport = k == Kind::kTcpTelnet ? 23 : 443;
      const uint8_t flags = k == Kind::kTcpAck ? packet::kTcpAck : packet::kTcpSyn;
      return packet::Ipv4Frame(
          dmac, smac, ip,
          packet::Tcp(43210, dport, flags, 1000, 0, Bytes(8, 0x11), sip.v4, dip.v4));
    }
    case Kind::kUdp:
    case Kind::kUdpDenied:
      return packet::UdpFrame(dmac, smac, sip.v4, dip.v4, 40000, k == Kind::kUdp ? 53 : 5001, 16);
  }
  return {};
}

// IPv6 that `src` (a MAC and `sip`) might send on segment `seg`, to be
// forwarded: each kind to each endpoint that has an IPv6 address, switched
// (its MAC) and routed (the gateway's), and to the IPv6 route targets;
// behind hop-by-hop and destination options; and the special shapes: hop
// limit 1, to the gateway's own or a link-local address through it, too big
// for the underlay once encapsulated.
void Frames6From(const World& world, const WorldSegment& seg, const Mac& smac,
                 const Ipv6Address& sip, const std::string& prefix,
                 const std::function<void(std::string, Bytes)>& add) {
  const std::string from = prefix + " ipv6 ";
  for (Kind k : kKinds) {
    for (const auto& ep : world.endpoints) {
      if (!ep.ip6) continue;
      add(from + KindName(k) + " switched -> " + ep.name,
          KindFrame(k, ep.mac, smac, Addr6(sip), Addr6(*ep.ip6)));
      add(from + KindName(k) + " routed -> " + ep.name,
          KindFrame(k, seg.gateway_mac, smac, Addr6(sip), Addr6(*ep.ip6)));
    }
    for (const Ipv6Address& dip : kRouteTargets6)
      add(from + KindName(k) + " routed -> route target " + FormatIpv6(dip),
          KindFrame(k, seg.gateway_mac, smac, Addr6(sip), Addr6(dip)));
  }
  const std::vector<uint8_t> ext = {kHopByHop, kDestOptions};
  for (const auto& ep : world.endpoints) {
    if (!ep.ip6) continue;
    add(from + "udp ext-headers switched -> " + ep.name,
        KindFrame(Kind::kUdp, ep.mac, smac, Addr6(sip), Addr6(*ep.ip6), ext));
    add(from + "tcp-syn ext-headers routed -> " + ep.name,
        KindFrame(Kind::kTcpSyn, seg.gateway_mac, smac, Addr6(sip), Addr6(*ep.ip6), ext));
  }
  add(from + "icmp-echo ext-headers routed -> route target",
      KindFrame(Kind::kIcmp, seg.gateway_mac, smac, Addr6(sip), Addr6(kRouteTargets6[0]), ext));

  const WorldEndpoint* peer = nullptr;  // a remote endpoint with IPv6, for the shapes
  for (const auto& ep : world.endpoints)
    if (ep.ip6 && ep.ifindex == 0 && peer == nullptr) peer = &ep;
  if (peer == nullptr) return;
  const Bytes udp = packet::Udp(40000, 53, Bytes(16, 0xab), sip, *peer->ip6);
  add(from + "hop-limit-1 routed",
      Ipv6Frame(seg.gateway_mac, smac, sip, *peer->ip6, packet::kProtoUdp, udp, {}, 1));
  add(from + "hop-limit-1 ext-headers routed",
      Ipv6Frame(seg.gateway_mac, smac, sip, *peer->ip6, packet::kProtoUdp, udp, ext, 1));
  add(from + "hop-limit-1 switched",
      Ipv6Frame(peer->mac, smac, sip, *peer->ip6, packet::kProtoUdp, udp, {}, 1));
  if (seg.gateway6)
    add(from + "udp routed -> gateway",
        KindFrame(Kind::kUdp, seg.gateway_mac, smac, Addr6(sip), Addr6(*seg.gateway6)));
  add(from + "udp routed -> link-local", KindFrame(Kind::kUdp, seg.gateway_mac, smac, Addr6(sip),
                                                   Addr6(packet::LinkLocalOf(peer->mac))));
  // 1,403 bytes of UDP payload: one more than ul0's MTU (1500) carries
  // once VXLAN's 50 bytes are added (1500 - 50 - 40 - 8).
  const Bytes big = packet::Udp(40000, 53, Bytes(1403, 0xab), sip, *peer->ip6);
  add(from + "too-big switched",
      Ipv6Frame(peer->mac, smac, sip, *peer->ip6, packet::kProtoUdp, big));
  add(from + "too-big routed",
      Ipv6Frame(seg.gateway_mac, smac, sip, *peer->ip6, packet::kProtoUdp, big));
}

// Everything `src` (a MAC, an IPv4 address, maybe an IPv6 one) might send
// on segment `seg`: each kind to each endpoint switched (its MAC) and
// routed (the gateway's MAC), to the route targets, ARP for every address,
// the special shapes, and its IPv6 (Frames6From).
void FramesFrom(const World& world, const WorldSegment& seg, const Mac& smac, uint32_t sip,
                const std::optional<Ipv6Address>& sip6, const std::string& prefix,
                const std::function<void(std::string, Bytes)>& add) {
  for (Kind k : kKinds) {
    for (const auto& ep : world.endpoints) {
      add(prefix + " " + KindName(k) + " switched -> " + ep.name,
          KindFrame(k, ep.mac, smac, sip, ep.ip));
      add(prefix + " " + KindName(k) + " routed -> " + ep.name,
          KindFrame(k, seg.gateway_mac, smac, sip, ep.ip));
    }
    for (uint32_t dip : kRouteTargets)
      add(prefix + " " + KindName(k) + " routed -> route target",
          KindFrame(k, seg.gateway_mac, smac, sip, dip));
  }
  for (const auto& ep : world.endpoints)
    add(prefix + " arp-request " + ep.name, packet::ArpRequestFrame(smac, sip, ep.ip));
  add(prefix + " arp-request gateway", packet::ArpRequestFrame(smac, sip, seg.gateway_ip));
  add(prefix + " arp-reply", packet::Eth(kBroadcast, smac, packet::kEthArp,
                                         packet::Arp(2, smac, sip, kNobody, seg.gateway_ip)));

  const WorldEndpoint& peer = world.endpoints.front();
  Ipv4Spec ip;
  ip.src = sip;
  ip.dst = peer.ip;
  ip.proto = packet::kProtoUdp;
  const Bytes udp = packet::Udp(40000, 53, Bytes(16, 0xab), sip, peer.ip);
  Ipv4Spec frag = ip;
  frag.mf = true;
  add(prefix + " fragment first", packet::Ipv4Frame(seg.gateway_mac, smac, frag, udp));
  frag.mf = false;
  frag.frag_offset = 3;
  add(prefix + " fragment last", packet::Ipv4Frame(seg.gateway_mac, smac, frag, udp));
  Ipv4Spec opts = ip;
  opts.options = {0x94, 0x04, 0x00, 0x00};  // router alert
  add(prefix + " ip-options", packet::Ipv4Frame(peer.mac, smac, opts, udp));
  Ipv4Spec ttl = ip;
  ttl.ttl = 1;
  add(prefix + " ttl-1 routed", packet::Ipv4Frame(seg.gateway_mac, smac, ttl, udp));
  add(prefix + " vlan-tagged",
      packet::EthVlan(peer.mac, smac, 7, packet::kEthIpv4, packet::Ipv4(ip, udp)));
  add(prefix + " broadcast", packet::Ipv4Frame(kBroadcast, smac, ip, udp));
  add(prefix + " ipv6", packet::Eth(peer.mac, smac, packet::kEthIpv6, Bytes(60, 0x60)));
  // Neighbor Discovery from the sender's link-local address: a solicitation
  // for the gateway's, with the sender's MAC as option; a router
  // solicitation from ::.
  add(prefix + " nd-solicit gateway",
      packet::NeighborSolicitationFrame(smac, packet::LinkLocalOf(smac),
                                        packet::LinkLocalOf(seg.gateway_mac),
                                        packet::NdLinkLayerOption(1, smac)));
  add(prefix + " nd-router-solicit", packet::RouterSolicitationFrame(smac, {}, {}));
  if (sip6) Frames6From(world, seg, smac, *sip6, prefix, add);
}

}  // namespace

std::vector<Seed> VmSeeds(const World& world, uint32_t unbound_ifindex) {
  std::vector<Seed> seeds;
  for (const auto& self : world.endpoints) {
    if (self.ifindex == 0) continue;
    const WorldSegment& seg = *world.Segment(self.vni);
    FramesFrom(world, seg, self.mac, self.ip, self.ip6, self.name,
               [&](std::string name, Bytes frame) {
                 seeds.push_back({std::move(name), std::move(frame), self.ifindex, false});
               });
    // The same frames arriving on an interface bound to no endpoint.
    seeds.push_back({"unbound " + self.name + " udp",
                     KindFrame(Kind::kUdp, seg.gateway_mac, self.mac, self.ip, kRouteTargets[0]),
                     unbound_ifindex, false});
  }
  return seeds;
}

std::vector<Seed> UnderlaySeeds(const World& world, uint32_t underlay_ifindex,
                                const Mac& underlay_mac) {
  std::vector<Seed> seeds;
  std::vector<uint32_t> vteps;
  for (const auto& [vtep, foreign] : world.vteps)
    if (vtep != world.local_vtep) vteps.push_back(vtep);
  vteps.push_back(Ip("198.18.0.99"));  // a VTEP nobody knows
  std::vector<WorldSegment> segments;
  for (const auto& [vni, seg] : world.segments) segments.push_back(seg);
  WorldSegment unknown = segments.front();
  unknown.vni = 4242;
  unknown.name = "vni-4242";
  segments.push_back(unknown);

  for (uint32_t vtep : vteps) {
    packet::VxlanSpec outer{
        .outer_dst = underlay_mac,
        .outer_src = {0x02, 0x00, 0xc6, 0x12, 0x00, static_cast<uint8_t>(vtep & 0xff)},
        .outer_src_ip = vtep,
        .outer_dst_ip = world.local_vtep};
    for (const auto& seg : segments) {
      outer.vni = seg.vni;
      // The sender: a remote endpoint of this segment when there is one.
      // Its IPv6 address: made up for one that has none (a foreign VTEP's
      // VM, a segment without IPv6: the underlay programs check no inner
      // source).
      Mac smac = {0x02, 0x55, 0x00, 0x00, 0x00, 0x01};
      uint32_t sip = seg.gateway_ip + 100;
      Ipv6Address sip6 = seg.gateway6.value_or(Ip6("2001:db8:ff::1"));
      sip6[15] = 100;
      for (const auto& ep : world.endpoints)
        if (ep.vni == seg.vni && ep.ifindex == 0 && ep.vtep == vtep) {
          smac = ep.mac;
          sip = ep.ip;
          sip6 = ep.ip6.value_or(sip6);
        }
      const std::string prefix = FormatIpv4(vtep) + " " + seg.name;
      FramesFrom(world, seg, smac, sip, sip6, prefix, [&](std::string name, Bytes inner) {
        seeds.push_back(
            {std::move(name), packet::VxlanFrame(outer, inner), underlay_ifindex, true});
      });
    }
  }
  // Not Weft's: to another UDP port, to another address, not UDP.
  const WorldEndpoint& ep = world.endpoints.front();
  const Mac hv2 = {0x02, 0x00, 0xc6, 0x12, 0x00, 0x02};
  seeds.push_back({"host udp",
                   packet::UdpFrame(underlay_mac, hv2, vteps[0], world.local_vtep, 5353, 53),
                   underlay_ifindex, false});
  seeds.push_back({"host vxlan to another address",
                   packet::VxlanFrame({.outer_dst = underlay_mac,
                                       .outer_src = hv2,
                                       .outer_src_ip = vteps[0],
                                       .outer_dst_ip = world.local_vtep + 7,
                                       .vni = ep.vni},
                                      KindFrame(Kind::kUdp, ep.mac, hv2, vteps[0], ep.ip)),
                   underlay_ifindex, true});
  seeds.push_back({"host arp", packet::ArpRequestFrame(hv2, vteps[0], world.local_vtep),
                   underlay_ifindex, false});
  return seeds;
}

std::vector<Seed> UplinkSeeds(const World& world, uint32_t unbound_ifindex) {
  std::vector<Seed> seeds;
  const Mac peer_mac = {0x02, 0x00, 0xc0, 0x00, 0x02, 0x99};
  for (const WorldUplink& up : world.uplinks) {
    // What the upstream router sends: to this uplink's MAC as to a
    // gateway's (routed), to other MACs, and to the transit address.
    const WorldSegment upstream{.name = "uplink",
                                .tenant_id = up.tenant_id,
                                .gateway_ip = up.address,
                                .gateway_mac = up.mac};
    const uint32_t sip = Ip("203.0.113.9");
    const std::string prefix = "uplink " + std::to_string(up.ifindex);
    // No IPv6 upstream: uplinks are IPv4 only.
    FramesFrom(world, upstream, peer_mac, sip, std::nullopt, prefix,
               [&](std::string name, Bytes frame) {
                 seeds.push_back({std::move(name), std::move(frame), up.ifindex, false});
               });
    for (Kind k : kKinds)
      seeds.push_back({prefix + " " + KindName(k) + " -> transit address",
                       KindFrame(k, up.mac, peer_mac, up.address - 1, up.address), up.ifindex,
                       false});
    seeds.push_back({"unbound " + prefix + " udp",
                     KindFrame(Kind::kUdp, up.mac, peer_mac, sip, world.endpoints.front().ip),
                     unbound_ifindex, false});
  }
  return seeds;
}

std::vector<uint32_t> InterestingIps(const World& world) {
  std::vector<uint32_t> ips(std::begin(kRouteTargets), std::end(kRouteTargets));
  for (const auto& ep : world.endpoints) ips.push_back(ep.ip);
  for (const auto& [vni, seg] : world.segments) ips.push_back(seg.gateway_ip);
  for (const auto& [vtep, foreign] : world.vteps) ips.push_back(vtep);
  for (const auto& up : world.uplinks) ips.push_back(up.address);
  ips.push_back(0);
  ips.push_back(0xffffffff);
  return ips;
}

std::vector<Ipv6Address> InterestingIps6(const World& world) {
  std::vector<Ipv6Address> ips(std::begin(kRouteTargets6), std::end(kRouteTargets6));
  for (const auto& ep : world.endpoints) {
    if (ep.ip6) ips.push_back(*ep.ip6);
    ips.push_back(packet::LinkLocalOf(ep.mac));
  }
  for (const auto& [vni, seg] : world.segments) {
    if (seg.gateway6) ips.push_back(*seg.gateway6);
    ips.push_back(packet::LinkLocalOf(seg.gateway_mac));
  }
  ips.push_back(Ip6("2001:db8:1::99"));  // in a subnet, nobody's
  ips.push_back(Ipv6Address{});
  ips.push_back(Ip6("ff02::1"));
  return ips;
}

std::vector<Mac> InterestingMacs(const World& world) {
  std::vector<Mac> macs = {kBroadcast, kNobody, Mac{}};
  for (const auto& ep : world.endpoints) macs.push_back(ep.mac);
  for (const auto& [vni, seg] : world.segments) macs.push_back(seg.gateway_mac);
  for (const auto& up : world.uplinks) macs.push_back(up.mac);
  return macs;
}

}  // namespace weft::fuzz
