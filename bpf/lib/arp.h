/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ARP is answered where it is asked: the gateway and every endpoint the node
 * knows have their MAC in the maps, so nothing is flooded.
 */
#ifndef WEFT_BPF_ARP_H
#define WEFT_BPF_ARP_H

#include "lib/maps.h"
#include "lib/parse.h"

/*
 * The MAC that answers `tpa` on segment `vni` of `seg`'s tenant, or NULL.
 * local_only: answer only for endpoints on this node (requests arriving over
 * VXLAN are flooded by their sender to every VTEP; the endpoint's own host
 * answers).
 */
WEFT_INLINE const __u8 *arp_lookup(const struct weft_segment *seg, __u32 vni, __be32 tpa,
				   int local_only)
{
	struct weft_ip_key key = { .tenant_id = seg->tenant_id, .ip_be = tpa };
	struct weft_endpoint *ep;

	if (tpa == seg->gateway_ip_be)
		return seg->gateway_mac;
	ep = bpf_map_lookup_elem(&weft_ep_by_ip, &key);
	if (!ep || ep->vni != vni || (local_only && !ep->ifindex))
		return NULL;
	return ep->mac;
}

/* Turns the request at `eth`/`arp` into the reply, in place. */
WEFT_INLINE void arp_reply_in_place(struct ethhdr *eth, struct arp_eth_ipv4 *arp,
				    const __u8 *answer_mac)
{
	__be32 asked = arp->tpa;

	mac_copy(eth->h_dest, eth->h_source);
	mac_copy(eth->h_source, answer_mac);
	arp->op = bpf_htons(ARPOP_REPLY);
	mac_copy(arp->tha, arp->sha);
	arp->tpa = arp->spa;
	mac_copy(arp->sha, answer_mac);
	arp->spa = asked;
}

#endif
