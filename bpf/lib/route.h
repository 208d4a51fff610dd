/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Distributed routing: the tenant's longest-prefix match decides where a
 * packet sent to the gateway MAC goes. The result is a forwarding target: a
 * local interface, a remote VTEP with the VNI and inner destination MAC to
 * use on the wire, or (on an edge) a tenant's uplink and its upstream peer.
 */
#ifndef WEFT_BPF_ROUTE_H
#define WEFT_BPF_ROUTE_H

#include "lib/maps.h"

/* Kept small: the VM program's stack has little room left. */
struct fwd_target {
	__u32 ifindex;	     /* != 0: on this host (UPLINK: the uplink's interface) */
	__be32 vtep_be;	     /* the next hop: remote VTEP; UPLINK: the upstream peer */
	__u32 vni;	     /* not UPLINK */
	__u8 dmac[ETH_ALEN]; /* not UPLINK: the neighbour table has the peer's */
	__u16 kind;	     /* enum weft_route_kind; 0: switched within the segment */
};

WEFT_INLINE void target_from_endpoint(struct fwd_target *t, const struct weft_endpoint *ep)
{
	t->ifindex = ep->ifindex;
	t->vtep_be = ep->vtep_be;
	t->vni = ep->vni;
	mac_copy(t->dmac, ep->mac);
}

/*
 * An UPLINK route leads out of one of this edge's uplinks, which must be the
 * route's tenant's: a route naming another tenant's uplink (or one not
 * configured) leads nowhere rather than into that tenant's network.
 */
WEFT_INLINE __u32 route_to_uplink(__u32 tenant_id, const struct weft_route *r, struct fwd_target *t)
{
	__u32 ifindex = r->ifindex;
	struct weft_uplink *up = bpf_map_lookup_elem(&weft_uplinks, &ifindex);

	if (!up || up->tenant_id != tenant_id || r->nhop_count == 0)
		return WEFT_DROP_NO_ROUTE;
	t->ifindex = ifindex;
	t->vtep_be = r->nhops_be[0];
	t->kind = WEFT_ROUTE_UPLINK;
	return 0;
}

/*
 * The target of route `r` (looked up in `tenant_id`'s table of the
 * family): a CONNECTED route's endpoint is looked up by `ep_key` in the
 * family's index (`v6`, a constant where this is inlined). Returns 0 and
 * fills `t`, or the drop reason. `flow_hash` picks among ECMP next hops.
 */
WEFT_INLINE __u32 route_target(__u32 tenant_id, const struct weft_route *r, const void *ep_key,
			       __u32 flow_hash, struct fwd_target *t, const int v6)
{
	struct weft_endpoint *ep;
	__u32 n, pick;

	if (!r)
		return WEFT_DROP_NO_ROUTE;
	switch (r->kind) {
	case WEFT_ROUTE_CONNECTED:
		ep = bpf_map_lookup_elem(v6 ? (void *)&weft_ep_by_ip6 : (void *)&weft_ep_by_ip,
					 ep_key);
		if (!ep)
			return WEFT_DROP_UNKNOWN_DST;
		target_from_endpoint(t, ep);
		t->kind = WEFT_ROUTE_CONNECTED;
		return 0;
	case WEFT_ROUTE_REMOTE:
		n = r->nhop_count;
		if (n == 0 || n > WEFT_ECMP_MAX)
			return WEFT_DROP_NO_ROUTE;
		t->ifindex = 0;
		pick = flow_hash % n;
		/* Unrolled select: an index the verifier can bound. */
#pragma unroll
		for (__u32 i = 0; i < WEFT_ECMP_MAX; i++)
			if (i == pick)
				t->vtep_be = r->nhops_be[i];
		t->vni = r->vni;
		mac_copy(t->dmac, r->gateway_mac);
		t->kind = WEFT_ROUTE_REMOTE;
		return 0;
	case WEFT_ROUTE_UPLINK:
		return route_to_uplink(tenant_id, r, t);
	default:
		return WEFT_DROP_BLACKHOLE;
	}
}

/* Resolves IPv4 `daddr` in `tenant_id`: route_target's answer. Callers
 * check t->kind for UPLINK before reading t->ifindex as a local
 * endpoint's. */
WEFT_INLINE __u32 route_lookup(__u32 tenant_id, __be32 daddr, __u32 flow_hash, struct fwd_target *t)
{
	struct weft_route_key key = {
		.prefixlen = WEFT_ROUTE_KEY_PREFIXLEN(32),
		.tenant_id_be = bpf_htonl(tenant_id),
		.addr_be = daddr,
	};
	struct weft_ip_key ep_key = { .tenant_id = tenant_id, .ip_be = daddr };

	return route_target(tenant_id, bpf_map_lookup_elem(&weft_routes, &key), &ep_key, flow_hash,
			    t, 0);
}

/* route_lookup for IPv6 `daddr`, in weft_routes6. */
WEFT_INLINE __u32 route6_lookup(__u32 tenant_id, const struct in6_addr *daddr, __u32 flow_hash,
				struct fwd_target *t)
{
	struct weft_route6_key key = {
		.prefixlen = WEFT_ROUTE_KEY_PREFIXLEN(128),
		.tenant_id_be = bpf_htonl(tenant_id),
	};
	struct weft_ip6_key ep_key = { .tenant_id = tenant_id };

	ipv6_addr_copy(key.addr, daddr);
	ipv6_addr_copy(ep_key.addr, daddr);
	return route_target(tenant_id, bpf_map_lookup_elem(&weft_routes6, &key), &ep_key, flow_hash,
			    t, 1);
}

/* Trace: where the packet is headed. */
WEFT_INLINE void trace_target(int trace, const struct fwd_target *t)
{
	struct weft_trace_result *tr = trace_get(trace);

	if (!tr)
		return;
	tr->flags |= WEFT_TRACE_F_TARGET;
	tr->route_kind = t->kind;
	tr->vni = t->vni;
	tr->vtep_be = t->vtep_be;
	tr->egress_ifindex = t->ifindex;
}

#endif
