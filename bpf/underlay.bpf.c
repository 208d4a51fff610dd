// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Underlay interface, inbound: VXLAN termination. Two hooks share one
 * classification (lib/decap.h); an operator picks per interface whichever
 * is faster there: XDP on NICs with native XDP, TC ingress on veths (where
 * any XDP program costs the peer its TSO).
 */
#include "lib/decap.h"
#include "lib/stats.h"

/* Enough for outer headers + inner Ethernet + IPv4 + ARP/L4 start (an
 * ICMP error's quote included). */
#define DECAP_PULL_LEN 128
_Static_assert(DECAP_PULL_LEN >= WEFT_ENCAP_OVERHEAD + FW_PULL_LEN, "pull the quote");

/*
 * Outer MACs for a re-addressed packet. XDP has no neighbour output, so this
 * asks the FIB, which the kernel answers only when IPv4 forwarding is on for
 * the underlay interface; otherwise the packet is dropped and counted.
 */
static __always_inline __u32 xdp_forward_to_vtep(struct xdp_md *ctx, int *action)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + ETH_HLEN;
	struct bpf_fib_lookup fib = {};

	if ((void *)(ip + 1) > data_end)
		return WEFT_DROP_TRUNCATED;
	fib.family = AF_INET;
	fib.ipv4_src = ip->saddr;
	fib.ipv4_dst = ip->daddr;
	fib.l4_protocol = IPPROTO_UDP;
	fib.tot_len = bpf_ntohs(ip->tot_len);
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

SEC("xdp")
int weft_underlay_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u64 len = data_end - data;
	struct decap_result res = {};
	struct verdict_meta m = { .ifindex = ctx->ingress_ifindex, .vxlan = 1 };
	int action = XDP_PASS;

	decap_classify(data, data_end, len, &res);
	switch (res.action) {
	case DECAP_DELIVER:
		if (bpf_xdp_adjust_head(ctx, WEFT_ENCAP_OVERHEAD)) {
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
		res.reason = xdp_forward_to_vtep(ctx, &action);
		break;
	}
	m.data = (void *)(long)ctx->data;
	m.data_end = (void *)(long)ctx->data_end;
	return verdict(res.reason, len, action, XDP_DROP, &m);
}

SEC("tc")
int weft_underlay_tc(struct __sk_buff *skb)
{
	__u64 len = skb->len;
	struct decap_result res = { .trace = skb->mark == WEFT_TRACE_MARK };
	struct verdict_meta m = { .ifindex = skb->ifindex, .vxlan = 1, .trace = res.trace };
	struct weft_trace_result *tr;
	struct ethhdr inner_eth;
	int action = TC_ACT_OK;

	bpf_skb_pull_data(skb, len < DECAP_PULL_LEN ? len : DECAP_PULL_LEN);
	decap_classify((void *)(long)skb->data, (void *)(long)skb->data_end, len, &res);
	switch (res.action) {
	case DECAP_DELIVER:
		/* adjust_room keeps the first 14 bytes: put the inner
		 * Ethernet header there. */
		if (bpf_skb_load_bytes(skb, WEFT_ENCAP_OVERHEAD, &inner_eth, sizeof(inner_eth)) <
			    0 ||
		    bpf_skb_adjust_room(skb, -WEFT_ENCAP_OVERHEAD, BPF_ADJ_ROOM_MAC, 0) ||
		    bpf_skb_store_bytes(skb, 0, &inner_eth, sizeof(inner_eth), 0) < 0) {
			res.reason = WEFT_DROP_HELPER_FAILED;
			break;
		}
		action = bpf_redirect_peer(res.ifindex, 0);
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
	m.data = (void *)(long)skb->data;
	m.data_end = (void *)(long)skb->data_end;
	return verdict(res.reason, len, action, TC_ACT_SHOT, &m);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
