/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ICMPv6 (RFC 4443): the message header, its checksum over the IPv6
 * pseudo-header, and the errors the gateway owes a VM (TC only), the IPv6
 * counterpart of lib/icmp.h: the packet is rebuilt in place into the error
 * and sent back out of the interface it came from.
 */
#ifndef WEFT_BPF_ICMP6_H
#define WEFT_BPF_ICMP6_H

#include "lib/csum.h"
#include "lib/icmp.h"
#include "lib/ipv6.h"

#define ICMP6_DEST_UNREACH 1
#define ICMP6_ADMIN_PROHIBITED 1
#define ICMP6_PACKET_TOO_BIG 2
#define ICMP6_TIME_EXCEEDED 3
#define ICMP6_HOP_LIMIT_EXCEEDED 0
#define ICMP6_INFO_TYPES 128 /* types below are errors */
#define ICMP6_ERROR_HOP_LIMIT 64

/*
 * The offending IPv6 header and the first 20 bytes after it: less than
 * RFC 4443's "as much as fits in 1280 bytes", for a fixed-size message
 * whose checksum is one bpf_csum_diff, and enough for the flow it is about
 * and, as lib/icmp.h says, the TCP checksum field of a CHECKSUM_PARTIAL
 * packet, which the kernel does not let go.
 */
#define ICMP6_QUOTE_LEN (40 + 20)

/* ICMPv6's first 8 bytes. */
struct icmp6_wire {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	__be32 data; /* NA: the R, S, O flags; packet too big: the MTU */
};

PARSE_HEADER(icmp6, struct icmp6_wire)

struct icmp6_error_body {
	struct icmp6_wire icmp;
	__u8 quote[ICMP6_QUOTE_LEN];
} __attribute__((packed));
_Static_assert(sizeof(struct icmp6_error_body) % 4 == 0, "one bpf_csum_diff");

/* The pseudo-header's part (RFC 8200 8.1) of the checksum of an ICMPv6
 * message of `len` bytes under `ip`'s addresses. */
WEFT_INLINE __s64 icmp6_pseudo_sum(const struct ipv6hdr *ip, __u32 len)
{
	__be32 tail[2] = { bpf_htonl(len), bpf_htonl(IPPROTO_ICMPV6_) };
	__s64 sum = bpf_csum_diff(NULL, 0, (__be32 *)&ip->saddr, 2 * sizeof(struct in6_addr), 0);

	return bpf_csum_diff(NULL, 0, tail, sizeof(tail), sum);
}

/* The ICMPv6 checksum of `msg` (`len` bytes, checksum field zero). */
WEFT_INLINE __sum16 icmp6_csum(const struct ipv6hdr *ip, const void *msg, __u32 len)
{
	return csum_fold32(bpf_csum_diff(NULL, 0, (__be32 *)msg, len, icmp6_pseudo_sum(ip, len)));
}

/*
 * RFC 4443 2.4 (e): no error about an error; and a GSO packet stands for
 * many, which get no error each. `proto` is the upper layer the extension
 * headers led to, `c` at its header.
 */
WEFT_INLINE int icmp6_error_allowed(struct __sk_buff *skb, __u8 proto, struct cursor *c)
{
	struct icmp6_wire *icmp6;

	if (skb->gso_segs > 1)
		return 0;
	if (proto != IPPROTO_ICMPV6_)
		return 1;
	icmp6 = parse_icmp6(c);
	return icmp6 && icmp6->type >= ICMP6_INFO_TYPES;
}

/*
 * Rewrites the IPv6 packet in `skb` into an ICMPv6 error from `from`/
 * `from_mac` (the segment's IPv6 gateway) back to its sender, out of the
 * interface it came in by. `what` is ICMP_ERROR(type, code, mtu) as for
 * IPv4. Returns a reason; on success *action is that redirect. A
 * subprogram of its own, as icmp_error_reply is, for the calling
 * program's stack frame.
 */
static __attribute__((noinline, unused)) __u32 icmp6_error_reply(struct __sk_buff *skb, __u32 what,
								 const __u8 *from,
								 const __u8 *from_mac, int *action)
{
	struct ipv6hdr ip __attribute__((aligned(8))) = {};
	struct icmp6_error_body body __attribute__((aligned(8))) = {};
	struct ethhdr eth;
	__u32 reason;

	reason = icmp_take_offender(skb, &eth, body.quote, ICMP6_QUOTE_LEN, sizeof(struct ipv6hdr),
				    sizeof(ip) + sizeof(body.icmp));
	if (reason)
		return reason;

	ip.version = 6;
	ip.payload_len = bpf_htons(sizeof(body));
	ip.nexthdr = IPPROTO_ICMPV6_;
	ip.hop_limit = ICMP6_ERROR_HOP_LIMIT;
	__builtin_memcpy(&ip.saddr, from, sizeof(ip.saddr));
	__builtin_memcpy(&ip.daddr, body.quote + offsetof(struct ipv6hdr, saddr), sizeof(ip.daddr));
	body.icmp.type = what >> 24;
	body.icmp.code = (what >> 16) & 0xff;
	body.icmp.data = bpf_htonl(what & 0xffff);
	body.icmp.checksum = icmp6_csum(&ip, &body, sizeof(body));

	if (bpf_skb_store_bytes(skb, ETH_HLEN, &ip, sizeof(ip), 0) < 0 ||
	    bpf_skb_store_bytes(skb, ETH_HLEN + sizeof(ip), &body, sizeof(body), 0) < 0)
		return WEFT_DROP_HELPER_FAILED;
	return icmp_send_back(skb, &eth, from_mac, action);
}

#endif
