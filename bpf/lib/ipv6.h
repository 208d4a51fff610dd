/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* IPv6 headers and addresses, for either layer: the fixed header, address
 * comparison and copying, and the link-local address a MAC stands for. */
#ifndef WEFT_BPF_IPV6_H
#define WEFT_BPF_IPV6_H

#include <linux/in6.h>
#include <linux/ipv6.h>

#include "lib/parse.h"

#define IPV6_EXT_HOP 0
#define IPV6_EXT_ROUTING 43
#define IPV6_EXT_FRAGMENT 44
#define IPV6_EXT_DEST 60
#define IPV6_MAX_EXT_HEADERS 4
#define IPV6_MIN_MTU 1280 /* RFC 8200 5 */
/* How far past the fixed header extension headers are read. */
#define IPV6_EXT_WALK_LEN 256

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

/*
 * Walks the extension headers from `c` (just past the fixed header, whose
 * next header is `next`, with `left` bytes of payload): hop-by-hop (first
 * only), destination options, routing with no segments left; at most
 * IPV6_MAX_EXT_HEADERS of them, in IPV6_EXT_WALK_LEN bytes. Returns 0 with
 * *proto the upper-layer protocol and `c` at its header; or the reason: a
 * fragment header (`fragment`); a routing header with segments left, more
 * or longer headers, or headers past what `c` holds (`ipv6_ext_headers`);
 * a header past the payload (`truncated`).
 */
WEFT_INLINE __u32 ipv6_walk_ext(struct cursor *c, __u8 next, __u32 left, __u8 *proto)
{
	struct ipv6_rt_hdr *h;
	__u32 len, walked = 0;

#pragma unroll
	for (int i = 0; i <= IPV6_MAX_EXT_HEADERS; i++) {
		if (next == IPV6_EXT_FRAGMENT)
			return WEFT_DROP_FRAGMENT;
		if (next != IPV6_EXT_HOP && next != IPV6_EXT_DEST && next != IPV6_EXT_ROUTING) {
			*proto = next;
			return 0;
		}
		if (i == IPV6_MAX_EXT_HEADERS || (next == IPV6_EXT_HOP && i > 0))
			return WEFT_DROP_IPV6_EXT_HEADERS;
		h = c->pos;
		if (left < 8) /* every extension header is 8 bytes or more */
			return WEFT_DROP_TRUNCATED;
		if ((void *)(h + 1) > c->end)
			return WEFT_DROP_IPV6_EXT_HEADERS;
		len = (h->hdrlen + 1) * 8;
		if (len > left)
			return WEFT_DROP_TRUNCATED;
		walked += len;
		if ((next == IPV6_EXT_ROUTING && h->segments_left) || walked > IPV6_EXT_WALK_LEN ||
		    c->pos + len > c->end)
			return WEFT_DROP_IPV6_EXT_HEADERS;
		left -= len;
		next = h->nexthdr;
		c->pos += len;
	}
	return WEFT_DROP_IPV6_EXT_HEADERS;
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

/* An address into `dst` by 32-bit words: byte copies of unknown alignment
 * cost 32 instructions and, in a large function, as many stack spills. */
WEFT_INLINE void ipv6_addr_copy(void *dst, const void *src)
{
	const __u32 *s = src;
	__u32 *d = dst;

	d[0] = s[0];
	d[1] = s[1];
	d[2] = s[2];
	d[3] = s[3];
	/* Readers load the copy again rather than the compiler keeping the
	 * words live (in stack spills) for them. */
	asm volatile("" ::: "memory");
}

/* fe80::/64 */
WEFT_INLINE int ipv6_addr_is_link_local(const struct in6_addr *a)
{
	return a->in6_u.u6_addr32[0] == bpf_htonl(0xfe800000) && !a->in6_u.u6_addr32[1];
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

	if (!ipv6_addr_is_link_local(a) || b[11] != 0xff || b[12] != 0xfe)
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
