/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * An IPv6 underlay (weft_config.flags & WEFT_CONFIG_F_UNDERLAY6): VTEPs are
 * named by the last 32 bits of their address (weft_vtep6), and the outer
 * header is IPv6 with a zero UDP checksum (RFC 6935/6936; a Linux vxlan peer
 * needs udp6zerocsumrx, as docs/DATAPATH.md says).
 */
#ifndef WEFT_BPF_UNDERLAY6_H
#define WEFT_BPF_UNDERLAY6_H

#include <linux/ipv6.h>

#include "lib/maps.h"

WEFT_INLINE int underlay_is_v6(const struct weft_config *cfg)
{
	return cfg->flags & WEFT_CONFIG_F_UNDERLAY6;
}

WEFT_INLINE __u32 encap_overhead(const struct weft_config *cfg)
{
	return underlay_is_v6(cfg) ? WEFT_ENCAP_OVERHEAD6 : WEFT_ENCAP_OVERHEAD;
}

WEFT_INLINE const struct weft_vtep6 *vtep6_get(__be32 ref)
{
	return bpf_map_lookup_elem(&weft_vtep6, &ref);
}

/* What a VTEP reference of the wire names: the address's last 32 bits. */
WEFT_INLINE __be32 vtep6_ref(const struct in6_addr *addr)
{
	return addr->in6_u.u6_addr32[3];
}

WEFT_INLINE int ipv6_addr_equal(const struct in6_addr *a, const __u8 *b)
{
	const __u32 *x = a->in6_u.u6_addr32, *y = (const __u32 *)b;

	return !((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3]));
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

#endif
