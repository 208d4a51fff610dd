/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * An IPv6 underlay (weft_config.flags & WEFT_CONFIG_F_UNDERLAY6): VTEPs are
 * named by the last 32 bits of their address (weft_vtep6), and the outer
 * header is IPv6 with a zero UDP checksum (RFC 6935/6936; a Linux vxlan peer
 * needs udp6zerocsumrx, as docs/DATAPATH.md says).
 */
#ifndef WEFT_BPF_UNDERLAY6_H
#define WEFT_BPF_UNDERLAY6_H

#include "lib/ipv6.h"
#include "lib/maps.h"

WEFT_INLINE int underlay_is_v6(const struct weft_config *cfg)
{
	return cfg->flags & WEFT_CONFIG_F_UNDERLAY6;
}

WEFT_INLINE __u32 encap_overhead(const struct weft_config *cfg)
{
	return underlay_is_v6(cfg) ? WEFT_ENCAP_OVERHEAD6 : WEFT_ENCAP_OVERHEAD;
}

/* The MTU an IPv6 VM may send in (router advertisements, Packet Too Big):
 * what the underlay carries past the encapsulation, and never below IPv6's
 * minimum. */
WEFT_INLINE __u32 overlay_mtu6(const struct weft_config *cfg)
{
	__u32 overhead = encap_overhead(cfg);

	if (cfg->underlay_mtu < IPV6_MIN_MTU + overhead)
		return IPV6_MIN_MTU;
	return cfg->underlay_mtu - overhead;
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

#endif
