// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * An edge's uplink interface, TC ingress: what a tenant's upstream router
 * sends. The edge's own traffic on the transit network (ARP, BGP, ping of
 * the transit address) goes to the host; everything else is routed in the
 * uplink's tenant and VXLAN-encapsulated to the hypervisor of the
 * destination (or the next hop of a route), as a VM's host would.
 * Stateless: no firewall here, the hypervisors' conntrack sees both
 * directions of every flow.
 *
 * (The object is uplink_ingress, not uplink: its skeleton's struct would
 * take the name of abi.h's struct weft_uplink.)
 */
#include "lib/encap.h"
#include "lib/icmp.h"
#include "lib/route.h"
#include "lib/stats.h"

/* What the checks and an ICMP error's quote read. */
#define UPLINK_PULL_LEN (ETH_HLEN + ICMP_QUOTE_LEN)

struct uplink_ctx {
	struct __sk_buff *skb;
	const struct weft_uplink *up; /* the uplink bound here */
	int action;
	__u32 tenant_id; /* of the uplink, once found */
	__u8 trace;	 /* skb->mark == WEFT_TRACE_MARK */
};

/* ICMP errors come from the edge's transit address, back out of the uplink
 * to the router that sent the packet. */
WEFT_INLINE __u32 uplink_icmp_error(struct uplink_ctx *u, __u8 type, __u8 code)
{
	return icmp_error_reply(u->skb, ICMP_ERROR(type, code, 0), u->up->address_be, u->up->mac,
				&u->action);
}

/*
 * Routed into the overlay: TTL - 1, inner source MAC the destination
 * segment's gateway (as if that gateway had routed it), inner destination
 * the endpoint's MAC (CONNECTED) or the next hop's gateway MAC (REMOTE),
 * then VXLAN to the target's VTEP on its VNI.
 */
WEFT_INLINE __u32 uplink_encap(struct uplink_ctx *u, const struct fwd_target *t)
{
	struct __sk_buff *skb = u->skb;
	const struct weft_config *cfg = config_get();
	const struct weft_segment *seg;
	void *data, *data_end;
	struct ethhdr *eth;
	struct iphdr *ip;
	__u32 vni = t->vni, reason;

	if (!cfg || !cfg->underlay_ifindex)
		return WEFT_DROP_NO_CONFIG;
	seg = bpf_map_lookup_elem(&weft_segments, &vni);
	if (!seg || seg->tenant_id != u->tenant_id)
		return WEFT_DROP_UNKNOWN_VNI;
	reason = encap_refuse_too_big(skb, cfg, u->up->address_be, u->up->mac, &u->action);
	if (reason)
		return reason;

	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	eth = data;
	ip = data + ETH_HLEN;
	if ((void *)(ip + 1) > data_end)
		return WEFT_DROP_TRUNCATED;
	mac_copy(eth->h_dest, t->dmac);
	mac_copy(eth->h_source, seg->gateway_mac);
	ipv4_decrement_ttl(ip);
	reason = vxlan_encap_and_send(skb, cfg, t->vtep_be, vni, bpf_get_hash_recalc(skb),
				      &u->action);
	return reason == WEFT_ENCAP ? WEFT_FROM_UPLINK : reason;
}

WEFT_INLINE __u32 uplink_ipv4(struct uplink_ctx *u, struct cursor *c, struct ethhdr *eth)
{
	struct iphdr *ip = parse_ipv4(c);
	struct fwd_target t = {};
	__u32 reason;

	if (!ip || !ipv4_length_ok(ip, ETH_HLEN, u->skb->len))
		return WEFT_DROP_TRUNCATED;
	/* The edge's own: BGP, ping of the transit address. And what is not
	 * addressed to this interface at all (broadcast, multicast, another
	 * station's frame): the host's to take or ignore, never routed. */
	if (ip->daddr == u->up->address_be || !mac_equal(eth->h_dest, u->up->mac)) {
		u->action = TC_ACT_OK;
		return WEFT_PASS_HOST;
	}
	if (ip->ihl != 5)
		return WEFT_DROP_IP_OPTIONS;
	if (ipv4_is_fragment(ip))
		return WEFT_DROP_FRAGMENT;
	if (ip->ttl <= 1) {
		if (!icmp_error_allowed(u->skb, ip, c))
			return WEFT_DROP_TTL_EXPIRED;
		return uplink_icmp_error(u, ICMP_TIME_EXCEEDED, ICMP_EXC_TTL);
	}

	reason = route_lookup(u->tenant_id, ip->daddr, bpf_get_hash_recalc(u->skb), &t);
	if (reason)
		return reason;
	if (u->trace)
		trace_target(1, &t);
	/* No transit between uplinks: what came from upstream never goes back
	 * up (a loop, or a way through the tenant's network it did not ask
	 * for). */
	if (t.kind == WEFT_ROUTE_UPLINK)
		return WEFT_DROP_UPLINK_HAIRPIN;
	/* Edges host no VMs in this release; the firewall lives on the
	 * hypervisors, which this path would bypass. */
	if (t.ifindex)
		return WEFT_DROP_NOT_LOCAL;
	return uplink_encap(u, &t);
}

WEFT_INLINE __u32 uplink_classify(struct uplink_ctx *u)
{
	struct __sk_buff *skb = u->skb;
	__u32 ifindex = skb->ifindex;
	struct cursor c;
	struct ethhdr *eth;

	u->up = bpf_map_lookup_elem(&weft_uplinks, &ifindex);
	if (!u->up)
		return WEFT_DROP_NOT_BOUND;
	u->tenant_id = u->up->tenant_id;

	bpf_skb_pull_data(skb, skb->len < UPLINK_PULL_LEN ? skb->len : UPLINK_PULL_LEN);
	c.pos = (void *)(long)skb->data;
	c.end = (void *)(long)skb->data_end;
	eth = parse_eth(&c);
	if (!eth)
		return WEFT_DROP_TRUNCATED;
	switch (bpf_ntohs(eth->h_proto)) {
	case ETH_P_ARP:
		/* The kernel answers for the transit address and resolves the
		 * peer, which the overlay's redirect_neigh relies on. */
		u->action = TC_ACT_OK;
		return WEFT_PASS_HOST;
	case ETH_P_IP:
		return uplink_ipv4(u, &c, eth);
	default:
		return WEFT_DROP_UNSUPPORTED;
	}
}

SEC("tc")
int weft_uplink_ingress(struct __sk_buff *skb)
{
	struct uplink_ctx u = { .skb = skb,
				.action = TC_ACT_SHOT,
				.trace = skb->mark == WEFT_TRACE_MARK };
	__u64 len = skb->len;
	__u32 reason = uplink_classify(&u);
	struct verdict_meta m = {
		.data = (void *)(long)skb->data,
		.data_end = (void *)(long)skb->data_end,
		.tenant_id = u.tenant_id,
		.ifindex = skb->ifindex,
		.trace = u.trace,
	};

	return verdict(reason, len, u.action, TC_ACT_SHOT, &m);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
