/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* IPv6 headers and addresses, for either layer: the fixed header, address
 * comparison and copying, and the link-local address a MAC stands for. */
#ifndef WEFT_BPF_IPV6_H
#define WEFT_BPF_IPV6_H

#include <linux/in6.h>
#include <linux/ipv6.h>

#include "lib/parse.h"

/* The fixed header, version 6 (extension headers are the caller's). */
WEFT_INLINE struct ipv6hdr *parse_ipv6(struct cursor *c)
{
	struct ipv6hdr *ip6 = c->pos;

	if ((void *)(ip6 + 1) > c->end || ip6->version != 6)
		return NULL;
	c->pos = ip6 + 1;
	return ip6;
}

/* The payload length must fit in the packet (`l3_offset` from the frame
 * start, `pkt_len` the whole frame); link padding after it is fine. */
WEFT_INLINE int ipv6_length_ok(const struct ipv6hdr *ip6, __u32 l3_offset, __u32 pkt_len)
{
	return l3_offset + sizeof(*ip6) + bpf_ntohs(ip6->payload_len) <= pkt_len;
}

WEFT_INLINE int ipv6_addr_equal(const struct in6_addr *a, const __u8 *b)
{
	const __u32 *x = a->in6_u.u6_addr32, *y = (const __u32 *)b;

	return !((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3]));
}

WEFT_INLINE int ipv6_addr_is_unspecified(const struct in6_addr *a)
{
	const __u32 *x = a->in6_u.u6_addr32;

	return !(x[0] | x[1] | x[2] | x[3]);
}

WEFT_INLINE void ipv6_addr_copy(struct in6_addr *dst, const __u8 *src)
{
	const __u32 *s = (const __u32 *)src;

	dst->in6_u.u6_addr32[0] = s[0];
	dst->in6_u.u6_addr32[1] = s[1];
	dst->in6_u.u6_addr32[2] = s[2];
	dst->in6_u.u6_addr32[3] = s[3];
}

/* No header checksum in IPv6: swapping is all a reply needs. */
WEFT_INLINE void ipv6_swap_addrs(struct ipv6hdr *ip6)
{
	struct in6_addr addr = ip6->saddr;

	ip6->saddr = ip6->daddr;
	ip6->daddr = addr;
}

/* fe80::/64 with the modified EUI-64 of `mac` (RFC 4291 appendix A): the
 * link-local address a VM makes for itself, and the gateway's. */
WEFT_INLINE void ipv6_link_local_of(struct in6_addr *out, const __u8 *mac)
{
	__u8 *b = out->in6_u.u6_addr8;

	out->in6_u.u6_addr32[0] = bpf_htonl(0xfe800000);
	out->in6_u.u6_addr32[1] = 0;
	b[8] = mac[0] ^ 0x02;
	b[9] = mac[1];
	b[10] = mac[2];
	b[11] = 0xff;
	b[12] = 0xfe;
	b[13] = mac[3];
	b[14] = mac[4];
	b[15] = mac[5];
}

/* The MAC behind a link-local address of that form; 0 if it is not one. */
WEFT_INLINE int ipv6_link_local_mac(const struct in6_addr *a, __u8 *mac)
{
	const __u8 *b = a->in6_u.u6_addr8;

	if (a->in6_u.u6_addr32[0] != bpf_htonl(0xfe800000) || a->in6_u.u6_addr32[1] ||
	    b[11] != 0xff || b[12] != 0xfe)
		return 0;
	mac[0] = b[8] ^ 0x02;
	mac[1] = b[9];
	mac[2] = b[10];
	mac[3] = b[13];
	mac[4] = b[14];
	mac[5] = b[15];
	return 1;
}

#endif
