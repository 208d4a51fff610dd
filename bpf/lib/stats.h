/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The one exit: every program returns through verdict(), which counts the
 * packet under its reason (enum weft_reason) and turns drops into the hook's
 * drop code. A reason is the metric label an operator sees.
 *
 * A drop also becomes a WEFT_EVENT_DROP in weft_events (weftctl monitor),
 * at a bounded rate per CPU (abi.h, weft_event_rate). A traced packet
 * (weftctl trace) is neither counted nor reported: its reason goes to
 * weft_trace.
 */
#ifndef WEFT_BPF_STATS_H
#define WEFT_BPF_STATS_H

#include <linux/ipv6.h>

#include "lib/maps.h"
#include "lib/parse.h"

/* What the exit knows of the packet besides its reason. */
struct verdict_meta {
	void *data; /* the packet as it leaves (for a drop event) */
	void *data_end;
	__u32 tenant_id; /* 0: unknown (VXLAN: from the VNI's segment) */
	__u32 ifindex;
	__u8 trace; /* a trace run */
	__u8 vxlan; /* describe the inner packet of VXLAN */
};

#define DROP_EVENT_NS_PER_TOKEN (1000000000ull / WEFT_DROP_EVENT_RATE)

/* One token of this CPU's bucket, or 0 when it is empty. */
WEFT_INLINE int drop_event_token(__u64 now)
{
	__u32 zero = 0;
	struct weft_event_rate *r = bpf_map_lookup_elem(&weft_event_rate, &zero);
	__u64 add;

	if (!r)
		return 0;
	if (now - r->last_ns >= WEFT_DROP_EVENT_BURST * DROP_EVENT_NS_PER_TOKEN) {
		r->tokens = WEFT_DROP_EVENT_BURST;
		r->last_ns = now;
	} else {
		add = (now - r->last_ns) / DROP_EVENT_NS_PER_TOKEN;
		if (add) {
			r->tokens += add;
			if (r->tokens > WEFT_DROP_EVENT_BURST)
				r->tokens = WEFT_DROP_EVENT_BURST;
			r->last_ns += add * DROP_EVENT_NS_PER_TOKEN;
		}
	}
	if (!r->tokens)
		return 0;
	r->tokens--;
	return 1;
}

/* The addresses and ports of the IPv4 packet at `ip` into `ev`. */
WEFT_INLINE void drop_event_tuple(struct weft_event *ev, struct iphdr *ip, void *end)
{
	__be16 *ports = (void *)(ip + 1);

	if ((void *)(ip + 1) > end || ip->version != 4)
		return;
	ev->saddr_be = ip->saddr;
	ev->daddr_be = ip->daddr;
	ev->protocol = ip->protocol;
	if (ip->ihl != 5 || (void *)(ports + 2) > end)
		return;
	if (ip->protocol == IPPROTO_TCP || ip->protocol == IPPROTO_UDP) {
		ev->sport_be = ports[0];
		ev->dport_be = ports[1];
	}
}

/* Past the UDP and VXLAN headers at `c` to the inner Ethernet header,
 * noting the segment's tenant; 0 when they are not VXLAN's. */
WEFT_INLINE int drop_event_skip_vxlan(struct cursor *c, struct weft_event *ev)
{
	struct udphdr *udp = parse_udp(c);
	struct vxlan_wire *vx = parse_vxlan(c);
	struct weft_segment *seg;
	__u32 vni;

	if (!udp || !vx || udp->dest != bpf_htons(WEFT_VXLAN_PORT))
		return 0;
	vni = bpf_ntohl(vx->vni_reserved2) >> 8;
	seg = bpf_map_lookup_elem(&weft_segments, &vni);
	if (seg && !ev->tenant_id)
		ev->tenant_id = seg->tenant_id;
	return 1;
}

/* Past the outer IPv6, UDP and VXLAN headers of a packet from an IPv6
 * underlay, to its inner Ethernet header; 0 when it is not VXLAN. */
WEFT_INLINE int drop_event_skip_outer6(struct cursor *c, struct weft_event *ev)
{
	struct ipv6hdr *ip6 = c->pos;

	if ((void *)(ip6 + 1) > c->end || ip6->nexthdr != IPPROTO_UDP)
		return 0;
	c->pos = ip6 + 1;
	return drop_event_skip_vxlan(c, ev);
}

/* The addresses and ports of the IPv6 packet at `ip6` into `ev6` (its
 * upper layer's ports when it follows the fixed header). */
WEFT_INLINE void drop_event_tuple6(struct weft_event6 *ev6, struct ipv6hdr *ip6, void *end)
{
	__be16 *ports = (void *)(ip6 + 1);

	if ((void *)(ip6 + 1) > end || ip6->version != 6)
		return;
	ev6->ev.flags = WEFT_EVENT_F_IPV6;
	ipv6_addr_copy(ev6->saddr, &ip6->saddr);
	ipv6_addr_copy(ev6->daddr, &ip6->daddr);
	ev6->ev.protocol = ip6->nexthdr;
	if ((void *)(ports + 2) > end)
		return;
	if (ip6->nexthdr == IPPROTO_TCP || ip6->nexthdr == IPPROTO_UDP) {
		ev6->ev.sport_be = ports[0];
		ev6->ev.dport_be = ports[1];
	}
}

/* The same from an IPv4 underlay; `c` is left at the IPv4 header when it
 * is not VXLAN, whose addresses the event then shows. */
WEFT_INLINE int drop_event_skip_outer4(struct cursor *c, struct weft_event *ev)
{
	struct iphdr *ip = c->pos;

	if ((void *)(ip + 1) > c->end || ip->ihl != 5 || ip->protocol != IPPROTO_UDP)
		return 0;
	c->pos = ip + 1;
	if (drop_event_skip_vxlan(c, ev))
		return 1;
	c->pos = ip;
	return 0;
}

/* A subprogram of its own (rare path): its locals stay off the stack frame
 * of the program, which the firewall's call chain leaves little of. Every
 * record is a struct weft_event6: flagged WEFT_EVENT_F_IPV6 when the
 * packet (an underlay packet's inner one) is IPv6. */
static __attribute__((noinline)) void drop_event(__u32 reason, const struct verdict_meta *m)
{
	struct cursor c = { .pos = m->data, .end = m->data_end };
	struct arp_eth_ipv4 *arp;
	struct weft_event6 *ev6;
	struct weft_event *ev;
	struct ethhdr *eth;
	__u64 now = bpf_ktime_get_ns();

	if (!drop_event_token(now))
		return;
	ev6 = bpf_ringbuf_reserve(&weft_events, sizeof(*ev6), 0);
	if (!ev6)
		return;
	__builtin_memset(ev6, 0, sizeof(*ev6));
	ev = &ev6->ev;
	ev->timestamp_ns = now;
	ev->type = WEFT_EVENT_DROP;
	ev->reason = reason;
	ev->tenant_id = m->tenant_id;
	ev->rule_index = WEFT_RULE_NONE;
	ev->ifindex = m->ifindex;
	eth = parse_eth(&c);
	if (!eth)
		goto out;
	if (eth->h_proto == bpf_htons(ETH_P_ARP)) {
		/* ARP: its addresses, protocol 0 */
		arp = parse_arp(&c);
		if (arp) {
			ev->saddr_be = arp->spa;
			ev->daddr_be = arp->tpa;
		}
		goto out;
	}
	/* On the underlay, VXLAN's inner packet; the host's own IPv4 as it
	 * is, and nothing of its own IPv6. */
	if (m->vxlan && eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		if (!drop_event_skip_outer6(&c, ev))
			goto out;
		eth = parse_eth(&c);
	} else if (m->vxlan && eth->h_proto == bpf_htons(ETH_P_IP) &&
		   drop_event_skip_outer4(&c, ev)) {
		eth = parse_eth(&c);
	}
	if (!eth)
		goto out;
	if (eth->h_proto == bpf_htons(ETH_P_IP))
		drop_event_tuple(ev, c.pos, c.end);
	else if (eth->h_proto == bpf_htons(ETH_P_IPV6))
		drop_event_tuple6(ev6, c.pos, c.end);
out:
	bpf_ringbuf_submit(ev6, 0);
}

WEFT_INLINE int verdict(__u32 reason, __u64 bytes, int action, int drop_action,
			const struct verdict_meta *m)
{
	int drop = WEFT_REASON_IS_DROP(reason);
	struct weft_trace_result *tr;
	struct weft_counter *c;

	if (m->trace) {
		tr = trace_get(1);
		if (tr) {
			tr->reason = reason;
			tr->tenant_id = m->tenant_id;
			tr->flags |= WEFT_TRACE_F_RAN;
		}
		return drop ? drop_action : action;
	}
	c = bpf_map_lookup_elem(&weft_stats, &reason);
	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
	if (drop)
		drop_event(reason, m);
	return drop ? drop_action : action;
}

#endif
