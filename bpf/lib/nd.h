/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Neighbor Discovery at a VM's port (RFC 4861), the IPv6 counterpart of
 * lib/arp.h: solicitations are answered from the maps, nothing is flooded.
 * - A neighbor solicitation for the segment's gateway (its address or its
 *   link-local one) gets an advertisement from the gateway MAC, Router set;
 *   one for an endpoint of the segment (its address, or a link-local address
 *   made from its MAC) gets one with that endpoint's MAC.
 * - A router solicitation gets a router advertisement: the segment's /64 as
 *   on-link only (addresses come from the state, so SLAAC would only make
 *   addresses the anti-spoofing drops) and the MTU the overlay carries.
 * - A duplicate address probe (source ::) is not answered: the address is
 *   the VM's by construction, and an answer would make the VM give it up.
 * The sender must be the endpoint: its address or a link-local one, and its
 * MAC in the Ethernet header and in a link-layer address option.
 */
#ifndef WEFT_BPF_ND_H
#define WEFT_BPF_ND_H

#include "lib/icmp6.h"
#include "lib/maps.h"
#include "lib/underlay6.h"

#define ND_ROUTER_SOLICIT 133
#define ND_ROUTER_ADVERT 134
#define ND_NEIGHBOR_SOLICIT 135
#define ND_NEIGHBOR_ADVERT 136
#define ND_REDIRECT 137
#define ND_OPT_SOURCE_LLA 1
#define ND_OPT_TARGET_LLA 2
#define ND_OPT_PREFIX_INFO 3
#define ND_OPT_MTU 5
#define ND_HOP_LIMIT 255 /* on every ND message: proof it was not routed */
#define ND_MAX_OPTIONS 4 /* a VM's solicitation carries one or two */
#define ND_NA_ROUTER 0x80000000u
#define ND_NA_SOLICITED 0x40000000u
#define ND_NA_OVERRIDE 0x20000000u
#define ND_PIO_ON_LINK 0x80
#define ND_RA_HOP_LIMIT 64
/* The longest router lifetime there is (RFC 8319): no timer in the kernel
 * sends unsolicited advertisements (docs/DATAPATH.md). */
#define ND_RA_ROUTER_LIFETIME 65535
#define ND_PREFIX_LIFETIME_INFINITE 0xffffffffu
/* What the responder reads: a solicitation and its options. */
#define ND_PULL_LEN 256
/* The longest message it reads, what the pull leaves after the headers. */
#define ND_MAX_MESSAGE_LEN 200
_Static_assert(ETH_HLEN + 40 + ND_MAX_MESSAGE_LEN <= ND_PULL_LEN, "ND message pulled whole");

WEFT_INLINE int nd_is_nd_type(__u8 type)
{
	return type >= ND_ROUTER_SOLICIT && type <= ND_REDIRECT;
}

/* Neighbor solicitation and advertisement. */
struct nd_neighbor_msg {
	struct icmp6_wire h;
	struct in6_addr target;
};

struct nd_lla_option {
	__u8 type;
	__u8 len; /* in 8-byte units */
	__u8 mac[ETH_ALEN];
};

struct nd_mtu_option {
	__u8 type;
	__u8 len;
	__be16 reserved;
	__be32 mtu;
};

struct nd_prefix_option {
	__u8 type;
	__u8 len;
	__u8 prefix_len;
	__u8 flags;
	__be32 valid_lifetime;
	__be32 preferred_lifetime;
	__be32 reserved;
	__u8 prefix[16];
};

struct nd_router_advert {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	__u8 cur_hop_limit;
	__u8 flags; /* M and O: 0, nothing is configured by DHCPv6 */
	__be16 router_lifetime;
	__be32 reachable_time;
	__be32 retrans_timer;
};

struct nd_na_reply {
	struct ipv6hdr ip;
	struct nd_neighbor_msg na;
	struct nd_lla_option tlla;
};

struct nd_ra_reply {
	struct ipv6hdr ip;
	struct nd_router_advert ra;
	struct nd_lla_option slla;
	struct nd_mtu_option mtu;
	struct nd_prefix_option pio;
};

/* Does a received message's checksum hold (RFC 4443 2.3): over the
 * pseudo-header and the `len` bytes at `msg`, checksum field included, the
 * sum folds to zero? `len`: a multiple of 8 (as every ND message's is), at
 * most ND_MAX_MESSAGE_LEN. */
WEFT_INLINE int nd_checksum_ok(const struct ipv6hdr *ip, void *msg, __u32 len, void *data_end)
{
	__s64 sum = icmp6_pseudo_sum(ip, len);

	for (__u32 off = 0; off < ND_MAX_MESSAGE_LEN; off += 8) {
		__be32 *w = msg + off;

		if (off >= len)
			break;
		if ((void *)(w + 2) > data_end)
			return 0;
		sum = bpf_csum_diff(NULL, 0, w, 8, sum);
	}
	return csum_fold32(sum) == 0;
}

WEFT_INLINE void nd_ipv6_header(struct ipv6hdr *ip, __u16 payload_len)
{
	ip->version = 6;
	ip->payload_len = bpf_htons(payload_len);
	ip->nexthdr = IPPROTO_ICMPV6_;
	ip->hop_limit = ND_HOP_LIMIT;
}

/*
 * Cuts or grows the frame in `skb` to Ethernet + `len` bytes, from
 * `from_mac` to `to_mac`, zeroed after Ethernet: the reply is written
 * there, in place (on the stack it would not fit beside the calling
 * program's frame). NULL if a helper failed.
 */
WEFT_INLINE void *nd_reply_frame(struct __sk_buff *skb, __u32 len, const __u8 *from_mac,
				 const __u8 *to_mac)
{
	void *data, *data_end;
	struct ethhdr *eth;

	if (bpf_skb_change_tail(skb, ETH_HLEN + len, 0) || bpf_skb_pull_data(skb, ETH_HLEN + len))
		return NULL;
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	if (data + ETH_HLEN + len > data_end)
		return NULL;
	eth = data;
	mac_copy(eth->h_dest, to_mac);
	mac_copy(eth->h_source, from_mac);
	eth->h_proto = bpf_htons(ETH_P_IPV6);
	__builtin_memset(data + ETH_HLEN, 0, len);
	return data + ETH_HLEN;
}

/* A solicitation, copied off the packet (which the reply overwrites). */
struct nd_asked {
	struct in6_addr from;	/* the VM's address, or its link-local one */
	struct in6_addr target; /* neighbor solicitations */
};

/* What answers a solicitation for `target` on segment `vni`: the gateway
 * (*router set) or an endpoint of the segment (`local_only`: on this node);
 * NULL if nobody, as arp_lookup for ARP. */
WEFT_INLINE const __u8 *nd_lookup(const struct weft_segment *seg, __u32 vni,
				  const struct weft_segment6 *seg6, const struct in6_addr *target,
				  int local_only, int *router)
{
	struct weft_ip6_key key = { .tenant_id = seg->tenant_id };
	struct weft_mac_key mac_key = { .vni = vni };
	struct in6_addr gw_ll;
	struct weft_endpoint *ep;

	ipv6_link_local_of(&gw_ll, seg->gateway_mac);
	*router = ipv6_addr_equal(target, seg6->gateway) ||
		  ipv6_addr_equal(target, gw_ll.in6_u.u6_addr8);
	if (*router)
		return seg->gateway_mac;
	if (ipv6_link_local_mac(target, mac_key.mac)) {
		ep = bpf_map_lookup_elem(&weft_ep_by_mac, &mac_key);
	} else {
		ipv6_addr_copy(key.addr, target);
		ep = bpf_map_lookup_elem(&weft_ep_by_ip6, &key);
	}
	if (!ep || ep->vni != vni || (local_only && !ep->ifindex))
		return NULL;
	return ep->mac;
}

/* The neighbor advertisement answering `q` with `answer_mac`. */
WEFT_INLINE __u32 nd_advertise_neighbor(struct __sk_buff *skb, const struct nd_asked *q,
					const __u8 *answer_mac, int router, const __u8 *vm_mac)
{
	struct nd_na_reply *r = nd_reply_frame(skb, sizeof(*r), answer_mac, vm_mac);

	if (!r)
		return WEFT_DROP_HELPER_FAILED;
	nd_ipv6_header(&r->ip, sizeof(*r) - sizeof(r->ip));
	r->ip.saddr = q->target;
	r->ip.daddr = q->from;
	r->na.h.type = ND_NEIGHBOR_ADVERT;
	r->na.h.data = bpf_htonl((router ? ND_NA_ROUTER : 0) | ND_NA_SOLICITED | ND_NA_OVERRIDE);
	r->na.target = q->target;
	r->tlla.type = ND_OPT_TARGET_LLA;
	r->tlla.len = 1;
	mac_copy(r->tlla.mac, answer_mac);
	r->na.h.checksum = icmp6_csum(&r->ip, &r->na, sizeof(*r) - sizeof(r->ip));
	return WEFT_ND_REPLY;
}

/* The router advertisement answering a solicitation from `to` (the
 * all-nodes address when that is ::), from the gateway's link-local. */
WEFT_INLINE __u32 nd_advertise_router(struct __sk_buff *skb, const struct in6_addr *to,
				      const struct weft_segment *seg,
				      const struct weft_segment6 *seg6, const __u8 *vm_mac)
{
	const struct weft_config *cfg = config_get();
	struct nd_ra_reply *r;

	if (!cfg)
		return WEFT_DROP_NO_CONFIG;
	r = nd_reply_frame(skb, sizeof(*r), seg->gateway_mac, vm_mac);
	if (!r)
		return WEFT_DROP_HELPER_FAILED;
	nd_ipv6_header(&r->ip, sizeof(*r) - sizeof(r->ip));
	ipv6_link_local_of(&r->ip.saddr, seg->gateway_mac);
	if (ipv6_addr_is_unspecified(to)) { /* ff02::1, all nodes */
		r->ip.daddr.in6_u.u6_addr32[0] = bpf_htonl(0xff020000);
		r->ip.daddr.in6_u.u6_addr32[3] = bpf_htonl(1);
	} else {
		r->ip.daddr = *to;
	}
	r->ra.type = ND_ROUTER_ADVERT;
	r->ra.cur_hop_limit = ND_RA_HOP_LIMIT;
	r->ra.router_lifetime = bpf_htons(ND_RA_ROUTER_LIFETIME);
	r->slla.type = ND_OPT_SOURCE_LLA;
	r->slla.len = 1;
	mac_copy(r->slla.mac, seg->gateway_mac);
	r->mtu.type = ND_OPT_MTU;
	r->mtu.len = 1;
	r->mtu.mtu = bpf_htonl(overlay_mtu6(cfg));
	r->pio.type = ND_OPT_PREFIX_INFO;
	r->pio.len = sizeof(r->pio) / 8;
	r->pio.prefix_len = 64;
	r->pio.flags = ND_PIO_ON_LINK;
	r->pio.valid_lifetime = bpf_htonl(ND_PREFIX_LIFETIME_INFINITE);
	r->pio.preferred_lifetime = bpf_htonl(ND_PREFIX_LIFETIME_INFINITE);
	__builtin_memcpy(r->pio.prefix, seg6->prefix, sizeof(seg6->prefix));
	r->ra.checksum = icmp6_csum(&r->ip, &r->ra, sizeof(*r) - sizeof(r->ip));
	return WEFT_ND_REPLY;
}

/*
 * The options after a message's fixed part, `off` bytes into the ICMPv6
 * message of `len` bytes at `icmp`: a link-layer address option must carry
 * `vm_mac` (*has_slla set for a source one); a zero-length option, one
 * past the message, or more than ND_MAX_OPTIONS make it invalid.
 */
WEFT_INLINE __u32 nd_check_options(void *icmp, __u32 off, __u32 len, void *data_end,
				   const __u8 *vm_mac, int *has_slla)
{
	struct nd_lla_option *o;

#pragma unroll
	for (int i = 0; i < ND_MAX_OPTIONS; i++) {
		if (off >= len)
			return 0;
		if (off > ND_PULL_LEN)
			return WEFT_DROP_ND_INVALID;
		o = icmp + off;
		if ((void *)(o + 1) > data_end || o->len == 0 || off + o->len * 8 > len)
			return WEFT_DROP_ND_INVALID;
		if (o->type == ND_OPT_SOURCE_LLA || o->type == ND_OPT_TARGET_LLA) {
			if (o->len != 1 || !mac_equal(o->mac, vm_mac))
				return WEFT_DROP_SPOOFED;
			*has_slla |= o->type == ND_OPT_SOURCE_LLA;
		}
		off += o->len * 8;
	}
	return off >= len ? 0 : WEFT_DROP_ND_INVALID;
}

/* Is `addr` the `ip6` of `self`, the endpoint bound to this port? */
WEFT_INLINE int endpoint_owns_ip6(const struct weft_endpoint *self, const struct in6_addr *addr)
{
	struct weft_ip6_key key = { .tenant_id = self->tenant_id };
	struct weft_endpoint *ep;

	ipv6_addr_copy(key.addr, addr);
	ep = bpf_map_lookup_elem(&weft_ep_by_ip6, &key);
	return ep && ep->ifindex == self->ifindex;
}

/*
 * May `from` send ND from `self`'s port: its address, or any link-local one
 * (*unspecified set for ::, which only probes send)? Not only the EUI-64
 * one: a VM may make its link-local address otherwise (RFC 7217, the
 * default of NetworkManager), and an ND answer goes back to the asking port
 * only, so no other VM learns anything from it.
 */
WEFT_INLINE int nd_source_ok(const struct weft_endpoint *self, const struct in6_addr *from,
			     int *unspecified)
{
	*unspecified = ipv6_addr_is_unspecified(from);
	return *unspecified || ipv6_addr_is_link_local(from) || endpoint_owns_ip6(self, from);
}

/*
 * The ND message from the VM bound as `self` (ICMPv6 right after the
 * fixed header, of an ND type). Returns the reason; on WEFT_ND_REPLY the
 * answer is in `skb`, to go back out of the port.
 */
static __attribute__((noinline, unused)) __u32
nd_answer(struct __sk_buff *skb, const struct weft_endpoint *self, const struct weft_segment *seg)
{
	const struct weft_segment6 *seg6;
	struct nd_neighbor_msg *ns;
	struct nd_asked q = {};
	struct ipv6hdr *ip6;
	void *data, *data_end;
	const __u8 *answer;
	__u32 len, fixed, reason;
	int has_slla = 0, unspecified, router;
	__u8 type;

	bpf_skb_pull_data(skb, skb->len < ND_PULL_LEN ? skb->len : ND_PULL_LEN);
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	ip6 = data + ETH_HLEN;
	ns = (void *)(ip6 + 1);
	if ((void *)&ns->target > data_end)
		return WEFT_DROP_TRUNCATED;
	type = ns->h.type;
	len = bpf_ntohs(ip6->payload_len);
	fixed = type == ND_NEIGHBOR_SOLICIT || type == ND_NEIGHBOR_ADVERT ? sizeof(*ns)
		: type == ND_ROUTER_ADVERT ? sizeof(struct nd_router_advert)
					   : sizeof(struct icmp6_wire);
	if (ip6->hop_limit != ND_HOP_LIMIT || ns->h.code != 0 || len < fixed || len % 8 ||
	    len > ND_MAX_MESSAGE_LEN || !nd_checksum_ok(ip6, ns, len, data_end))
		return WEFT_DROP_ND_INVALID;
	if (!nd_source_ok(self, &ip6->saddr, &unspecified))
		return WEFT_DROP_SPOOFED;
	reason = nd_check_options(ns, fixed, len, data_end, self->mac, &has_slla);
	if (reason)
		return reason;
	/* RFC 4861 6.1.1, 7.1.1: no link-layer address from :: */
	if (unspecified && has_slla)
		return WEFT_DROP_ND_INVALID;
	seg6 = bpf_map_lookup_elem(&weft_segments6, &self->vni);
	if (!seg6)
		return WEFT_DROP_ND_UNANSWERED;

	q.from = ip6->saddr;
	if (type == ND_ROUTER_SOLICIT)
		return nd_advertise_router(skb, &q.from, seg, seg6, self->mac);
	if (type != ND_NEIGHBOR_SOLICIT)
		return WEFT_DROP_ND_UNANSWERED;
	if ((void *)(ns + 1) > data_end)
		return WEFT_DROP_TRUNCATED;
	if (unspecified)
		return WEFT_ND_DAD;
	q.target = ns->target;
	answer = nd_lookup(seg, self->vni, seg6, &q.target, 0, &router);
	if (!answer)
		return WEFT_DROP_ND_UNANSWERED;
	return nd_advertise_neighbor(skb, &q, answer, router, self->mac);
}

#endif
