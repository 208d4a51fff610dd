// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Underlay interface, inbound: VXLAN termination. Two hooks share one
 * classification (lib/decap.h); an operator picks per interface whichever
 * is faster there: XDP on NICs with native XDP, TC ingress on veths (where
 * any XDP program costs the peer its TSO).
 */
#include "lib/decap.h"
#include "lib/stats.h"

/* Enough for outer headers (IPv6 the longer) + inner Ethernet + IPv4 +
 * ARP/L4 start (an ICMP error's quote included). */
#define DECAP_PULL_LEN 148
_Static_assert(DECAP_PULL_LEN >= WEFT_ENCAP_OVERHEAD6 + FW_PULL_LEN, "pull the quote");
/* All an inner IPv6 packet's classification may read: its extension
 * headers and what the firewall reads past them. */
#define DECAP_PULL_LEN6                                                                 \
	(WEFT_ENCAP_OVERHEAD6 + ETH_HLEN + sizeof(struct ipv6hdr) + IPV6_EXT_WALK_LEN + \
	 FW_PULL_LEN6_L4)

/* Decapsulating leaves a packet of the inner family: the skb's protocol
 * must say so when it differs from the outer one (uapi since 6.3; older
 * headers lack the names). */
#ifndef BPF_F_ADJ_ROOM_DECAP_L3_IPV4
#define BPF_F_ADJ_ROOM_DECAP_L3_IPV4 (1ULL << 7)
#endif
#ifndef BPF_F_ADJ_ROOM_DECAP_L3_IPV6
#define BPF_F_ADJ_ROOM_DECAP_L3_IPV6 (1ULL << 8)
#endif

WEFT_INLINE __u32 decap_overhead(const struct decap_result *res)
{
	return res->outer6 ? WEFT_ENCAP_OVERHEAD6 : WEFT_ENCAP_OVERHEAD;
}

/*
 * Outer MACs for a re-addressed packet. XDP has no neighbour output, so this
 * asks the FIB, which the kernel answers only when IPv4 forwarding is on for
 * the underlay interface; otherwise the packet is dropped and counted.
 */
static __always_inline __u32 xdp_forward_to_vtep(struct xdp_md *ctx, __u8 outer6, int *action)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + ETH_HLEN;
	struct ipv6hdr *ip6 = data + ETH_HLEN;
	struct bpf_fib_lookup fib = {};

	if (outer6) {
		if ((void *)(ip6 + 1) > data_end)
			return WEFT_DROP_TRUNCATED;
		fib.family = AF_INET6;
		__builtin_memcpy(fib.ipv6_src, &ip6->saddr, sizeof(fib.ipv6_src));
		__builtin_memcpy(fib.ipv6_dst, &ip6->daddr, sizeof(fib.ipv6_dst));
		fib.tot_len = sizeof(*ip6) + bpf_ntohs(ip6->payload_len);
	} else {
		if ((void *)(ip + 1) > data_end)
			return WEFT_DROP_TRUNCATED;
		fib.family = AF_INET;
		fib.ipv4_src = ip->saddr;
		fib.ipv4_dst = ip->daddr;
		fib.tot_len = bpf_ntohs(ip->tot_len);
	}
	fib.l4_protocol = IPPROTO_UDP;
	fib.ifindex = ctx->ingress_ifindex;
	if (bpf_fib_lookup(ctx, &fib, sizeof(fib), BPF_FIB_LOOKUP_OUTPUT) !=
		    BPF_FIB_LKUP_RET_SUCCESS ||
	    fib.ifindex != ctx->ingress_ifindex)
		return WEFT_DROP_FIB;
	mac_copy(eth->h_source, fib.smac);
	mac_copy(eth->h_dest, fib.dmac);
	*action = XDP_TX;
	return WEFT_ENCAP;
}

/*
 * The decapsulated frame at the head, out of the uplink to the upstream
 * peer, whose MAC the FIB and neighbour table give (under the same
 * condition as above). No neighbour entry yet: dropped and counted, never
 * passed (the host would not know what to do with it either).
 */
static __always_inline __u32 xdp_forward_to_peer(struct xdp_md *ctx, const struct decap_result *res,
						 int *action)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + ETH_HLEN;
	struct bpf_fib_lookup fib = {};
	long ret;

	if ((void *)(ip + 1) > data_end)
		return WEFT_DROP_TRUNCATED;
	fib.family = AF_INET;
	fib.ipv4_src = ip->saddr;
	fib.ipv4_dst = res->nexthop_be;
	fib.tot_len = bpf_ntohs(ip->tot_len);
	fib.ifindex = res->ifindex;
	ret = bpf_fib_lookup(ctx, &fib, sizeof(fib), BPF_FIB_LOOKUP_OUTPUT);
	if (ret == BPF_FIB_LKUP_RET_FRAG_NEEDED)
		return WEFT_DROP_TOO_BIG;
	if (ret != BPF_FIB_LKUP_RET_SUCCESS || fib.ifindex != res->ifindex)
		return WEFT_DROP_FIB;
	mac_copy(eth->h_dest, fib.dmac);
	*action = bpf_redirect(res->ifindex, 0);
	return WEFT_TO_UPLINK;
}

SEC("xdp")
int weft_underlay_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u64 len = data_end - data;
	struct decap_result res = {};
	int action = XDP_PASS;

	decap_classify(data, data_end, len, &res);
	switch (res.action) {
	case DECAP_DELIVER:
		if (bpf_xdp_adjust_head(ctx, decap_overhead(&res))) {
			res.reason = WEFT_DROP_HELPER_FAILED;
			break;
		}
		action = bpf_redirect(res.ifindex, 0);
		break;
	case DECAP_BOUNCE:
		if (res.trim_len && bpf_xdp_adjust_tail(ctx, (int)res.trim_len - (int)len)) {
			res.reason = WEFT_DROP_HELPER_FAILED;
			break;
		}
		action = XDP_TX;
		break;
	case DECAP_FORWARD:
		res.reason = xdp_forward_to_vtep(ctx, res.outer6, &action);
		break;
	case DECAP_TO_UPLINK:
		if (bpf_xdp_adjust_head(ctx, decap_overhead(&res))) {
			res.reason = WEFT_DROP_HELPER_FAILED;
			break;
		}
		res.reason = xdp_forward_to_peer(ctx, &res, &action);
		break;
	}
	struct verdict_meta m = {
		.data = (void *)(long)ctx->data,
		.data_end = (void *)(long)ctx->data_end,
		.ifindex = ctx->ingress_ifindex,
		.vxlan = 1,
	};
	return verdict(res.reason, len, action, XDP_DROP, &m);
}

/* Strips the outer headers. adjust_room keeps the first 14 bytes: the inner
 * Ethernet header goes there. A subprogram: its copy of that header stays
 * off the program's stack frame, which the firewall's call chain leaves
 * little of. */
static __attribute__((noinline)) int tc_decapsulate(struct __sk_buff *skb, __u8 outer6, __u8 inner6)
{
	struct ethhdr inner_eth;
	__u32 overhead = outer6 ? WEFT_ENCAP_OVERHEAD6 : WEFT_ENCAP_OVERHEAD;
	__u64 flags = inner6   ? BPF_F_ADJ_ROOM_DECAP_L3_IPV6
		      : outer6 ? BPF_F_ADJ_ROOM_DECAP_L3_IPV4
			       : 0;

	if (bpf_skb_load_bytes(skb, overhead, &inner_eth, sizeof(inner_eth)) < 0 ||
	    bpf_skb_adjust_room(skb, -(__s32)overhead, BPF_ADJ_ROOM_MAC, flags) ||
	    bpf_skb_store_bytes(skb, 0, &inner_eth, sizeof(inner_eth), 0) < 0)
		return -1;
	return 0;
}

/*
 * The decapsulated frame out of the uplink to the upstream peer. The uplink
 * carries the transit address: the kernel resolves the peer's MAC (and
 * caches it) and writes both MACs, the source being the uplink's own as
 * decap_to_uplink wrote. A subprogram of its own (an edge's path): its
 * locals stay off the program's stack frame, which the firewall's call
 * chain leaves little of.
 */
static __attribute__((noinline)) __u32 tc_send_to_peer(struct __sk_buff *skb,
						       const struct decap_result *res, int *action)
{
	struct bpf_redir_neigh peer = {};

	if (tc_decapsulate(skb, res->outer6, 0))
		return WEFT_DROP_HELPER_FAILED;
	peer.nh_family = AF_INET;
	peer.ipv4_nh = res->nexthop_be;
	*action = bpf_redirect_neigh(res->ifindex, &peer, sizeof(peer), 0);
	return res->reason;
}

SEC("tc")
int weft_underlay_tc(struct __sk_buff *skb)
{
	__u64 len = skb->len;
	struct decap_result res = { .trace = skb->mark == WEFT_TRACE_MARK };
	struct weft_trace_result *tr;
	int action = TC_ACT_OK;
	__u32 pull = DECAP_PULL_LEN;

	/* What is read directly must be linear. DECAP_PULL_LEN holds every
	 * IPv4 packet's classification and IPv6 without extension headers;
	 * one cut short past it (an inner IPv6 packet's headers, an ICMPv6
	 * error's quote) is classified once more with all it may need, so
	 * that no other packet pulls more than it did. Nothing is changed
	 * before a classification decides `truncated`. */
#pragma clang loop unroll(disable)
	for (int i = 0; i < 2; i++) {
		bpf_skb_pull_data(skb, len < pull ? len : pull);
		decap_classify((void *)(long)skb->data, (void *)(long)skb->data_end, len, &res);
		if (res.reason != WEFT_DROP_TRUNCATED || len <= pull)
			break;
		pull = DECAP_PULL_LEN6;
	}
	switch (res.action) {
	case DECAP_DELIVER:
		if (tc_decapsulate(skb, res.outer6, res.inner6)) {
			res.reason = WEFT_DROP_HELPER_FAILED;
			break;
		}
		action = bpf_redirect_peer(res.ifindex, 0);
		break;
	case DECAP_TO_UPLINK:
		res.reason = tc_send_to_peer(skb, &res, &action);
		break;
	case DECAP_BOUNCE:
		/* The kernel refuses to trim an skb marked as encapsulated
		 * (-ENOTSUPP): a packet that a Weft sender on this machine
		 * encapsulated with bpf_skb_adjust_room and a veth carried
		 * here keeps the mark. Its headers already give the reply's
		 * lengths, so it goes untrimmed: the rest is padding. */
		if (res.trim_len) {
			long err = bpf_skb_change_tail(skb, res.trim_len, 0);

			if (err && err != -524 /* ENOTSUPP */) {
				res.reason = WEFT_DROP_HELPER_FAILED;
				break;
			}
		}
		action = bpf_redirect(skb->ifindex, 0);
		break;
	case DECAP_FORWARD:
		action = bpf_redirect_neigh(skb->ifindex, NULL, 0, 0);
		break;
	}
	tr = trace_get(res.trace);
	if (tr)
		tr->egress_ifindex = res.ifindex;
	struct verdict_meta m = {
		.data = (void *)(long)skb->data,
		.data_end = (void *)(long)skb->data_end,
		.ifindex = skb->ifindex,
		.trace = res.trace,
		.vxlan = 1,
	};
	return verdict(res.reason, len, action, TC_ACT_SHOT, &m);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
