/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Connection tracking (docs/ARCHITECTURE.md §4): keyed by tenant and the
 * flow's normalised 5-tuple, so that both directions of a flow find one
 * entry and identical tuples of two tenants are two flows. Two LRU tables
 * per node (abi.h): a flow starts in weft_ct_pending and moves to weft_ct
 * once confirmed (established, both directions seen). A flood of new flows
 * then evicts only other unconfirmed flows, never an established one, and
 * an established flow's packet still costs one lookup.
 * This header knows tuples, entries, timeouts, the TCP state machine and
 * the two tables; what to do on a hit or a miss is lib/firewall.h's business.
 */
#ifndef WEFT_BPF_CONNTRACK_H
#define WEFT_BPF_CONNTRACK_H

#include "lib/ipv6.h"
#include "lib/maps.h"

#define TCP_FL_FIN 0x01
#define TCP_FL_SYN 0x02
#define TCP_FL_RST 0x04
#define TCP_FL_ACK 0x10

#define ICMP_ECHO_REPLY 0
#define ICMP_ECHO_REQUEST 8

/* Built-in timeouts (seconds) for a config the agent left at zero. */
#define CT_DEFAULT_TCP_SYN 30
#define CT_DEFAULT_TCP_ESTABLISHED 3600
#define CT_DEFAULT_TCP_CLOSING 30
#define CT_DEFAULT_UDP 60
#define CT_DEFAULT_ICMP 30

#define NSEC_PER_SEC 1000000000ull

/* A flow as one packet sees it: source is that packet's sender. ICMP echo
 * carries its identifier in both ports. One layout per family; both start
 * with the same head, which is all the state machine reads. */
#define CT_TUPLE_HEAD    \
	__u32 tenant_id; \
	__be16 sport_be; \
	__be16 dport_be; \
	__u8 protocol;   \
	__u8 pad0[3]

struct ct_head {
	CT_TUPLE_HEAD;
};

struct ct_tuple {
	CT_TUPLE_HEAD;
	__be32 saddr_be;
	__be32 daddr_be;
};

struct ct_tuple6 {
	CT_TUPLE_HEAD;
	__u8 saddr[16];
	__u8 daddr[16];
};

WEFT_INLINE void ct_stat_inc(__u32 stat)
{
	__u64 *c = bpf_map_lookup_elem(&weft_ct_stats, &stat);

	if (c)
		(*c)++;
}

/* The normalised key: lower (address, port) first. Returns 1 when the
 * tuple's source is that lower side. */
WEFT_INLINE int ct_key_from_tuple(const struct ct_tuple *t, struct weft_ct_key *k)
{
	__u32 s = bpf_ntohl(t->saddr_be), d = bpf_ntohl(t->daddr_be);
	int src_lo = s < d || (s == d && bpf_ntohs(t->sport_be) <= bpf_ntohs(t->dport_be));

	k->tenant_id = t->tenant_id;
	k->protocol = t->protocol;
	k->pad0[0] = k->pad0[1] = k->pad0[2] = 0;
	if (src_lo) {
		k->addr_lo_be = t->saddr_be;
		k->port_lo_be = t->sport_be;
		k->addr_hi_be = t->daddr_be;
		k->port_hi_be = t->dport_be;
	} else {
		k->addr_lo_be = t->daddr_be;
		k->port_lo_be = t->dport_be;
		k->addr_hi_be = t->saddr_be;
		k->port_hi_be = t->sport_be;
	}
	return src_lo;
}

/* IPv6 addresses compared as numbers: 1 when a < b, -1 when a > b, 0 equal. */
WEFT_INLINE int ct_addr_order(const __u8 *a, const __u8 *b)
{
	const __u32 *x = (const __u32 *)a, *y = (const __u32 *)b;

#pragma unroll
	for (int i = 0; i < 4; i++)
		if (x[i] != y[i])
			return bpf_ntohl(x[i]) < bpf_ntohl(y[i]) ? 1 : -1;
	return 0;
}

WEFT_INLINE int ct_key6_from_tuple(const struct ct_tuple6 *t, struct weft_ct6_key *k)
{
	int order = ct_addr_order(t->saddr, t->daddr);
	int src_lo = order > 0 || (order == 0 && bpf_ntohs(t->sport_be) <= bpf_ntohs(t->dport_be));

	k->tenant_id = t->tenant_id;
	k->protocol = t->protocol;
	k->pad0[0] = k->pad0[1] = k->pad0[2] = 0;
	if (src_lo) {
		ipv6_addr_copy(k->addr_lo, t->saddr);
		ipv6_addr_copy(k->addr_hi, t->daddr);
		k->port_lo_be = t->sport_be;
		k->port_hi_be = t->dport_be;
	} else {
		ipv6_addr_copy(k->addr_lo, t->daddr);
		ipv6_addr_copy(k->addr_hi, t->saddr);
		k->port_lo_be = t->dport_be;
		k->port_hi_be = t->sport_be;
	}
	return src_lo;
}

/* The flow as its initiator sent it. */
WEFT_INLINE void ct_orig_tuple(const struct weft_ct_key *k, const struct weft_ct_entry *e,
			       struct ct_tuple *t)
{
	t->tenant_id = k->tenant_id;
	t->protocol = k->protocol;
	t->pad0[0] = t->pad0[1] = t->pad0[2] = 0;
	if (e->flags & WEFT_CT_F_ORIG_IS_LO) {
		t->saddr_be = k->addr_lo_be;
		t->sport_be = k->port_lo_be;
		t->daddr_be = k->addr_hi_be;
		t->dport_be = k->port_hi_be;
	} else {
		t->saddr_be = k->addr_hi_be;
		t->sport_be = k->port_hi_be;
		t->daddr_be = k->addr_lo_be;
		t->dport_be = k->port_lo_be;
	}
}

WEFT_INLINE void ct_orig_tuple6(const struct weft_ct6_key *k, const struct weft_ct_entry *e,
				struct ct_tuple6 *t)
{
	int lo = e->flags & WEFT_CT_F_ORIG_IS_LO;

	t->tenant_id = k->tenant_id;
	t->protocol = k->protocol;
	t->pad0[0] = t->pad0[1] = t->pad0[2] = 0;
	ipv6_addr_copy(t->saddr, lo ? k->addr_lo : k->addr_hi);
	ipv6_addr_copy(t->daddr, lo ? k->addr_hi : k->addr_lo);
	t->sport_be = lo ? k->port_lo_be : k->port_hi_be;
	t->dport_be = lo ? k->port_hi_be : k->port_lo_be;
}

/* 0: the packet goes initiator -> responder; 1: a reply. */
WEFT_INLINE int ct_packet_dir(const struct weft_ct_entry *e, int src_lo)
{
	return !(e->flags & WEFT_CT_F_ORIG_IS_LO) == !!src_lo;
}

WEFT_INLINE __u32 ct_or_default(__u32 configured, __u32 fallback)
{
	return configured ? configured : fallback;
}

/* Seconds an entry of `protocol` in its state may stay idle. */
WEFT_INLINE __u64 ct_timeout_ns(__u8 protocol, const struct weft_ct_entry *e)
{
	const struct weft_config *cfg = config_get();
	struct weft_ct_timeouts none = {};
	const struct weft_ct_timeouts *to = cfg ? &cfg->ct : &none;
	__u32 s;

	switch (protocol) {
	case IPPROTO_TCP:
		switch (e->state) {
		case WEFT_CT_SYN_SENT:
		case WEFT_CT_SYN_RECV:
			s = ct_or_default(to->tcp_syn, CT_DEFAULT_TCP_SYN);
			break;
		case WEFT_CT_ESTABLISHED:
			s = ct_or_default(to->tcp_established, CT_DEFAULT_TCP_ESTABLISHED);
			break;
		default:
			s = ct_or_default(to->tcp_closing, CT_DEFAULT_TCP_CLOSING);
		}
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6_:
		s = ct_or_default(to->icmp, CT_DEFAULT_ICMP);
		break;
	default:
		s = ct_or_default(to->udp, CT_DEFAULT_UDP);
	}
	return s * NSEC_PER_SEC;
}

WEFT_INLINE int ct_expired(__u8 protocol, const struct weft_ct_entry *e, __u64 now)
{
	return now > e->last_seen_ns && now - e->last_seen_ns > ct_timeout_ns(protocol, e);
}

/* Flag combinations no TCP state accepts: SYN+FIN, SYN+RST, and none of
 * SYN/ACK/RST/FIN (a null scan). */
WEFT_INLINE int ct_tcp_flags_invalid(__u8 fl)
{
	if ((fl & TCP_FL_SYN) && (fl & (TCP_FL_FIN | TCP_FL_RST)))
		return 1;
	return !(fl & (TCP_FL_SYN | TCP_FL_ACK | TCP_FL_RST | TCP_FL_FIN));
}

/* A SYN that opens a connection (no ACK). */
WEFT_INLINE int ct_tcp_is_open(__u8 fl)
{
	return (fl & (TCP_FL_SYN | TCP_FL_ACK)) == TCP_FL_SYN;
}

/* The handshake and teardown, for a packet in direction `dir` of `e`. */
WEFT_INLINE void ct_tcp_update(struct weft_ct_entry *e, int dir, __u8 fl)
{
	__u8 fin = dir ? WEFT_CT_F_FIN_REPLY : WEFT_CT_F_FIN_ORIG;

	if (fl & TCP_FL_RST) {
		e->state = WEFT_CT_CLOSING;
		return;
	}
	if (fl & TCP_FL_FIN) {
		e->flags |= fin;
		if ((e->flags & (WEFT_CT_F_FIN_ORIG | WEFT_CT_F_FIN_REPLY)) ==
		    (WEFT_CT_F_FIN_ORIG | WEFT_CT_F_FIN_REPLY))
			e->state = WEFT_CT_CLOSING;
		else if (e->state < WEFT_CT_FIN_WAIT)
			e->state = WEFT_CT_FIN_WAIT;
		return;
	}
	switch (e->state) {
	case WEFT_CT_SYN_SENT:
		if (dir && (fl & (TCP_FL_SYN | TCP_FL_ACK)) == (TCP_FL_SYN | TCP_FL_ACK))
			e->state = WEFT_CT_SYN_RECV;
		break;
	case WEFT_CT_SYN_RECV:
		if (!dir && (fl & (TCP_FL_SYN | TCP_FL_ACK)) == TCP_FL_ACK)
			e->state = WEFT_CT_ESTABLISHED;
		break;
	}
}

/* Counts the packet in its direction and refreshes the entry. */
WEFT_INLINE void ct_account(struct weft_ct_entry *e, int dir, __u32 bytes, __u64 now)
{
	if (dir) {
		__sync_fetch_and_add(&e->packets[1], 1);
		__sync_fetch_and_add(&e->bytes[1], bytes);
	} else {
		__sync_fetch_and_add(&e->packets[0], 1);
		__sync_fetch_and_add(&e->bytes[0], bytes);
	}
	e->last_seen_ns = now;
}

/* The table an entry lives in. `v6` is a constant wherever this is inlined
 * (lib/firewall.h): each family's code names its own tables only. */
WEFT_INLINE void *ct_table(int pending, const int v6)
{
	if (v6)
		return pending ? (void *)&weft_ct6_pend : (void *)&weft_ct6;
	return pending ? (void *)&weft_ct_pending : (void *)&weft_ct;
}

/* The flow's entry (key: the family's), confirmed ones first (the common
 * case: one lookup); *pending says which table it came from. */
WEFT_INLINE struct weft_ct_entry *ct_lookup(const void *key, int *pending, const int v6)
{
	struct weft_ct_entry *e = bpf_map_lookup_elem(ct_table(0, v6), key);

	*pending = !e;
	if (e)
		return e;
	return bpf_map_lookup_elem(ct_table(1, v6), key);
}

/* Established and seen both ways: the flow has earned its place in weft_ct. */
WEFT_INLINE int ct_confirmed(const struct weft_ct_entry *e)
{
	return e->state == WEFT_CT_ESTABLISHED && e->packets[0] && e->packets[1];
}

/* Moves a pending entry that the packet just confirmed to the confirmed
 * table. When that has no room the entry stays pending (and keeps working
 * there). */
WEFT_INLINE void ct_confirm(const void *key, const struct weft_ct_entry *e, const int v6)
{
	if (bpf_map_update_elem(ct_table(0, v6), key, e, BPF_ANY)) {
		ct_stat_inc(WEFT_CT_STAT_INSERT_FAILED);
		return;
	}
	bpf_map_delete_elem(ct_table(1, v6), key);
	ct_stat_inc(WEFT_CT_STAT_CONFIRMED);
}

/* The live entry of the flow an ICMP error quotes (a tuple of the family),
 * or NULL. `key` is room for the family's key. */
WEFT_INLINE struct weft_ct_entry *ct_lookup_related(const void *quoted, void *key, __u64 now,
						    const int v6)
{
	struct weft_ct_entry *e;
	int pending;

	if (v6)
		ct_key6_from_tuple(quoted, key);
	else
		ct_key_from_tuple(quoted, key);
	e = ct_lookup(key, &pending, v6);
	if (!e || ct_expired(((const struct ct_head *)quoted)->protocol, e, now))
		return NULL;
	return e;
}

#endif
