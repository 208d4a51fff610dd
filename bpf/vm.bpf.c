// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Host side of a VM's interface, TC ingress: everything the VM sends.
 * ARP and IPv6 Neighbor Discovery are answered here; the source must be
 * the endpoint bound to the interface; then switch (same segment) or route (to the gateway MAC) in the
 * tenant, and deliver: straight into a local VM's namespace, or VXLAN to the
 * remote VTEP.
 */
#include "lib/arp.h"
#include "lib/encap.h"
#include "lib/firewall.h"
#include "lib/icmp.h"
#include "lib/nd.h"
#include "lib/reject.h"
#include "lib/route.h"
#include "lib/stats.h"

#define VM_PULL_LEN_ARP (ETH_HLEN + sizeof(struct arp_eth_ipv4))
/* ARP, or what the firewall reads of IPv4 (an ICMP error's quote too). */
#define VM_PULL_LEN (FW_PULL_LEN > VM_PULL_LEN_ARP ? FW_PULL_LEN : VM_PULL_LEN_ARP)

struct vm_ctx {
	struct __sk_buff *skb;
	const struct weft_endpoint *self; /* the endpoint bound here */
	const struct weft_segment *seg;	  /* its segment */
	const struct weft_segment6 *seg6; /* IPv6 packets: its segment's IPv6 side */
	int action;
	__u32 tenant_id; /* of self, once found */
	__u8 trace;	 /* skb->mark == WEFT_TRACE_MARK */
	__u8 proto;	 /* IPv6: the upper layer past the extension headers */
	__u16 l4_off;	 /* IPv6: where its header starts in the frame */
};

/* How far an IPv6 packet's upper-layer header may start: the extension
 * headers walked fit in IPV6_EXT_WALK_LEN bytes. */
#define VM_L4_OFF_MAX6 (ETH_HLEN + sizeof(struct ipv6hdr) + IPV6_EXT_WALK_LEN)
/* What an IPv6 packet's forwarding reads linearly. */
#define VM_PULL_LEN6 (VM_L4_OFF_MAX6 + FW_PULL_LEN6_L4)

WEFT_INLINE __u32 vm_arp(struct vm_ctx *v, struct cursor *c, struct ethhdr *eth)
{
	struct arp_eth_ipv4 *arp = parse_arp(c);
	const __u8 *answer;

	if (!arp || !arp_is_well_formed(arp))
		return WEFT_DROP_TRUNCATED;
	if (!mac_equal(arp->sha, v->self->mac) || arp->spa != v->self->ip_be)
		return WEFT_DROP_SPOOFED;
	if (arp->op != bpf_htons(ARPOP_REQUEST))
		return WEFT_DROP_ARP_UNANSWERED;
	answer = arp_lookup(v->seg, v->self->vni, arp->tpa, 0);
	if (!answer)
		return WEFT_DROP_ARP_UNANSWERED;
	arp_reply_in_place(eth, arp, answer);
	v->action = bpf_redirect(v->skb->ifindex, 0);
	return WEFT_ARP_REPLY;
}

/* Refuses the flow of the packet in `skb` to its sender: a TCP RST (over
 * IPv6, when the TCP header follows the fixed one), or ICMP(v6)
 * administratively prohibited from the gateway. `protocol`: the packet's
 * upper layer; `v6`: its family, a constant where this is inlined. */
WEFT_INLINE __u32 vm_reject(struct vm_ctx *v, __u8 protocol, const int v6)
{
	struct __sk_buff *skb = v->skb;
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + ETH_HLEN;
	struct ipv6hdr *ip6 = data + ETH_HLEN;
	struct tcphdr *tcp = v6 ? (void *)(ip6 + 1) : (void *)(ip + 1);
	__u32 reason;

	if (protocol != IPPROTO_TCP || (v6 && v->l4_off != ETH_HLEN + sizeof(*ip6))) {
		/* No ICMP error about an ICMP error (the firewall denies those
		 * rather than rejecting), nor for a GSO train. */
		if (skb->gso_segs > 1)
			return WEFT_DROP_POLICY;
		if (v6)
			reason = icmp6_error_reply(
				skb, ICMP_ERROR(ICMP6_DEST_UNREACH, ICMP6_ADMIN_PROHIBITED, 0),
				v->seg6->gateway, v->seg->gateway_mac, &v->action);
		else
			reason = icmp_error_reply(
				skb, ICMP_ERROR(ICMP_DEST_UNREACH, ICMP_PKT_FILTERED, 0),
				v->seg->gateway_ip_be, v->seg->gateway_mac, &v->action);
		return reason == WEFT_ICMP_ERROR ? WEFT_REJECT : reason;
	}
	if ((void *)(tcp + 1) > data_end)
		return WEFT_DROP_TRUNCATED;
	if (v6)
		reject_tcp6_in_place(eth, ip6, tcp);
	else
		reject_tcp_in_place(eth, ip, tcp);
	/* The RST's length keeps the TCP checksum field: a CHECKSUM_PARTIAL
	 * skb may not be trimmed short of it. */
	if (bpf_skb_change_tail(skb, ETH_HLEN + (v6 ? REJECT_RST_IP6_LEN : REJECT_RST_IP_LEN), 0))
		return WEFT_DROP_HELPER_FAILED;
	v->action = bpf_redirect(skb->ifindex, 0);
	return WEFT_REJECT;
}

/* What the hook tells the firewall about a flow whose target is `t`:
 * egress of the sending VM always, ingress of the destination too when it
 * is local (same tenant: one conntrack entry, judged once). */
WEFT_INLINE void vm_fw_meta(const struct vm_ctx *v, const struct fwd_target *t, struct fw_meta *m)
{
	m->ifindex = v->skb->ifindex;
	m->checks = WEFT_CT_F_EGRESS | (t->ifindex ? WEFT_CT_F_INGRESS : 0);
	m->trace = v->trace;
}

/* The firewall, once the target is known. Returns 0 to go on, or the
 * reason. */
WEFT_INLINE __u32 vm_firewall(struct vm_ctx *v, const struct fwd_target *t)
{
	struct __sk_buff *skb = v->skb;
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct iphdr *ip = data + ETH_HLEN;
	struct fw_flow f = {};
	__u32 reason;

	if ((void *)(ip + 1) > data_end)
		return WEFT_DROP_TRUNCATED;
	reason = fw_parse(&f, ip, data_end);
	if (reason)
		return reason;
	f.t.tenant_id = v->self->tenant_id;
	vm_fw_meta(v, t, &f.m);
	reason = fw_conntrack(&f);
	if (reason != WEFT_REJECT)
		return reason;
	return vm_reject(v, f.t.protocol, 0);
}

/* vm_firewall for IPv6, whose upper layer vm_ipv6 found. */
WEFT_INLINE __u32 vm_firewall6(struct vm_ctx *v, const struct fwd_target *t)
{
	struct __sk_buff *skb = v->skb;
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ipv6hdr *ip6 = data + ETH_HLEN;
	struct fw_scratch *w = fw_scratch_for6();
	__u32 off = v->l4_off, reason;

	if (!w)
		return WEFT_DROP_HELPER_FAILED;
	if ((void *)(ip6 + 1) > data_end || off > VM_L4_OFF_MAX6)
		return WEFT_DROP_TRUNCATED;
	reason = fw_parse6(&w->flow6, ip6, data + off, v->proto, data_end);
	if (reason)
		return reason;
	w->flow6.t.tenant_id = v->self->tenant_id;
	vm_fw_meta(v, t, &w->flow6.m);
	reason = fw_conntrack6(w);
	if (reason != WEFT_REJECT)
		return reason;
	return vm_reject(v, v->proto, 1);
}

/* Firewall, then delivery to `t`, of an IPv4 packet or (`v6`, a constant
 * where this is inlined) an IPv6 one; `routed`: by the gateway. */
WEFT_INLINE __u32 vm_forward(struct vm_ctx *v, const struct fwd_target *t, int routed, const int v6)
{
	struct __sk_buff *skb = v->skb;
	const struct weft_config *cfg;
	void *data, *data_end;
	struct ipv6hdr *ip6;
	struct ethhdr *eth;
	struct iphdr *ip;
	__u32 hash, reason;

	if (v->trace)
		trace_target(1, t);
	reason = v6 ? vm_firewall6(v, t) : vm_firewall(v, t);
	if (reason)
		return reason;

	if (!t->ifindex) {
		cfg = config_get();
		if (!cfg || !cfg->underlay_ifindex)
			return WEFT_DROP_NO_CONFIG;
		if (v6)
			reason = encap_refuse_too_big6(skb, cfg, v->seg6->gateway,
						       v->seg->gateway_mac, &v->action);
		else
			reason = encap_refuse_too_big(skb, cfg, v->seg->gateway_ip_be,
						      v->seg->gateway_mac, &v->action);
		if (reason)
			return reason;
	}

	/* Helpers above may have moved the data: re-derive the pointers. */
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	eth = data;
	ip = data + ETH_HLEN;
	ip6 = data + ETH_HLEN;
	if (v6 ? (void *)(ip6 + 1) > data_end : (void *)(ip + 1) > data_end)
		return WEFT_DROP_TRUNCATED;
	mac_copy(eth->h_dest, t->dmac);
	if (routed) {
		mac_copy(eth->h_source, v->seg->gateway_mac);
		if (v6)
			ip6->hop_limit--;
		else
			ipv4_decrement_ttl(ip);
	}

	if (t->ifindex) {
		v->action = bpf_redirect_peer(t->ifindex, 0);
		return WEFT_DELIVER_LOCAL;
	}
	hash = bpf_get_hash_recalc(skb);
	return vxlan_encap_and_send(skb, cfg, t->vtep_be, t->vni, hash, &v->action);
}

/* Within the segment: to the endpoint that has the destination MAC. */
WEFT_INLINE __u32 vm_switch(struct vm_ctx *v, const struct ethhdr *eth, const int v6)
{
	struct weft_mac_key key = { .vni = v->self->vni };
	struct fwd_target t = {};
	struct weft_endpoint *ep;

	mac_copy(key.mac, eth->h_dest);
	ep = bpf_map_lookup_elem(&weft_ep_by_mac, &key);
	if (!ep)
		return WEFT_DROP_UNKNOWN_DST;
	target_from_endpoint(&t, ep);
	return vm_forward(v, &t, 0, v6);
}

WEFT_INLINE __u32 vm_ipv4(struct vm_ctx *v, struct cursor *c, struct ethhdr *eth)
{
	struct iphdr *ip = parse_ipv4(c);
	struct fwd_target t = {};
	__u32 reason;

	if (!ip || !ipv4_length_ok(ip, ETH_HLEN, v->skb->len))
		return WEFT_DROP_TRUNCATED;
	if (ip->saddr != v->self->ip_be)
		return WEFT_DROP_SPOOFED;
	/* Before the header's details: a group-addressed packet (a VM's IGMP
	 * report carries the Router Alert option) is counted as what it is. */
	if (mac_is_group(eth->h_dest))
		return WEFT_DROP_BROADCAST;
	if (ip->ihl != 5)
		return WEFT_DROP_IP_OPTIONS;
	if (ipv4_is_fragment(ip))
		return WEFT_DROP_FRAGMENT;

	if (mac_equal(eth->h_dest, v->seg->gateway_mac)) {
		if (ip->ttl <= 1) {
			if (!icmp_error_allowed(v->skb, ip, c))
				return WEFT_DROP_TTL_EXPIRED;
			return icmp_error_reply(
				v->skb, ICMP_ERROR(ICMP_TIME_EXCEEDED, ICMP_EXC_TTL, 0),
				v->seg->gateway_ip_be, v->seg->gateway_mac, &v->action);
		}
		reason = route_lookup(v->self->tenant_id, ip->daddr, bpf_get_hash_recalc(v->skb),
				      &t);
		if (reason)
			return reason;
		/* Out of an uplink: only from the overlay (lib/decap.h). Edges
		 * host no VMs in this release, so a VM here is not where that
		 * route is meant for. */
		if (t.kind == WEFT_ROUTE_UPLINK)
			return WEFT_DROP_NOT_LOCAL;
		return vm_forward(v, &t, 1, 0);
	}
	return vm_switch(v, eth, 0);
}

/* Would the gateway route the IPv6 packet: sent to its MAC, for an address
 * beyond the link (neither link-local nor the gateway's own)? */
WEFT_INLINE int vm_ipv6_routed(const struct vm_ctx *v, const struct ethhdr *eth,
			       const struct ipv6hdr *ip6)
{
	return mac_equal(eth->h_dest, v->seg->gateway_mac) &&
	       !ipv6_addr_is_link_local(&ip6->daddr) &&
	       !ipv6_addr_equal(&ip6->daddr, v->seg6->gateway);
}

/* Routed IPv6: the hop limit first, as a router checks it before anything
 * else (so traceroute6 sees its first hop), then the tenant's IPv6
 * routes. */
WEFT_INLINE __u32 vm_route6(struct vm_ctx *v, struct cursor *c, struct ipv6hdr *ip6)
{
	struct fwd_target t = {};
	__u32 reason;

	if (ip6->hop_limit <= 1) {
		if (!icmp6_error_allowed(v->skb, v->proto, c))
			return WEFT_DROP_TTL_EXPIRED;
		return icmp6_error_reply(
			v->skb, ICMP_ERROR(ICMP6_TIME_EXCEEDED, ICMP6_HOP_LIMIT_EXCEEDED, 0),
			v->seg6->gateway, v->seg->gateway_mac, &v->action);
	}
	reason = route6_lookup(v->self->tenant_id, &ip6->daddr, bpf_get_hash_recalc(v->skb), &t);
	if (reason)
		return reason;
	/* No IPv6 uplinks: a route out of one is not this release's. */
	if (t.kind == WEFT_ROUTE_UPLINK)
		return WEFT_DROP_NOT_LOCAL;
	return vm_forward(v, &t, 1, 1);
}

/* IPv6: Neighbor Discovery is answered (lib/nd.h). Anything else must come
 * from the endpoint's address; its extension headers are walked; then it
 * is switched or routed as IPv4 is, through the firewall. */
WEFT_INLINE __u32 vm_ipv6(struct vm_ctx *v, struct cursor *c, struct ethhdr *eth)
{
	struct __sk_buff *skb = v->skb;
	struct ipv6hdr *ip6 = parse_ipv6(c);
	struct icmp6_wire *icmp6;
	__u32 reason, pull;
	void *data;

	if (!ip6 || !ipv6_length_ok(ip6, ETH_HLEN, skb->len))
		return WEFT_DROP_TRUNCATED;
	if (ip6->nexthdr == IPPROTO_ICMPV6_) {
		icmp6 = parse_icmp6(c);
		if (!icmp6)
			return WEFT_DROP_TRUNCATED;
		if (nd_is_nd_type(icmp6->type)) {
			reason = nd_answer(skb, v->self, v->seg);
			if (reason == WEFT_ND_REPLY)
				v->action = bpf_redirect(skb->ifindex, 0);
			return reason;
		}
	}
	/* Multicast listener reports among them, from :: or link-local. */
	if (mac_is_group(eth->h_dest))
		return WEFT_DROP_BROADCAST;
	if (!endpoint_owns_ip6(v->self, &ip6->saddr))
		return WEFT_DROP_SPOOFED;
	/* Owning an IPv6 address, the endpoint's segment has an IPv6 side. */
	v->seg6 = bpf_map_lookup_elem(&weft_segments6, &v->self->vni);
	if (!v->seg6)
		return WEFT_DROP_NOT_BOUND;

	pull = VM_PULL_LEN6;
	bpf_skb_pull_data(skb, skb->len < pull ? skb->len : pull);
	data = (void *)(long)skb->data;
	eth = data;
	c->pos = data + ETH_HLEN;
	c->end = (void *)(long)skb->data_end;
	ip6 = parse_ipv6(c);
	if (!ip6)
		return WEFT_DROP_TRUNCATED;
	reason = ipv6_walk_ext(c, ip6->nexthdr, bpf_ntohs(ip6->payload_len), &v->proto);
	if (reason)
		return reason;
	v->l4_off = c->pos - data;
	if (vm_ipv6_routed(v, eth, ip6))
		return vm_route6(v, c, ip6);
	/* To the gateway itself, or to a link-local address through it. */
	if (mac_equal(eth->h_dest, v->seg->gateway_mac))
		return WEFT_DROP_UNKNOWN_DST;
	return vm_switch(v, eth, 1);
}

WEFT_INLINE __u32 vm_classify(struct vm_ctx *v)
{
	struct __sk_buff *skb = v->skb;
	struct cursor c;
	struct ethhdr *eth;
	__u32 ifindex = skb->ifindex;

	v->self = bpf_map_lookup_elem(&weft_ep_by_if, &ifindex);
	if (!v->self)
		return WEFT_DROP_NOT_BOUND;
	v->tenant_id = v->self->tenant_id;
	v->seg = bpf_map_lookup_elem(&weft_segments, &v->self->vni);
	if (!v->seg)
		return WEFT_DROP_NOT_BOUND;

	bpf_skb_pull_data(skb, skb->len < VM_PULL_LEN ? skb->len : VM_PULL_LEN);
	c.pos = (void *)(long)skb->data;
	c.end = (void *)(long)skb->data_end;
	eth = parse_eth(&c);
	if (!eth)
		return WEFT_DROP_TRUNCATED;
	if (!mac_equal(eth->h_source, v->self->mac))
		return WEFT_DROP_SPOOFED;
	switch (bpf_ntohs(eth->h_proto)) {
	case ETH_P_ARP:
		return vm_arp(v, &c, eth);
	case ETH_P_IP:
		return vm_ipv4(v, &c, eth);
	case ETH_P_IPV6:
		return vm_ipv6(v, &c, eth);
	default:
		return WEFT_DROP_UNSUPPORTED;
	}
}

SEC("tc")
int weft_vm_ingress(struct __sk_buff *skb)
{
	struct vm_ctx v = { .skb = skb,
			    .action = TC_ACT_SHOT,
			    .trace = skb->mark == WEFT_TRACE_MARK };
	__u64 len = skb->len;
	__u32 reason = vm_classify(&v);
	struct verdict_meta m = {
		.data = (void *)(long)skb->data,
		.data_end = (void *)(long)skb->data_end,
		.tenant_id = v.tenant_id,
		.ifindex = skb->ifindex,
		.trace = v.trace,
	};

	return verdict(reason, len, v.action, TC_ACT_SHOT, &m);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
