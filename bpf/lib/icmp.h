/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ICMP errors the gateway owes a VM (TC only): time exceeded when routing
 * would expire the TTL, fragmentation needed when an encapsulated packet
 * would not fit the underlay (path MTU discovery through the overlay).
 * The packet is rebuilt in place into the error and sent back out of the
 * interface it came from.
 */
#ifndef WEFT_BPF_ICMP_H
#define WEFT_BPF_ICMP_H

#include "lib/csum.h"
#include "lib/parse.h"

/*
 * The offending IP header (Weft only routes IHL 5) and the first 20 bytes
 * after it: more than RFC 792's 8, as RFC 1812 allows, so that the quote
 * still holds the TCP checksum field. A TCP packet from a VM is usually
 * CHECKSUM_PARTIAL, and the kernel refuses to trim it short of that field.
 */
#define ICMP_QUOTE_LEN (sizeof(struct iphdr) + 20)

/* An error's type, code and (frag needed) next-hop MTU in one argument: a
 * BPF call takes at most five. */
#define ICMP_ERROR(type, code, mtu) \
	(((__u32)(type) << 24) | ((__u32)(code) << 16) | (__u32)(__u16)(mtu))

struct icmp_error_headers {
	struct iphdr ip;
	struct icmp_wire icmp;
} __attribute__((packed));

struct icmp_error_body {
	struct icmp_wire icmp;
	__u8 quote[ICMP_QUOTE_LEN];
} __attribute__((packed));

WEFT_INLINE int icmp_type_is_error(__u8 type)
{
	return type == ICMP_DEST_UNREACH || type == 4 /* source quench */ ||
	       type == 5 /* redirect */ || type == ICMP_TIME_EXCEEDED ||
	       type == 12 /* parameter problem */;
}

/*
 * RFC 1812 4.3.2.7: no ICMP error about an ICMP error; and a GSO packet
 * stands for many segments, which get no error each (counted drop).
 * `c` points just past the IPv4 header.
 */
WEFT_INLINE int icmp_error_allowed(struct __sk_buff *skb, const struct iphdr *ip, struct cursor *c)
{
	struct icmp_wire *icmp;

	if (skb->gso_segs > 1)
		return 0;
	if (ip->protocol != IPPROTO_ICMP)
		return 1;
	icmp = parse_icmp(c);
	return icmp && !icmp_type_is_error(icmp->type);
}

/*
 * The first steps of an error of either family: the offending frame's
 * Ethernet header into *eth and the `len` bytes after it into `quote`
 * (zeros past the packet's end; at least `min` must be there); then the
 * frame cut to Ethernet + `len`, with `room` bytes made after Ethernet for
 * the error's headers. Returns 0 or a reason.
 */
WEFT_INLINE __u32 icmp_take_offender(struct __sk_buff *skb, struct ethhdr *eth, __u8 *quote,
				     __u32 len, __u32 min, __u32 room)
{
	__u32 quoted = skb->len - ETH_HLEN;

	if (quoted > len)
		quoted = len;
	if (quoted < min)
		return WEFT_DROP_TRUNCATED;
	if (bpf_skb_load_bytes(skb, 0, eth, sizeof(*eth)) < 0 ||
	    bpf_skb_load_bytes(skb, ETH_HLEN, quote, quoted) < 0)
		return WEFT_DROP_TRUNCATED;
	if (bpf_skb_change_tail(skb, ETH_HLEN + len, 0) ||
	    bpf_skb_adjust_room(skb, room, BPF_ADJ_ROOM_MAC, 0))
		return WEFT_DROP_HELPER_FAILED;
	return 0;
}

/* The last step: the error, written after Ethernet, goes back to the
 * offender's sender from `from_mac`, out of the interface it came in by. */
WEFT_INLINE __u32 icmp_send_back(struct __sk_buff *skb, struct ethhdr *eth, const __u8 *from_mac,
				 int *action)
{
	mac_copy(eth->h_dest, eth->h_source);
	mac_copy(eth->h_source, from_mac);
	if (bpf_skb_store_bytes(skb, 0, eth, sizeof(*eth), 0) < 0)
		return WEFT_DROP_HELPER_FAILED;
	*action = bpf_redirect(skb->ifindex, 0);
	return WEFT_ICMP_ERROR;
}

/*
 * Rewrites the IPv4 packet in `skb` into an ICMP error from `from_ip`/
 * `from_mac` (the segment's gateway; on an edge's uplink, the transit
 * address) back to its sender, out of the interface it came in by. `what`
 * is ICMP_ERROR(type, code, mtu), the MTU being the next hop's for frag
 * needed, 0 otherwise. Returns a reason; on success *action is that
 * redirect.
 *
 * A subprogram of its own (rare path): its ~100 bytes of headers stay off
 * the calling program's stack frame, which the firewall's call chain
 * leaves little of (the verifier's 512 bytes are for the whole chain).
 */
static __attribute__((noinline, unused)) __u32 icmp_error_reply(struct __sk_buff *skb, __u32 what,
								__be32 from_ip,
								const __u8 *from_mac, int *action)
{
	struct icmp_error_headers h __attribute__((aligned(8))) = {};
	struct icmp_error_body body __attribute__((aligned(8))) = {};
	struct ethhdr eth;
	__u32 reason;

	reason = icmp_take_offender(skb, &eth, body.quote, ICMP_QUOTE_LEN, sizeof(struct iphdr),
				    sizeof(h));
	if (reason)
		return reason;

	body.icmp.type = what >> 24;
	body.icmp.code = (what >> 16) & 0xff;
	body.icmp.un.frag.mtu = bpf_htons(what & 0xffff);
	body.icmp.checksum = csum_fold32(bpf_csum_diff(NULL, 0, (__be32 *)&body, sizeof(body), 0));

	h.icmp = body.icmp;
	h.ip.version = 4;
	h.ip.ihl = 5;
	h.ip.tot_len = bpf_htons(sizeof(h) + ICMP_QUOTE_LEN);
	h.ip.ttl = 64;
	h.ip.protocol = IPPROTO_ICMP;
	h.ip.saddr = from_ip;
	__builtin_memcpy(&h.ip.daddr, body.quote + offsetof(struct iphdr, saddr),
			 sizeof(h.ip.daddr));
	h.ip.check = ipv4_header_csum(&h.ip);

	if (bpf_skb_store_bytes(skb, ETH_HLEN, &h, sizeof(h), 0) < 0 ||
	    bpf_skb_store_bytes(skb, ETH_HLEN + sizeof(h), body.quote, ICMP_QUOTE_LEN, 0) < 0)
		return WEFT_DROP_HELPER_FAILED;
	return icmp_send_back(skb, &eth, from_mac, action);
}

#endif
