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
#include "lib/nd.h"
#include "lib/parse.h"
#include "lib/reject.h"
#include "lib/route.h"
#include "lib/underlay6.h"

enum decap_action {
	DECAP_PASS, /* not Weft's */
	DECAP_DROP,
	DECAP_DELIVER,	 /* strip the outer headers, deliver to ifindex */
	DECAP_BOUNCE,	 /* rewritten into a reply: send back out of the underlay */
	DECAP_FORWARD,	 /* re-addressed to another VTEP: send out of the underlay */
	DECAP_TO_UPLINK, /* strip the outer headers, send out of uplink
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
	__u8 outer6;	   /* the outer header is IPv6: WEFT_ENCAP_OVERHEAD6 to strip */
	__u8 inner6;	   /* DECAP_DELIVER: the inner packet is IPv6 */
};

/* The outer headers of the VXLAN packet being classified, all inside the
 * packet. Only the inlined classification holds one. */
struct decap_outer {
	struct ethhdr *eth;
	void *l3; /* struct iphdr, or struct ipv6hdr when v6 */
	struct udphdr *udp;
	struct vxlan_wire *vx;
	__u32 vtep_flags; /* the sender's WEFT_VTEP_* */
	__u8 v6;
};

WEFT_INLINE void decap_set(struct decap_result *res, __u32 action, __u32 reason)
{
	res->action = action;
	res->reason = reason;
}

/* decap_set, for a step that returns whether it decided. */
WEFT_INLINE int decap_decided(struct decap_result *res, __u32 action, __u32 reason)
{
	decap_set(res, action, reason);
	return 1;
}

/* The outer headers of a VXLAN packet, turned back to its sender (to its
 * VXLAN port). Swapping addresses leaves the outer IPv4 checksum valid. */
WEFT_INLINE void decap_turn_around(const struct decap_outer *o)
{
	eth_swap_addrs(o->eth);
	if (o->v6)
		ipv6_swap_addrs(o->l3);
	else
		ipv4_swap_addrs(o->l3);
	o->udp->dest = bpf_htons(WEFT_VXLAN_PORT);
	o->udp->check = 0;
}

/* The outer lengths of a turned-around packet that now carries `udp_len`
 * bytes of UDP (header included); what the frame is to be cut to. */
WEFT_INLINE __u32 decap_set_outer_length(const struct decap_outer *o, __u16 udp_len)
{
	struct ipv6hdr *ip6 = o->l3;
	struct iphdr *ip = o->l3;

	o->udp->len = bpf_htons(udp_len);
	if (o->v6) {
		ip6->payload_len = bpf_htons(udp_len);
		ip6->hop_limit = 64;
		return ETH_HLEN + sizeof(*ip6) + udp_len;
	}
	ip->tot_len = bpf_htons(sizeof(*ip) + udp_len);
	ip->ttl = 64;
	ip->check = 0;
	ip->check = ipv4_header_csum(ip);
	return ETH_HLEN + sizeof(*ip) + udp_len;
}

/* The RST a family's reject_tcp*_in_place made of the inner segment (of
 * `ip_len` bytes of IP) goes back through the tunnel. Returns 1. */
WEFT_INLINE int decap_bounce_rst(const struct decap_outer *o, struct ethhdr *inner_eth,
				 const struct weft_segment *seg, __u32 vni, __u32 ip_len,
				 struct decap_result *res)
{
	struct weft_mac_key back = { .vni = vni };

	/* Routed at the sender's host, the segment arrived from the sender's
	 * gateway MAC, which is not on this VNI: send the RST to this
	 * segment's gateway, for the sender's host to route it back. */
	mac_copy(back.mac, inner_eth->h_dest);
	if (!bpf_map_lookup_elem(&weft_ep_by_mac, &back))
		mac_copy(inner_eth->h_dest, seg->gateway_mac);
	decap_turn_around(o);
	res->trim_len = decap_set_outer_length(
		o, sizeof(struct udphdr) + sizeof(struct vxlan_wire) + ETH_HLEN + ip_len);
	decap_set(res, DECAP_BOUNCE, WEFT_REJECT);
	return 1;
}

/*
 * Ingress policy of the local destination (the source is remote) through
 * conntrack, before the inner frame is touched. Rejected TCP gets its RST
 * back through the tunnel, made in place; other rejected protocols are
 * dropped (an ICMP error would need the packet rebuilt, which the XDP hook
 * cannot do in place). Returns 0 to deliver, or sets `res` and returns 1.
 */
WEFT_INLINE int decap_firewall(const struct decap_outer *o, struct ethhdr *inner_eth,
			       struct iphdr *ip, void *end, const struct weft_segment *seg,
			       __u32 vni, __u32 ifindex, struct decap_result *res)
{
	__u32 tenant_id = seg->tenant_id;
	struct tcphdr *tcp = (void *)(ip + 1);
	struct fw_flow f = {};
	__u32 reason;

	reason = fw_parse(&f, ip, end);
	if (!reason) {
		f.t.tenant_id = tenant_id;
		f.m.ifindex = ifindex;
		f.m.checks = WEFT_CT_F_INGRESS;
		f.m.trace = res->trace;
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
	return decap_bounce_rst(o, inner_eth, seg, vni, REJECT_RST_IP_LEN, res);
}

/* decap_firewall for an inner IPv6 packet whose upper layer `proto` starts
 * at `l4`. A rejected TCP segment right after the fixed header gets its
 * RST; the rest is dropped, as is a segment this node routed (`routed`: its
 * MACs are already rewritten, so a RST would not find the sender). */
WEFT_INLINE int decap_firewall6(const struct decap_outer *o, struct ethhdr *inner_eth,
				struct ipv6hdr *ip6, void *l4, __u8 proto, void *end,
				const struct weft_segment *seg, __u32 vni, __u32 ifindex,
				int routed, struct decap_result *res)
{
	struct fw_scratch *w = fw_scratch_for6();
	__u32 tenant_id = seg->tenant_id;
	struct tcphdr *tcp = (void *)(ip6 + 1);
	__u32 reason;

	if (!w)
		return decap_decided(res, DECAP_DROP, WEFT_DROP_HELPER_FAILED);
	reason = fw_parse6(&w->flow6, ip6, l4, proto, end);
	if (!reason) {
		w->flow6.t.tenant_id = tenant_id;
		w->flow6.m.ifindex = ifindex;
		w->flow6.m.checks = WEFT_CT_F_INGRESS;
		w->flow6.m.trace = res->trace;
		reason = fw_conntrack6(w);
	}
	if (!reason)
		return 0;
	if (reason != WEFT_REJECT)
		return decap_decided(res, DECAP_DROP, reason);
	if (ip6->nexthdr != IPPROTO_TCP || routed || (void *)(tcp + 1) > end)
		return decap_decided(res, DECAP_DROP, WEFT_DROP_POLICY);
	reject_tcp6_in_place(inner_eth, ip6, tcp);
	return decap_bounce_rst(o, inner_eth, seg, vni, REJECT_RST_IP6_LEN, res);
}

/* Inner ARP from a remote VTEP: answered for the gateway and for endpoints
 * on this node, by turning the whole packet around. */
WEFT_INLINE void decap_arp(struct cursor *c, const struct decap_outer *o, struct ethhdr *inner_eth,
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
	decap_turn_around(o);
	decap_set(res, DECAP_BOUNCE, WEFT_ARP_REPLY);
}

/*
 * A foreign VTEP sends everything for the gateway MAC to one Weft host; when
 * the routed destination lives on another host, this one forwards it there:
 * the same packet, re-addressed in place (outer addresses, VNI). Returns the
 * reason.
 */
WEFT_INLINE __u32 decap_readdress(const struct decap_outer *o, const struct weft_config *cfg,
				  const struct fwd_target *t)
{
	struct ipv6hdr *ip6 = o->l3;
	struct iphdr *ip = o->l3;
	const struct weft_vtep6 *src, *dst;

	if (o->v6) {
		src = vtep6_get(cfg->local_vtep_be);
		dst = vtep6_get(t->vtep_be);
		if (!src || !dst)
			return WEFT_DROP_UNKNOWN_VTEP;
		ipv6_addr_copy(&ip6->saddr, src->addr);
		ipv6_addr_copy(&ip6->daddr, dst->addr);
		ip6->hop_limit = 64;
	} else {
		ip->saddr = cfg->local_vtep_be;
		ip->daddr = t->vtep_be;
		ip->ttl = 64;
		ip->check = 0;
		ip->check = ipv4_header_csum(ip);
	}
	o->udp->dest = bpf_htons(WEFT_VXLAN_PORT);
	o->udp->check = 0;
	o->vx->vni_reserved2 = bpf_htonl(t->vni << 8);
	return WEFT_ENCAP;
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

/* The interface of the local endpoint a switched inner frame is for, or 0
 * with the drop set in `res`. */
WEFT_INLINE __u32 decap_switched_to(__u32 vni, const struct ethhdr *inner_eth,
				    struct decap_result *res)
{
	struct weft_mac_key key = { .vni = vni };
	struct weft_endpoint *ep;

	mac_copy(key.mac, inner_eth->h_dest);
	ep = bpf_map_lookup_elem(&weft_ep_by_mac, &key);
	if (!ep || !ep->ifindex) {
		decap_set(res, DECAP_DROP, ep ? WEFT_DROP_NOT_LOCAL : WEFT_DROP_UNKNOWN_DST);
		return 0;
	}
	return ep->ifindex;
}

/* Inner IPv4 for a local endpoint: switched by MAC, or routed when sent to
 * the gateway MAC (a foreign VTEP's VM reaching another segment). */
WEFT_INLINE void decap_ipv4(struct cursor *c, __u32 pkt_len, const struct decap_outer *o,
			    const struct weft_config *cfg, struct ethhdr *inner_eth,
			    const struct weft_segment *seg, __u32 vni, struct decap_result *res)
{
	__u32 l3_offset = (o->v6 ? WEFT_ENCAP_OVERHEAD6 : WEFT_ENCAP_OVERHEAD) + ETH_HLEN;
	struct iphdr *ip = parse_ipv4(c);
	struct fwd_target t = {};
	__u32 reason, ifindex;

	if (!ip || !ipv4_length_ok(ip, l3_offset, pkt_len))
		return decap_set(res, DECAP_DROP, WEFT_DROP_TRUNCATED);
	/* Group traffic counted as such whatever its options (vm.bpf.c). */
	if (mac_is_group(inner_eth->h_dest))
		return decap_set(res, DECAP_DROP, WEFT_DROP_BROADCAST);
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
		if (t.ifindex && decap_firewall(o, inner_eth, ip, c->end, seg, vni, t.ifindex, res))
			return;
		ipv4_decrement_ttl(ip);
		mac_copy(inner_eth->h_source, seg->gateway_mac);
		mac_copy(inner_eth->h_dest, t.dmac);
		if (!t.ifindex) {
			/* Weft VTEPs route at the sender: only a foreign
			 * one's packets take this second hop. */
			if (!(o->vtep_flags & WEFT_VTEP_FOREIGN))
				return decap_set(res, DECAP_DROP, WEFT_DROP_NOT_LOCAL);
			reason = decap_readdress(o, cfg, &t);
			return decap_set(res, reason == WEFT_ENCAP ? DECAP_FORWARD : DECAP_DROP,
					 reason);
		}
		res->ifindex = t.ifindex;
		return decap_set(res, DECAP_DELIVER, WEFT_DECAP);
	}

	ifindex = decap_switched_to(vni, inner_eth, res);
	if (!ifindex || decap_firewall(o, inner_eth, ip, c->end, seg, vni, ifindex, res))
		return;
	res->ifindex = ifindex;
	decap_set(res, DECAP_DELIVER, WEFT_DECAP);
}

/*
 * An inner neighbor solicitation from a remote VTEP (a foreign one's VM:
 * Weft's VMs are answered at their ports), answered for the gateway and for
 * endpoints on this node by turning the whole packet around, as decap_arp
 * does ARP. The advertisement takes the solicitation's place and size: its
 * target link-layer option where the solicitation had a source one (32
 * bytes), none where it had none (24: a unicast probe).
 */
WEFT_INLINE void decap_nd(const struct decap_outer *o, struct ethhdr *inner_eth,
			  struct ipv6hdr *ip6, void *end, const struct weft_segment *seg, __u32 vni,
			  struct decap_result *res)
{
	struct nd_neighbor_msg *ns = (void *)(ip6 + 1);
	struct nd_lla_option *opt = (void *)(ns + 1);
	const struct weft_segment6 *seg6;
	__u32 len = bpf_ntohs(ip6->payload_len);
	const __u8 *answer;
	int router;

	if ((void *)(ns + 1) > end)
		return decap_set(res, DECAP_DROP, WEFT_DROP_TRUNCATED);
	if (ip6->hop_limit != ND_HOP_LIMIT || ns->h.code != 0 ||
	    (len != sizeof(*ns) && len != sizeof(*ns) + sizeof(*opt)) ||
	    !nd_checksum_ok(ip6, ns, len, end))
		return decap_set(res, DECAP_DROP, WEFT_DROP_ND_INVALID);
	if (len != sizeof(*ns) &&
	    ((void *)(opt + 1) > end || opt->type != ND_OPT_SOURCE_LLA || opt->len != 1))
		return decap_set(res, DECAP_DROP, WEFT_DROP_ND_INVALID);
	/* A duplicate address probe (from ::) is not answered: a drop here,
	 * as nd_dad is no verdict that discards the packet. */
	seg6 = bpf_map_lookup_elem(&weft_segments6, &vni);
	answer = seg6 ? nd_lookup(seg, vni, seg6, &ns->target, 1, &router) : NULL;
	if (!answer || ipv6_addr_is_unspecified(&ip6->saddr))
		return decap_set(res, DECAP_DROP, WEFT_DROP_ND_UNANSWERED);

	mac_copy(inner_eth->h_dest, inner_eth->h_source);
	mac_copy(inner_eth->h_source, answer);
	ip6->daddr = ip6->saddr;
	ip6->saddr = ns->target;
	ns->h.type = ND_NEIGHBOR_ADVERT;
	ns->h.data = bpf_htonl((router ? ND_NA_ROUTER : 0) | ND_NA_SOLICITED | ND_NA_OVERRIDE);
	ns->h.checksum = 0;
	if (len == sizeof(*ns)) {
		ns->h.checksum = icmp6_csum(ip6, ns, sizeof(*ns));
	} else {
		if ((void *)(opt + 1) > end)
			return decap_set(res, DECAP_DROP, WEFT_DROP_TRUNCATED);
		opt->type = ND_OPT_TARGET_LLA;
		mac_copy(opt->mac, answer);
		ns->h.checksum = icmp6_csum(ip6, ns, sizeof(*ns) + sizeof(*opt));
	}
	decap_turn_around(o);
	decap_set(res, DECAP_BOUNCE, WEFT_ND_REPLY);
}

/*
 * Inner IPv6 as decap_ipv4 does IPv4: switched by MAC to a local endpoint,
 * or routed when sent to the gateway MAC (a foreign VTEP's VM), to a local
 * endpoint or, for a foreign VTEP, re-addressed to the destination's host.
 * Extension headers are walked as at a VM's port.
 */
WEFT_INLINE void decap_ipv6(struct cursor *c, __u32 pkt_len, const struct decap_outer *o,
			    const struct weft_config *cfg, struct ethhdr *inner_eth,
			    const struct weft_segment *seg, __u32 vni, struct decap_result *res)
{
	__u32 l3_offset = (o->v6 ? WEFT_ENCAP_OVERHEAD6 : WEFT_ENCAP_OVERHEAD) + ETH_HLEN;
	struct ipv6hdr *ip6 = parse_ipv6(c);
	struct icmp6_wire *icmp6;
	__u32 reason, ifindex;
	int routed;
	__u8 proto;

	if (!ip6 || !ipv6_length_ok(ip6, l3_offset, pkt_len))
		return decap_set(res, DECAP_DROP, WEFT_DROP_TRUNCATED);
	icmp6 = (void *)(ip6 + 1);
	if (ip6->nexthdr == IPPROTO_ICMPV6_ && (void *)(icmp6 + 1) <= c->end &&
	    icmp6->type == ND_NEIGHBOR_SOLICIT)
		return decap_nd(o, inner_eth, ip6, c->end, seg, vni, res);
	if (mac_is_group(inner_eth->h_dest))
		return decap_set(res, DECAP_DROP, WEFT_DROP_BROADCAST);
	reason = ipv6_walk_ext(c, ip6->nexthdr, bpf_ntohs(ip6->payload_len), &proto);
	if (reason)
		return decap_set(res, DECAP_DROP, reason);

	/* Routed in place before the firewall, which reads neither MACs nor
	 * the hop limit (a refused packet is dropped anyway): the hooks'
	 * stack frames have no room to keep the target until after it. */
	routed = mac_equal(inner_eth->h_dest, seg->gateway_mac);
	if (routed) {
		struct fwd_target t = {};

		if (ip6->hop_limit <= 1)
			return decap_set(res, DECAP_DROP, WEFT_DROP_TTL_EXPIRED);
		reason = route6_lookup(seg->tenant_id, &ip6->daddr, 0, &t);
		if (reason)
			return decap_set(res, DECAP_DROP, reason);
		/* No IPv6 uplinks; and Weft VTEPs route at the sender: only a
		 * foreign one's packets take a second hop. */
		if (t.kind == WEFT_ROUTE_UPLINK ||
		    (!t.ifindex && !(o->vtep_flags & WEFT_VTEP_FOREIGN)))
			return decap_set(res, DECAP_DROP, WEFT_DROP_NOT_LOCAL);
		ip6->hop_limit--;
		mac_copy(inner_eth->h_source, seg->gateway_mac);
		mac_copy(inner_eth->h_dest, t.dmac);
		if (!t.ifindex) {
			reason = decap_readdress(o, cfg, &t);
			return decap_set(res, reason == WEFT_ENCAP ? DECAP_FORWARD : DECAP_DROP,
					 reason);
		}
		ifindex = t.ifindex;
	} else {
		ifindex = decap_switched_to(vni, inner_eth, res);
		if (!ifindex)
			return;
	}
	if (decap_firewall6(o, inner_eth, ip6, c->pos, proto, c->end, seg, vni, ifindex, routed,
			    res))
		return;
	res->ifindex = ifindex;
	res->inner6 = 1;
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

/*
 * Outer IPv4: VXLAN to this node's VTEP from a known VTEP fills `o`, and
 * returns 0; anything else is decided in `res` (not Weft's, or dropped),
 * and returns 1.
 */
WEFT_INLINE int decap_outer4(struct cursor *c, __u32 pkt_len, const struct weft_config *cfg,
			     struct decap_outer *o, struct decap_result *res)
{
	struct iphdr *ip = parse_ipv4(c);
	const struct weft_vtep *vtep;

	if (!ip || ip->protocol != IPPROTO_UDP)
		return decap_decided(res, DECAP_PASS, WEFT_PASS_HOST);
	/* Later fragments carry no UDP header: the host reassembles them. */
	if (ip->frag_off & bpf_htons(IP_OFFSET))
		return decap_decided(res, DECAP_PASS, WEFT_PASS_HOST);
	o->udp = parse_udp(c);
	if (!o->udp || o->udp->dest != bpf_htons(WEFT_VXLAN_PORT))
		return decap_decided(res, DECAP_PASS, WEFT_PASS_HOST);

	/* VXLAN for another address on this host is not ours either (on an
	 * IPv6 underlay, local_vtep_be is no IPv4 address at all). */
	if (!cfg || underlay_is_v6(cfg) || ip->daddr != cfg->local_vtep_be)
		return decap_decided(res, DECAP_PASS, WEFT_PASS_HOST);

	/* From here on the packet is VXLAN to our VTEP: Weft's to judge. */
	if (ip->frag_off & bpf_htons(IP_MF))
		return decap_decided(res, DECAP_DROP, WEFT_DROP_FRAGMENT);
	/* Weft's peers send none; the overhead stripped assumes IHL 5. */
	if (ip->ihl != 5)
		return decap_decided(res, DECAP_DROP, WEFT_DROP_IP_OPTIONS);
	if (!vxlan_lengths_ok(ip, o->udp, pkt_len))
		return decap_decided(res, DECAP_DROP, WEFT_DROP_TRUNCATED);
	vtep = bpf_map_lookup_elem(&weft_vteps, &ip->saddr);
	if (!vtep)
		return decap_decided(res, DECAP_DROP, WEFT_DROP_UNKNOWN_VTEP);
	o->l3 = ip;
	o->vtep_flags = vtep->flags;
	return 0;
}

/*
 * Outer IPv6, as decap_outer4. Only a UDP header right after the IPv6 one
 * can be VXLAN to this node: extension headers, ICMPv6 (the underlay's own
 * neighbour discovery among it) and fragments are the host's. The sender is
 * known by its whole address, not only the 32 bits that name it.
 */
WEFT_INLINE int decap_outer6(struct cursor *c, __u32 pkt_len, const struct weft_config *cfg,
			     struct decap_outer *o, struct decap_result *res)
{
	struct ipv6hdr *ip6 = c->pos;
	const struct weft_vtep6 *local, *peer;
	__u32 payload_len;

	if ((void *)(ip6 + 1) > c->end || ip6->nexthdr != IPPROTO_UDP)
		return decap_decided(res, DECAP_PASS, WEFT_PASS_HOST);
	c->pos = ip6 + 1;
	o->udp = parse_udp(c);
	if (!o->udp || o->udp->dest != bpf_htons(WEFT_VXLAN_PORT))
		return decap_decided(res, DECAP_PASS, WEFT_PASS_HOST);
	if (!cfg || !underlay_is_v6(cfg))
		return decap_decided(res, DECAP_PASS, WEFT_PASS_HOST);
	local = vtep6_get(cfg->local_vtep_be);
	if (!local || !ipv6_addr_equal(&ip6->daddr, local->addr))
		return decap_decided(res, DECAP_PASS, WEFT_PASS_HOST);

	/* From here on the packet is VXLAN to our VTEP: Weft's to judge. The
	 * payload is the datagram exactly, and the frame the packet exactly
	 * (as vxlan_lengths_ok says for IPv4). */
	payload_len = bpf_ntohs(ip6->payload_len);
	if (ETH_HLEN + sizeof(*ip6) + payload_len != pkt_len ||
	    payload_len != bpf_ntohs(o->udp->len))
		return decap_decided(res, DECAP_DROP, WEFT_DROP_TRUNCATED);
	peer = vtep6_get(vtep6_ref(&ip6->saddr));
	if (!peer || (peer->flags & WEFT_VTEP_LOCAL) || !ipv6_addr_equal(&ip6->saddr, peer->addr))
		return decap_decided(res, DECAP_DROP, WEFT_DROP_UNKNOWN_VTEP);
	o->l3 = ip6;
	o->v6 = 1;
	o->vtep_flags = peer->flags;
	return 0;
}

/* `pkt_len`: the whole frame, which may extend past data_end (TC sees only
 * the pulled head directly). */
WEFT_INLINE void decap_classify(void *data, void *data_end, __u32 pkt_len, struct decap_result *res)
{
	const struct weft_config *cfg;
	struct cursor c = { .pos = data, .end = data_end };
	struct decap_outer o = {};
	struct ethhdr *inner_eth;
	struct weft_segment *seg;
	__u32 vni;

	res->ifindex = 0;
	res->nexthop_be = 0;
	res->trim_len = 0;
	res->outer6 = 0;
	res->inner6 = 0;
	o.eth = parse_eth(&c);
	if (!o.eth)
		return decap_set(res, DECAP_PASS, WEFT_PASS_HOST);
	cfg = config_get();
	if (o.eth->h_proto == bpf_htons(ETH_P_IP)) {
		if (decap_outer4(&c, pkt_len, cfg, &o, res))
			return;
	} else if (o.eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		if (decap_outer6(&c, pkt_len, cfg, &o, res))
			return;
		res->outer6 = 1;
	} else {
		return decap_set(res, DECAP_PASS, WEFT_PASS_HOST);
	}

	o.vx = parse_vxlan(&c);
	if (!o.vx)
		return decap_set(res, DECAP_DROP, WEFT_DROP_TRUNCATED);
	if (o.vx->flags != WEFT_VXLAN_FLAG_VNI || o.vx->reserved1[0] || o.vx->reserved1[1] ||
	    o.vx->reserved1[2] || (o.vx->vni_reserved2 & bpf_htonl(0xff)))
		return decap_set(res, DECAP_DROP, WEFT_DROP_BAD_VXLAN);
	vni = bpf_ntohl(o.vx->vni_reserved2) >> 8;
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
		return decap_arp(&c, &o, inner_eth, seg, vni, res);
	case ETH_P_IP:
		return decap_ipv4(&c, pkt_len, &o, cfg, inner_eth, seg, vni, res);
	case ETH_P_IPV6:
		return decap_ipv6(&c, pkt_len, &o, cfg, inner_eth, seg, vni, res);
	case ETH_P_8021Q:
	case ETH_P_8021AD:
		return decap_set(res, DECAP_DROP, WEFT_DROP_INNER_VLAN);
	default:
		return decap_set(res, DECAP_DROP, WEFT_DROP_UNSUPPORTED);
	}
}

#endif
