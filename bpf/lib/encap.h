/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * VXLAN encapsulation at TC (RFC 7348). The room is made with
 * bpf_skb_adjust_room's tunnel flags so the kernel knows the inner headers:
 * GSO segments a large inner TCP send after encapsulation (and shrinks its
 * segment size by the overhead), which keeps throughput of big flows.
 * The underlay next hop comes from the kernel's FIB and neighbour table via
 * bpf_redirect_neigh, which also writes the outer Ethernet addresses. (The
 * bpf_fib_lookup helper would refuse unless IPv4 forwarding is enabled on
 * the underlay interface, a host setting Weft should not depend on.)
 */
#ifndef WEFT_BPF_ENCAP_H
#define WEFT_BPF_ENCAP_H

#include "lib/csum.h"
#include "lib/icmp.h"
#include "lib/icmp6.h"
#include "lib/maps.h"
#include "lib/parse.h"
#include "lib/underlay6.h"

struct vxlan_encap {
	struct ethhdr eth;
	struct iphdr ip;
	struct udphdr udp;
	struct vxlan_wire vxlan;
	struct ethhdr inner;
} __attribute__((packed));

_Static_assert(sizeof(struct vxlan_encap) == WEFT_ENCAP_OVERHEAD + ETH_HLEN,
	       "outer headers + inner Ethernet");

struct vxlan_encap6 {
	struct ethhdr eth;
	struct ipv6hdr ip6;
	struct udphdr udp;
	struct vxlan_wire vxlan;
	struct ethhdr inner;
} __attribute__((packed));

_Static_assert(sizeof(struct vxlan_encap6) == WEFT_ENCAP_OVERHEAD6 + ETH_HLEN,
	       "outer headers + inner Ethernet, IPv6 underlay");

/* Ephemeral range, as the kernel's vxlan picks, for underlay ECMP entropy. */
WEFT_INLINE __be16 vxlan_source_port(__u32 flow_hash)
{
	return bpf_htons(49152 + (flow_hash % 16384));
}

/* Would the packet fit the underlay once encapsulated? GSO packets are
 * segmented to fit after encapsulation. */
WEFT_INLINE int encap_fits(const struct __sk_buff *skb, const struct weft_config *cfg)
{
	return skb->gso_segs > 1 || skb->len - ETH_HLEN + encap_overhead(cfg) <= cfg->underlay_mtu;
}

/*
 * An IPv4 packet that would not fit the underlay once encapsulated: with
 * DF, its sender gets ICMP fragmentation needed from `from_ip`/`from_mac`
 * (path MTU discovery through the overlay; *action sends it back);
 * without, it is dropped. Returns 0 when the packet fits, else the reason.
 */
WEFT_INLINE __u32 encap_refuse_too_big(struct __sk_buff *skb, const struct weft_config *cfg,
				       __be32 from_ip, const __u8 *from_mac, int *action)
{
	__u8 df = 0;

	if (encap_fits(skb, cfg))
		return 0;
	bpf_skb_load_bytes(skb, ETH_HLEN + offsetof(struct iphdr, frag_off), &df, 1);
	if (!(df & (IP_DF >> 8)))
		return WEFT_DROP_TOO_BIG;
	return icmp_error_reply(skb,
				ICMP_ERROR(ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED,
					   cfg->underlay_mtu - encap_overhead(cfg)),
				from_ip, from_mac, action);
}

/* encap_refuse_too_big for IPv6, which routers never fragment: Packet Too
 * Big from the segment's IPv6 gateway `from`, with the MTU the router
 * advertisements announce. */
WEFT_INLINE __u32 encap_refuse_too_big6(struct __sk_buff *skb, const struct weft_config *cfg,
					const __u8 *from, const __u8 *from_mac, int *action)
{
	if (encap_fits(skb, cfg))
		return 0;
	return icmp6_error_reply(skb, ICMP_ERROR(ICMP6_PACKET_TOO_BIG, 0, overlay_mtu6(cfg)), from,
				 from_mac, action);
}

/*
 * What both underlays' encapsulations begin with: the inner Ethernet header
 * and TOS (traffic class) read, then `overhead` bytes of room made before the inner frame
 * for an outer header of family `encap_l3` (BPF_F_ADJ_ROOM_ENCAP_L3_*).
 */
WEFT_INLINE __u32 encap_make_room(struct __sk_buff *skb, __u32 overhead, __u64 encap_l3,
				  struct ethhdr *inner, __u8 *tos)
{
	__u8 l3[2];

	if (bpf_skb_load_bytes(skb, 0, inner, sizeof(*inner)) < 0 ||
	    bpf_skb_load_bytes(skb, ETH_HLEN, l3, sizeof(l3)) < 0)
		return WEFT_DROP_TRUNCATED;
	/* IPv4's TOS byte, or IPv6's traffic class across its first bytes. */
	*tos = inner->h_proto == bpf_htons(ETH_P_IPV6) ? (l3[0] << 4) | (l3[1] >> 4) : l3[1];
	if (bpf_skb_adjust_room(skb, overhead, BPF_ADJ_ROOM_MAC,
				encap_l3 | BPF_F_ADJ_ROOM_ENCAP_L4_UDP |
					BPF_F_ADJ_ROOM_ENCAP_L2_ETH |
					BPF_F_ADJ_ROOM_ENCAP_L2(ETH_HLEN)))
		return WEFT_DROP_HELPER_FAILED;
	return WEFT_ENCAP;
}

/* The UDP header, the same over either underlay (no checksum: RFC 7348, RFC 6935). */
WEFT_INLINE struct udphdr vxlan_udp_header(__u16 udp_len, __u32 flow_hash)
{
	struct udphdr udp = {
		.source = vxlan_source_port(flow_hash),
		.dest = bpf_htons(WEFT_VXLAN_PORT),
		.len = bpf_htons(udp_len),
	};
	return udp;
}

WEFT_INLINE struct vxlan_wire vxlan_header(__u32 vni)
{
	struct vxlan_wire vxlan = {
		.flags = WEFT_VXLAN_FLAG_VNI,
		.vni_reserved2 = bpf_htonl(vni << 8),
	};
	return vxlan;
}

WEFT_INLINE __u32 vxlan_encap4(struct __sk_buff *skb, const struct weft_config *cfg, __be32 vtep_be,
			       __u32 vni, __u32 flow_hash)
{
	struct vxlan_encap h __attribute__((aligned(8))) = {};
	__u32 inner_len = skb->len;
	__u8 tos = 0;
	__u32 reason = encap_make_room(skb, WEFT_ENCAP_OVERHEAD, BPF_F_ADJ_ROOM_ENCAP_L3_IPV4,
				       &h.inner, &tos);

	if (reason != WEFT_ENCAP)
		return reason;
	h.eth.h_proto = bpf_htons(ETH_P_IP);
	h.ip.version = 4;
	h.ip.ihl = 5;
	h.ip.tos = tos;
	h.ip.tot_len = bpf_htons(inner_len + WEFT_ENCAP_OVERHEAD - ETH_HLEN);
	/* DF: oversized inner packets were already refused with ICMP. */
	h.ip.frag_off = bpf_htons(IP_DF);
	h.ip.ttl = 64;
	h.ip.protocol = IPPROTO_UDP;
	h.ip.saddr = cfg->local_vtep_be;
	h.ip.daddr = vtep_be;
	h.ip.check = ipv4_header_csum(&h.ip);
	h.udp = vxlan_udp_header(inner_len + WEFT_ENCAP_OVERHEAD - ETH_HLEN - sizeof(struct iphdr),
				 flow_hash);
	h.vxlan = vxlan_header(vni);
	if (bpf_skb_store_bytes(skb, 0, &h, sizeof(h), 0) < 0)
		return WEFT_DROP_HELPER_FAILED;
	return WEFT_ENCAP;
}

/*
 * The IPv6 underlay's: the outer addresses are the VTEPs that `vtep_be` and
 * this node's reference name in weft_vtep6; the flow hash goes into the flow
 * label as well as the source port (RFC 6438), and the inner TOS into the
 * traffic class. The UDP checksum stays zero (RFC 6935). A subprogram: its
 * 84-byte header stays off the caller's stack frame.
 */
static __attribute__((noinline)) __u32 vxlan_encap6(struct __sk_buff *skb,
						    const struct weft_config *cfg, __be32 vtep_be,
						    __u32 vni, __u32 flow_hash)
{
	struct vxlan_encap6 h __attribute__((aligned(8))) = {};
	const struct weft_vtep6 *src = vtep6_get(cfg->local_vtep_be);
	const struct weft_vtep6 *dst = vtep6_get(vtep_be);
	__u16 udp_len = skb->len + WEFT_ENCAP_OVERHEAD6 - ETH_HLEN - sizeof(struct ipv6hdr);
	__u8 tos = 0;
	__u32 reason;

	if (!src || !dst)
		return WEFT_DROP_UNKNOWN_VTEP;
	reason = encap_make_room(skb, WEFT_ENCAP_OVERHEAD6, BPF_F_ADJ_ROOM_ENCAP_L3_IPV6, &h.inner,
				 &tos);
	if (reason != WEFT_ENCAP)
		return reason;
	h.eth.h_proto = bpf_htons(ETH_P_IPV6);
	h.ip6.version = 6;
	h.ip6.priority = tos >> 4;
	h.ip6.flow_lbl[0] = (tos & 0xf) << 4 | ((flow_hash >> 16) & 0xf);
	h.ip6.flow_lbl[1] = flow_hash >> 8;
	h.ip6.flow_lbl[2] = flow_hash;
	h.ip6.payload_len = bpf_htons(udp_len);
	h.ip6.nexthdr = IPPROTO_UDP;
	h.ip6.hop_limit = 64;
	/* Byte copies: in the packed header the addresses are not aligned. */
	__builtin_memcpy((__u8 *)&h + offsetof(struct vxlan_encap6, ip6.saddr), src->addr, 16);
	__builtin_memcpy((__u8 *)&h + offsetof(struct vxlan_encap6, ip6.daddr), dst->addr, 16);
	h.udp = vxlan_udp_header(udp_len, flow_hash);
	h.vxlan = vxlan_header(vni);
	if (bpf_skb_store_bytes(skb, 0, &h, sizeof(h), 0) < 0)
		return WEFT_DROP_HELPER_FAILED;
	return WEFT_ENCAP;
}

/*
 * Encapsulates the Ethernet frame in `skb` (whose header already carries the
 * inner MACs) towards the VTEP `vtep_be` names (its IPv4 address, or its
 * weft_vtep6 reference on an IPv6 underlay) on `vni`, and redirects it out
 * of the underlay. The skb's protocol follows the new outer header
 * (bpf_skb_adjust_room sets it), so bpf_redirect_neigh looks the VTEP up in
 * that family's FIB. Returns a reason; `*action` gets the TC action.
 */
WEFT_INLINE __u32 vxlan_encap_and_send(struct __sk_buff *skb, const struct weft_config *cfg,
				       __be32 vtep_be, __u32 vni, __u32 flow_hash, int *action)
{
	__u32 reason = underlay_is_v6(cfg) ? vxlan_encap6(skb, cfg, vtep_be, vni, flow_hash)
					   : vxlan_encap4(skb, cfg, vtep_be, vni, flow_hash);

	if (reason == WEFT_ENCAP)
		*action = bpf_redirect_neigh(cfg->underlay_ifindex, NULL, 0, 0);
	return reason;
}

#endif
