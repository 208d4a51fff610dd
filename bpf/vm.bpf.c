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
	int action;
	__u32 tenant_id; /* of self, once found */
	__u8 trace;	 /* skb->mark == WEFT_TRACE_MARK */
};

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

/* Refuses the flow of the packet in `skb` to its sender: a TCP RST, or ICMP
 * administratively prohibited from the gateway. */
WEFT_INLINE __u32 vm_reject(struct vm_ctx *v, const struct fw_flow *f)
{
	struct __sk_buff *skb = v->skb;
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + ETH_HLEN;
	struct tcphdr *tcp = (void *)(ip + 1);
	__u32 reason;

	if (f->t.protocol != IPPROTO_TCP) {
		/* No ICMP error about an ICMP error (fw_conntrack denies those
		 * rather than rejecting), nor for a GSO train. */
		if (skb->gso_segs > 1)
			return WEFT_DROP_POLICY;
		reason = icmp_error_reply(skb, ICMP_ERROR(ICMP_DEST_UNREACH, ICMP_PKT_FILTERED, 0),
					  v->seg->gateway_ip_be, v->seg->gateway_mac, &v->action);
		return reason == WEFT_ICMP_ERROR ? WEFT_REJECT : reason;
	}
	if ((void *)(tcp + 1) > data_end)
		return WEFT_DROP_TRUNCATED;
	reject_tcp_in_place(eth, ip, tcp);
	/* 54 bytes keep the TCP checksum field: a CHECKSUM_PARTIAL skb may
	 * not be trimmed short of it. */
	if (bpf_skb_change_tail(skb, ETH_HLEN + REJECT_RST_IP_LEN, 0))
		return WEFT_DROP_HELPER_FAILED;
	v->action = bpf_redirect(skb->ifindex, 0);
	return WEFT_REJECT;
}

/*
 * The firewall, once the target is known: egress of the sending VM always,
 * ingress of the destination too when it is local (same tenant: one
 * conntrack entry, judged once). Returns 0 to go on, or the reason.
 */
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
	f.ifindex = skb->ifindex;
	f.checks = WEFT_CT_F_EGRESS | (t->ifindex ? WEFT_CT_F_INGRESS : 0);
	f.trace = v->trace;
	reason = fw_conntrack(&f);
	if (reason != WEFT_REJECT)
		return reason;
	return vm_reject(v, &f);
}

WEFT_INLINE __u32 vm_forward(struct vm_ctx *v, const struct fwd_target *t, int routed)
{
	struct __sk_buff *skb = v->skb;
	const struct weft_config *cfg;
	void *data, *data_end;
	struct ethhdr *eth;
	struct iphdr *ip;
	__u32 hash, reason;

	if (v->trace)
		trace_target(1, t);
	reason = vm_firewall(v, t);
	if (reason)
		return reason;

	if (!t->ifindex) {
		cfg = config_get();
		if (!cfg || !cfg->underlay_ifindex)
			return WEFT_DROP_NO_CONFIG;
		reason = encap_refuse_too_big(skb, cfg, v->seg->gateway_ip_be, v->seg->gateway_mac,
					      &v->action);
		if (reason)
			return reason;
	}

	/* Helpers above may have moved the data: re-derive the pointers. */
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	eth = data;
	ip = data + ETH_HLEN;
	if ((void *)(ip + 1) > data_end)
		return WEFT_DROP_TRUNCATED;
	mac_copy(eth->h_dest, t->dmac);
	if (routed) {
		mac_copy(eth->h_source, v->seg->gateway_mac);
		ipv4_decrement_ttl(ip);
	}

	if (t->ifindex) {
		v->action = bpf_redirect_peer(t->ifindex, 0);
		return WEFT_DELIVER_LOCAL;
	}
	hash = bpf_get_hash_recalc(skb);
	return vxlan_encap_and_send(skb, cfg, t->vtep_be, t->vni, hash, &v->action);
}

WEFT_INLINE __u32 vm_ipv4(struct vm_ctx *v, struct cursor *c, struct ethhdr *eth)
{
	struct iphdr *ip = parse_ipv4(c);
	struct fwd_target t = {};
	struct weft_mac_key key = { .vni = v->self->vni };
	struct weft_endpoint *ep;
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
		return vm_forward(v, &t, 1);
	}

	mac_copy(key.mac, eth->h_dest);
	ep = bpf_map_lookup_elem(&weft_ep_by_mac, &key);
	if (!ep)
		return WEFT_DROP_UNKNOWN_DST;
	target_from_endpoint(&t, ep);
	return vm_forward(v, &t, 0);
}

/* The IPv6 side of the segment when the gateway would route the packet:
 * sent to its MAC, for an address beyond the link (neither link-local nor
 * the gateway's own); else NULL. */
WEFT_INLINE const struct weft_segment6 *vm_ipv6_routed(struct vm_ctx *v, const struct ethhdr *eth,
						       const struct ipv6hdr *ip6)
{
	const struct weft_segment6 *seg6;

	if (!mac_equal(eth->h_dest, v->seg->gateway_mac) || ipv6_addr_is_link_local(&ip6->daddr))
		return NULL;
	seg6 = bpf_map_lookup_elem(&weft_segments6, &v->self->vni);
	if (!seg6 || ipv6_addr_equal(&ip6->daddr, seg6->gateway))
		return NULL;
	return seg6;
}

/* IPv6: Neighbor Discovery is answered (lib/nd.h). Anything else must come
 * from the endpoint's address, and its extension headers are walked. A
 * packet routing would expire gets Time Exceeded from the gateway, which
 * checks the hop limit first, as a router does (so traceroute6 sees its
 * first hop). The rest is not forwarded yet: IPv6 forwarding lands with its
 * firewall (docs/design/DUAL_STACK.md §1). */
WEFT_INLINE __u32 vm_ipv6(struct vm_ctx *v, struct cursor *c, struct ethhdr *eth)
{
	struct __sk_buff *skb = v->skb;
	struct ipv6hdr *ip6 = parse_ipv6(c);
	const struct weft_segment6 *seg6;
	struct icmp6_wire *icmp6;
	__u32 reason, pull;
	void *data;
	__u8 proto;

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

	pull = ETH_HLEN + sizeof(*ip6) + IPV6_EXT_WALK_LEN;
	bpf_skb_pull_data(skb, skb->len < pull ? skb->len : pull);
	data = (void *)(long)skb->data;
	eth = data;
	c->pos = data + ETH_HLEN;
	c->end = (void *)(long)skb->data_end;
	ip6 = parse_ipv6(c);
	if (!ip6)
		return WEFT_DROP_TRUNCATED;
	reason = ipv6_walk_ext(c, ip6->nexthdr, bpf_ntohs(ip6->payload_len), &proto);
	if (reason)
		return reason;
	if (ip6->hop_limit <= 1) {
		seg6 = vm_ipv6_routed(v, eth, ip6);
		if (seg6) {
			if (!icmp6_error_allowed(skb, proto, c))
				return WEFT_DROP_TTL_EXPIRED;
			return icmp6_error_reply(
				skb, ICMP_ERROR(ICMP6_TIME_EXCEEDED, ICMP6_HOP_LIMIT_EXCEEDED, 0),
				seg6->gateway, v->seg->gateway_mac, &v->action);
		}
	}
	return WEFT_DROP_UNSUPPORTED;
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
