/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What to do with a packet arriving on the underlay: one classification for
 * both hooks (XDP and TC ingress), on direct packet pointers. It may rewrite
 * the inner frame in place (ARP reply, routed MAC and TTL); moving the
 * packet's head is left to the hook, which knows how.
 */
#ifndef WEFT_BPF_DECAP_H
#define WEFT_BPF_DECAP_H

#include "lib/arp.h"
#include "lib/csum.h"
#include "lib/firewall.h"
#include "lib/parse.h"
#include "lib/reject.h"
#include "lib/route.h"

enum decap_action {
	DECAP_PASS, /* not Weft's */
	DECAP_DROP,
	DECAP_DELIVER,	 /* strip WEFT_ENCAP_OVERHEAD bytes, deliver to ifindex */
	DECAP_BOUNCE,	 /* rewritten into a reply: send back out of the underlay */
	DECAP_FORWARD,	 /* re-addressed to another VTEP: send out of the underlay */
	DECAP_TO_UPLINK, /* strip WEFT_ENCAP_OVERHEAD bytes, send out of uplink
			  * ifindex to nexthop_be (the inner frame's
			  * destination MAC is the hook's to fill) */
};

/* Kept small: the hooks' stack frames have little room left. */
struct decap_result {
	__u32 reason;
	__u32 ifindex;
	__be32 nexthop_be; /* DECAP_TO_UPLINK: the upstream peer */
	__u32 trim_len;	   /* DECAP_BOUNCE: frame length to cut it to (0: as is) */
	__u16 action;	   /* enum decap_action */
	__u8 trace;	   /* the hook's: a trace run (firewall read-only) */
};

WEFT_INLINE void decap_set(struct decap_result *res, __u32 action, __u32 reason)
{
	res->action = action;
	res->reason = reason;
}

/* The outer headers of a VXLAN packet, turned back to its sender (to its
 * VXLAN port). Swapping addresses leaves the outer IPv4 checksum valid. */
WEFT_INLINE void decap_turn_around(struct ethhdr *outer_eth, struct iphdr *outer_ip,
				   struct udphdr *udp)
{
	eth_swap_addrs(outer_eth);
	ipv4_swap_addrs(outer_ip);
	udp->dest = bpf_htons(WEFT_VXLAN_PORT);
	udp->check = 0;
}

/*
 * Ingress policy of the local destination (the source is remote) through
 * conntrack, before the inner frame is touched. Rejected TCP gets its RST
 * back through the tunnel, made in place; other rejected protocols are
 * dropped (an ICMP error would need the packet rebuilt, which the XDP hook
 * cannot do in place). Returns 0 to deliver, or sets `res` and returns 1.
 */
WEFT_INLINE int decap_firewall(struct ethhdr *outer_eth, struct iphdr *outer_ip, struct udphdr *udp,
			       struct ethhdr *inner_eth, struct iphdr *ip, void *end,
			       const struct weft_segment *seg, __u32 vni, __u32 ifindex,
			       struct decap_result *res)
{
	struct weft_mac_key back = { .vni = vni };
	__u32 tenant_id = seg->tenant_id;
	struct tcphdr *tcp = (void *)(ip + 1);
	struct fw_flow f = {};
	__u32 reason;

	reason = fw_parse(&f, ip, end);
	if (!reason) {
		f.t.tenant_id = tenant_id;
		f.ifindex = ifindex;
		f.checks = WEFT_CT_F_INGRESS;
		f.trace = res->trace;
		reason = fw_conntrack(&f);
	}
	if (!reason)
		return 0;
	if (reason != WEFT_REJECT) {
		decap_set(res, DECAP_DROP, reason);
		return 1;
	}
	if (f.t.protocol != IPPROTO_TCP || (void *)(tcp + 1) > end) {
		decap_set(res, DECAP_DROP, WEFT_DROP_POLICY);
		return 1;
	}
	reject_tcp_in_place(inner_eth, ip, tcp);
	/* Routed at the sender's host, the segment arrived from the sender's
	 * gateway MAC, which is not on this VNI: send the RST to this
	 * segment's gateway, for the sender's host to route it back. */
	mac_copy(back.mac, inner_eth->h_dest);
	if (!bpf_map_lookup_elem(&weft_ep_by_mac, &back))
		mac_copy(inner_eth->h_dest, seg->gateway_mac);
	decap_turn_around(outer_eth, outer_ip, udp);
	udp->len =
		bpf_htons(sizeof(*udp) + sizeof(struct vxlan_wire) + ETH_HLEN + REJECT_RST_IP_LEN);
	outer_ip->tot_len = bpf_htons(WEFT_ENCAP_OVERHEAD + REJECT_RST_IP_LEN);
	outer_ip->ttl = 64;
	outer_ip->check = 0;
	outer_ip->check = ipv4_header_csum(outer_ip);
	res->trim_len = WEFT_ENCAP_OVERHEAD + ETH_HLEN + REJECT_RST_IP_LEN;
	decap_set(res, DECAP_BOUNCE, WEFT_REJECT);
	return 1;
}

/* Inner ARP from a remote VTEP: answered for the gateway and for endpoints
 * on this node, by turning the whole packet around. */
WEFT_INLINE void decap_arp(struct cursor *c, struct ethhdr *outer_eth, struct iphdr *outer_ip,
			   struct udphdr *udp, struct ethhdr *inner_eth,
			   const struct weft_segment *seg, __u32 vni, struct decap_result *res)
{
	struct arp_eth_ipv4 *arp = parse_arp(c);
	const __u8 *answer;

	if (!arp || !arp_is_well_formed(arp))
		return decap_set(res, DECAP_DROP, WEFT_DROP_TRUNCATED);
	if (arp->op != bpf_htons(ARPOP_REQUEST))
		return decap_set(res, DECAP_DROP, WEFT_DROP_ARP_UNANSWERED);
	answer = arp_lookup(seg, vni, arp->tpa, 1);
	if (!answer)
		return decap_set(res, DECAP_DROP, WEFT_DROP_ARP_UNANSWERED);
	arp_reply_in_place(inner_eth, arp, answer);
	decap_turn_around(outer_eth, outer_ip, udp);
	decap_set(res, DECAP_BOUNCE, WEFT_ARP_REPLY);
}

/*
 * A foreign VTEP sends everything for the gateway MAC to one Weft host; when
 * the routed destination lives on another host, this one forwards it there:
 * the same packet, re-addressed in place (outer addresses, VNI).
 */
WEFT_INLINE void decap_readdress(struct iphdr *outer_ip, struct udphdr *udp, struct vxlan_wire *vx,
				 const struct weft_config *cfg, const struct fwd_target *t)
{
	outer_ip->saddr = cfg->local_vtep_be;
	outer_ip->daddr = t->vtep_be;
	outer_ip->ttl = 64;
	outer_ip->check = 0;
	outer_ip->check = ipv4_header_csum(outer_ip);
	udp->dest = bpf_htons(WEFT_VXLAN_PORT);
	udp->check = 0;
	vx->vni_reserved2 = bpf_htonl(t->vni << 8);
}

/*
 * On an edge: a routed packet whose route leads out of the tenant's uplink.
 * No firewall here (stateless: the hypervisors' conntrack sees both
 * directions of the flow); routed in place, leaving the peer's MAC to the
 * hook, which asks the kernel's neighbour table.
 */
WEFT_INLINE void decap_to_uplink(struct ethhdr *inner_eth, struct iphdr *ip,
				 const struct fwd_target *t, struct decap_result *res)
{
	__u32 ifindex = t->ifindex;
	struct weft_uplink *up = bpf_map_lookup_elem(&weft_uplinks, &ifindex);

	/* route_lookup found it; gone since only if the agent removed it. */
	if (!up)
		return decap_set(res, DECAP_DROP, WEFT_DROP_NO_ROUTE);
	trace_target(res->trace, t);
	ipv4_decrement_ttl(ip);
	mac_copy(inner_eth->h_source, up->mac);
	res->ifindex = t->ifindex;
	res->nexthop_be = t->vtep_be;
	decap_set(res, DECAP_TO_UPLINK, WEFT_TO_UPLINK);
}

/* Inner IPv4 for a local endpoint: switched by MAC, or routed when sent to
 * the gateway MAC (a foreign VTEP's VM reaching another segment). */
WEFT_INLINE void decap_ipv4(struct cursor *c, __u32 pkt_len, struct ethhdr *outer_eth,
			    struct iphdr *outer_ip, struct udphdr *udp, struct vxlan_wire *vx,
			    const struct weft_config *cfg, struct ethhdr *inner_eth,
			    const struct weft_vtep *vtep, const struct weft_segment *seg, __u32 vni,
			    struct decap_result *res)
{
	__u32 l3_offset = WEFT_ENCAP_OVERHEAD + ETH_HLEN;
	struct iphdr *ip = parse_ipv4(c);
	struct weft_mac_key key = { .vni = vni };
	struct weft_endpoint *ep;
	struct fwd_target t = {};
	__u32 reason;

	if (!ip || !ipv4_length_ok(ip, l3_offset, pkt_len))
		return decap_set(res, DECAP_DROP, WEFT_DROP_TRUNCATED);
	if (ip->ihl != 5)
		return decap_set(res, DECAP_DROP, WEFT_DROP_IP_OPTIONS);
	if (ipv4_is_fragment(ip))
		return decap_set(res, DECAP_DROP, WEFT_DROP_FRAGMENT);

	if (mac_equal(inner_eth->h_dest, seg->gateway_mac)) {
		if (ip->ttl <= 1)
			return decap_set(res, DECAP_DROP, WEFT_DROP_TTL_EXPIRED);
		reason = route_lookup(seg->tenant_id, ip->daddr, 0, &t);
		if (reason)
			return decap_set(res, DECAP_DROP, reason);
		if (t.kind == WEFT_ROUTE_UPLINK)
			return decap_to_uplink(inner_eth, ip, &t, res);
		if (t.ifindex && decap_firewall(outer_eth, outer_ip, udp, inner_eth, ip, c->end,
						seg, vni, t.ifindex, res))
			return;
		ipv4_decrement_ttl(ip);
		mac_copy(inner_eth->h_source, seg->gateway_mac);
		mac_copy(inner_eth->h_dest, t.dmac);
		if (!t.ifindex) {
			/* Weft VTEPs route at the sender: only a foreign
			 * one's packets take this second hop. */
			if (!(vtep->flags & WEFT_VTEP_FOREIGN))
				return decap_set(res, DECAP_DROP, WEFT_DROP_NOT_LOCAL);
			decap_readdress(outer_ip, udp, vx, cfg, &t);
			return decap_set(res, DECAP_FORWARD, WEFT_ENCAP);
		}
		res->ifindex = t.ifindex;
		return decap_set(res, DECAP_DELIVER, WEFT_DECAP);
	}

	if (mac_is_group(inner_eth->h_dest))
		return decap_set(res, DECAP_DROP, WEFT_DROP_BROADCAST);
	mac_copy(key.mac, inner_eth->h_dest);
	ep = bpf_map_lookup_elem(&weft_ep_by_mac, &key);
	if (!ep)
		return decap_set(res, DECAP_DROP, WEFT_DROP_UNKNOWN_DST);
	if (!ep->ifindex)
		return decap_set(res, DECAP_DROP, WEFT_DROP_NOT_LOCAL);
	if (decap_firewall(outer_eth, outer_ip, udp, inner_eth, ip, c->end, seg, vni, ep->ifindex,
			   res))
		return;
	res->ifindex = ep->ifindex;
	decap_set(res, DECAP_DELIVER, WEFT_DECAP);
}

/*
 * The outer lengths agree with each other and with the frame: the frame is
 * the IP packet exactly (a VXLAN frame is never short enough to be padded)
 * and the IP packet is the UDP datagram exactly (IHL 5, checked before). So
 * what the hook strips and delivers is the datagram's payload, no more, and
 * a length too short for the VXLAN and inner Ethernet headers fails their
 * parsing, which is bounded by the same bytes.
 */
WEFT_INLINE int vxlan_lengths_ok(const struct iphdr *ip, const struct udphdr *udp, __u32 pkt_len)
{
	__u32 tot = bpf_ntohs(ip->tot_len);

	return ETH_HLEN + tot == pkt_len && tot == sizeof(*ip) + bpf_ntohs(udp->len);
}

/* `pkt_len`: the whole frame, which may extend past data_end (TC sees only
 * the pulled head directly). */
WEFT_INLINE void decap_classify(void *data, void *data_end, __u32 pkt_len, struct decap_result *res)
{
	const struct weft_config *cfg;
	const struct weft_vtep *vtep;
	struct cursor c = { .pos = data, .end = data_end };
	struct ethhdr *eth, *inner_eth;
	struct weft_segment *seg;
	struct vxlan_wire *vx;
	struct udphdr *udp;
	struct iphdr *ip;
	__u32 vni;

	res->ifindex = 0;
	res->nexthop_be = 0;
	res->trim_len = 0;
	eth = parse_eth(&c);
	if (!eth || eth->h_proto != bpf_htons(ETH_P_IP))
		return decap_set(res, DECAP_PASS, WEFT_PASS_HOST);
	ip = parse_ipv4(&c);
	if (!ip || ip->protocol != IPPROTO_UDP)
		return decap_set(res, DECAP_PASS, WEFT_PASS_HOST);
	/* Later fragments carry no UDP header: the host reassembles them. */
	if (ip->frag_off & bpf_htons(IP_OFFSET))
		return decap_set(res, DECAP_PASS, WEFT_PASS_HOST);
	udp = parse_udp(&c);
	if (!udp || udp->dest != bpf_htons(WEFT_VXLAN_PORT))
		return decap_set(res, DECAP_PASS, WEFT_PASS_HOST);

	/* VXLAN for another address on this host is not ours either. */
	cfg = config_get();
	if (!cfg || ip->daddr != cfg->local_vtep_be)
		return decap_set(res, DECAP_PASS, WEFT_PASS_HOST);

	/* From here on the packet is VXLAN to our VTEP: Weft's to judge. */
	if (ip->frag_off & bpf_htons(IP_MF))
		return decap_set(res, DECAP_DROP, WEFT_DROP_FRAGMENT);
	/* Weft's peers send none; the overhead stripped assumes IHL 5. */
	if (ip->ihl != 5)
		return decap_set(res, DECAP_DROP, WEFT_DROP_IP_OPTIONS);
	if (!vxlan_lengths_ok(ip, udp, pkt_len))
		return decap_set(res, DECAP_DROP, WEFT_DROP_TRUNCATED);
	vtep = bpf_map_lookup_elem(&weft_vteps, &ip->saddr);
	if (!vtep)
		return decap_set(res, DECAP_DROP, WEFT_DROP_UNKNOWN_VTEP);
	vx = parse_vxlan(&c);
	if (!vx)
		return decap_set(res, DECAP_DROP, WEFT_DROP_TRUNCATED);
	if (vx->flags != WEFT_VXLAN_FLAG_VNI || vx->reserved1[0] || vx->reserved1[1] ||
	    vx->reserved1[2] || (vx->vni_reserved2 & bpf_htonl(0xff)))
		return decap_set(res, DECAP_DROP, WEFT_DROP_BAD_VXLAN);
	vni = bpf_ntohl(vx->vni_reserved2) >> 8;
	seg = bpf_map_lookup_elem(&weft_segments, &vni);
	if (!seg)
		return decap_set(res, DECAP_DROP, WEFT_DROP_UNKNOWN_VNI);

	inner_eth = parse_eth(&c);
	if (!inner_eth)
		return decap_set(res, DECAP_DROP, WEFT_DROP_TRUNCATED);
	/* A VM never sees a frame from a group or zero address: what it
	 * would learn or answer from one goes nowhere, or everywhere. */
	if (!mac_is_valid_source(inner_eth->h_source))
		return decap_set(res, DECAP_DROP, WEFT_DROP_BAD_SOURCE_MAC);
	switch (bpf_ntohs(inner_eth->h_proto)) {
	case ETH_P_ARP:
		return decap_arp(&c, eth, ip, udp, inner_eth, seg, vni, res);
	case ETH_P_IP:
		return decap_ipv4(&c, pkt_len, eth, ip, udp, vx, cfg, inner_eth, vtep, seg, vni,
				  res);
	case ETH_P_8021Q:
	case ETH_P_8021AD:
		return decap_set(res, DECAP_DROP, WEFT_DROP_INNER_VLAN);
	default:
		return decap_set(res, DECAP_DROP, WEFT_DROP_UNSUPPORTED);
	}
}

#endif
