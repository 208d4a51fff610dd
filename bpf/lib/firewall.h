/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The distributed firewall at one enforcement point (docs/ARCHITECTURE.md §4): a
 * conntrack hit passes (after the revocation re-check and the TCP state
 * update); a miss classifies the flow against the policy of the local
 * ends (egress of a local source, ingress of a local destination; deny
 * wins) and records it. Established flows never touch the rule set.
 *
 * The hook parses the packet into a struct fw_flow (fw_parse, direct packet
 * access, XDP or TC alike) and calls fw_conntrack, a global function that
 * sees only the flow and the maps; a WEFT_REJECT answer leaves the reply
 * (lib/reject.h) to the hook, which knows how to send it. IPv6 has the same
 * pair (struct fw_flow6, fw_parse6, fw_conntrack6): one implementation of
 * everything below, inlined once per family with the family a constant,
 * so each global function holds its own family's code only and an IPv4
 * packet never runs an IPv6 step.
 *
 * A traced packet (f->trace, weftctl trace) changes nothing: conntrack is
 * only read (a hit works on a copy of the entry), no entry is created or
 * removed, no counter bumped, no event emitted; what decided goes to
 * weft_trace instead.
 */
#ifndef WEFT_BPF_FIREWALL_H
#define WEFT_BPF_FIREWALL_H

#include "lib/conntrack.h"
#include "lib/icmp.h"
#include "lib/icmp6.h"
#include "lib/parse.h"
#include "lib/policy.h"

/* Enough of the linear packet for Ethernet, IPv4 and an ICMP error quoting
 * an IPv4 header and 8 bytes of its payload. */
#define FW_PULL_LEN (ETH_HLEN + sizeof(struct iphdr) + 8 + sizeof(struct iphdr) + 8)
/* What fw_parse6 reads past the extension headers: an ICMPv6 error quoting
 * an IPv6 header and 8 bytes of its payload. */
#define FW_PULL_LEN6_L4 (sizeof(struct icmp6_wire) + sizeof(struct ipv6hdr) + 8)

#define ICMP6_ECHO_REQUEST 128
#define ICMP6_ECHO_REPLY 129

/* What a flow's packet says besides its addresses: both families. */
struct fw_meta {
	__u32 bytes;   /* IP length, header included (per-entry byte counters) */
	__u32 ifindex; /* the local endpoint's interface (events) */
	__u8 checks;   /* WEFT_CT_F_EGRESS | WEFT_CT_F_INGRESS: local ends */
	__u8 tcp_flags;
	__u8 icmp_type;
	__u8 icmp_code;
	__u8 icmp_error; /* an ICMP(v6) error message */
	__u8 quoted_ok;	 /* ... whose quoted flow is in `quoted` */
	__u8 trace;	 /* a trace run: read-only (see above) */
	__u8 pad0;
};

struct fw_flow {
	struct fw_meta m;
	struct ct_tuple t;
	struct ct_tuple quoted;
};

struct fw_flow6 {
	struct fw_meta m;
	struct ct_tuple6 t;
	struct ct_tuple6 quoted;
};

/* What the firewall keeps in weft_scratch (this CPU's) because the stack
 * has no room for it beside a hook's frame: an IPv6 flow and what its
 * judgement works on, and the entry a new flow of either family gets. */
struct fw_scratch {
	struct fw_flow6 flow6;
	struct weft_ct6_key key6;
	struct ct_tuple6 other6;
	struct pol_query6 query6;
	struct weft_ct_entry entry;
};
_Static_assert(sizeof(struct fw_scratch) <= sizeof(struct weft_scratch), "weft_scratch holds it");

WEFT_INLINE struct fw_scratch *fw_scratch_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&weft_scratch, &zero);
}

/* The scratch with its IPv6 flow zeroed, for fw_parse6 and fw_conntrack6
 * (NULL: no scratch). */
WEFT_INLINE struct fw_scratch *fw_scratch_for6(void)
{
	struct fw_scratch *s = fw_scratch_get();

	if (s)
		__builtin_memset(&s->flow6, 0, sizeof(s->flow6));
	return s;
}

WEFT_INLINE int fw_is_echo(__u8 protocol, __u8 type)
{
	if (protocol == IPPROTO_ICMPV6_)
		return type == ICMP6_ECHO_REQUEST || type == ICMP6_ECHO_REPLY;
	return protocol == IPPROTO_ICMP && (type == ICMP_ECHO_REQUEST || type == ICMP_ECHO_REPLY);
}

WEFT_INLINE int fw_is_echo_request(__u8 protocol, __u8 type)
{
	return type == (protocol == IPPROTO_ICMPV6_ ? ICMP6_ECHO_REQUEST : ICMP_ECHO_REQUEST);
}

/* The ports (ICMP echo: identifier twice) of a quoted L4 header at `l4`. */
WEFT_INLINE int fw_parse_ports(struct ct_head *t, void *l4, void *end)
{
	struct icmp_wire *icmp;
	__be16 *ports;

	switch (t->protocol) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
		ports = l4;
		if ((void *)(ports + 2) > end)
			return -1;
		t->sport_be = ports[0];
		t->dport_be = ports[1];
		return 0;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6_:
		icmp = l4;
		if ((void *)(icmp + 1) > end)
			return -1;
		if (fw_is_echo(t->protocol, icmp->type))
			t->sport_be = t->dport_be = icmp->un.echo.id;
		return 0;
	}
	return 0;
}

/*
 * The L4 part of both families' parsing: `l4` is the header of `protocol`.
 * Returns 0 or a drop reason. *quote is where an ICMP(v6) error's quoted
 * header starts, for the family's parser to read; NULL for anything else.
 */
WEFT_INLINE __u32 fw_parse_l4(struct fw_meta *m, struct ct_head *t, void *l4, void *end,
			      void **quote)
{
	struct icmp_wire *icmp = l4;
	struct tcphdr *tcp = l4;
	struct udphdr *udp = l4;

	*quote = NULL;
	switch (t->protocol) {
	case IPPROTO_TCP:
		if ((void *)(tcp + 1) > end)
			return WEFT_DROP_TRUNCATED;
		t->sport_be = tcp->source;
		t->dport_be = tcp->dest;
		m->tcp_flags = ((__u8 *)tcp)[13];
		return 0;
	case IPPROTO_UDP:
		if ((void *)(udp + 1) > end)
			return WEFT_DROP_TRUNCATED;
		t->sport_be = udp->source;
		t->dport_be = udp->dest;
		return 0;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6_:
		if ((void *)(icmp + 1) > end)
			return WEFT_DROP_TRUNCATED;
		m->icmp_type = icmp->type;
		m->icmp_code = icmp->code;
		m->icmp_error = t->protocol == IPPROTO_ICMP ? icmp_type_is_error(icmp->type)
							    : icmp->type < ICMP6_INFO_TYPES;
		if (fw_is_echo(t->protocol, icmp->type))
			t->sport_be = t->dport_be = icmp->un.echo.id;
		if (m->icmp_error)
			*quote = icmp + 1;
		return 0;
	}
	return 0;
}

/*
 * Fills `f` from the IPv4 packet at `ip` (IHL 5, not a fragment: callers
 * checked). tenant_id, ifindex and checks are the hook's to set. Returns 0
 * or a drop reason.
 */
WEFT_INLINE __u32 fw_parse(struct fw_flow *f, struct iphdr *ip, void *end)
{
	struct iphdr *q;
	void *quote;
	__u32 r;

	f->t.saddr_be = ip->saddr;
	f->t.daddr_be = ip->daddr;
	f->t.protocol = ip->protocol;
	f->m.bytes = bpf_ntohs(ip->tot_len);
	r = fw_parse_l4(&f->m, (struct ct_head *)&f->t, ip + 1, end, &quote);
	if (r || !quote)
		return r;
	/* The quoted header and 8 bytes: the flow it is about. */
	q = quote;
	if ((void *)(q + 1) > end || q->ihl != 5 || q->version != 4)
		return 0;
	f->quoted.saddr_be = q->saddr;
	f->quoted.daddr_be = q->daddr;
	f->quoted.protocol = q->protocol;
	f->m.quoted_ok = !fw_parse_ports((struct ct_head *)&f->quoted, q + 1, end);
	return 0;
}

/*
 * Fills `f` from the IPv6 packet at `ip6`, whose extension headers the
 * caller walked: `l4` is the header of `proto`. A quoted packet's flow is
 * read when its L4 header follows the fixed header (no extension headers).
 */
WEFT_INLINE __u32 fw_parse6(struct fw_flow6 *f, struct ipv6hdr *ip6, void *l4, __u8 proto,
			    void *end)
{
	struct ipv6hdr *q;
	void *quote;
	__u32 r;

	ipv6_addr_copy(f->t.saddr, &ip6->saddr);
	ipv6_addr_copy(f->t.daddr, &ip6->daddr);
	f->t.protocol = proto;
	f->m.bytes = bpf_ntohs(ip6->payload_len) + sizeof(*ip6);
	r = fw_parse_l4(&f->m, (struct ct_head *)&f->t, l4, end, &quote);
	if (r || !quote)
		return r;
	/* The ICMPv6 header's last 4 bytes (unused, MTU, pointer) are in
	 * icmp_wire's echo part: the quote follows them. */
	q = quote;
	if ((void *)(q + 1) > end || q->version != 6)
		return 0;
	ipv6_addr_copy(f->quoted.saddr, &q->saddr);
	ipv6_addr_copy(f->quoted.daddr, &q->daddr);
	f->quoted.protocol = q->nexthdr;
	f->m.quoted_ok = !fw_parse_ports((struct ct_head *)&f->quoted, q + 1, end);
	return 0;
}

/* The port the policy sees: destination port, or ICMP type << 8 | code
 * (ICMPv6: none, lib/policy.h). */
WEFT_INLINE __u16 fw_policy_port(const struct ct_head *t, __u8 icmp_type, __u8 icmp_code)
{
	if (t->protocol == IPPROTO_ICMP)
		return (__u16)icmp_type << 8 | icmp_code;
	if (t->protocol == IPPROTO_TCP || t->protocol == IPPROTO_UDP)
		return bpf_ntohs(t->dport_be);
	return 0;
}

/* One judgement of a flow (initiator = t's source) at the local ends in
 * `checks`: the combined action (deny > reject > allow) and per direction
 * what the classification said. */
struct fw_decision {
	__u32 action;
	__u32 rule_index; /* the egress rule when egress was judged */
	__u64 verdict[2]; /* POL_PACK per direction; 0 when not judged */
};

WEFT_INLINE __u32 fw_combine(__u32 acc, __u32 action)
{
	if (acc == WEFT_ACTION_DENY ||
	    (action != WEFT_ACTION_ALLOW && action != WEFT_ACTION_REJECT))
		return WEFT_ACTION_DENY;
	if (action == WEFT_ACTION_REJECT)
		return WEFT_ACTION_REJECT;
	return acc;
}

/* One direction's rule set: `q` (the family's query, its head filled)
 * asked about the local end of `t` in `dir`. */
WEFT_INLINE void fw_judge_dir(void *q, const void *t, __u32 dir, struct fw_decision *d,
			      const int v6)
{
	const struct ct_tuple6 *t6 = t;
	const struct ct_tuple *t4 = t;
	struct pol_query6 *q6 = q;
	struct pol_query *q4 = q;
	__u64 v;

	((struct pol_head *)q)->direction = dir;
	if (v6) {
		pol_query6_keys(q6, dir == WEFT_DIR_INGRESS ? t6->daddr : t6->saddr,
				dir == WEFT_DIR_INGRESS ? t6->saddr : t6->daddr);
		v = pol_classify6(q6);
	} else {
		q4->local_be = dir == WEFT_DIR_INGRESS ? t4->daddr_be : t4->saddr_be;
		q4->peer_be = dir == WEFT_DIR_INGRESS ? t4->saddr_be : t4->daddr_be;
		v = pol_classify(q4);
	}
	d->verdict[dir] = v | (1ull << 48);
	d->action = fw_combine(d->action, POL_ACTION(v));
	d->rule_index = POL_RULE(v);
}

/* The family's storage for what a judgement works on (struct fw_work). */
struct fw_work {
	void *key;   /* struct weft_ct_key or weft_ct6_key */
	void *other; /* a tuple of the family: original or reversed flow */
	void *query; /* struct pol_query or pol_query6 */
};

WEFT_INLINE void fw_judge(const struct fw_work *w, const void *t, __u8 checks, __u32 slot,
			  __u16 port, struct fw_decision *d, const int v6)
{
	const struct ct_head *h = t;
	struct pol_head *q = w->query;

	q->slot = slot;
	q->tenant_id = h->tenant_id;
	q->protocol = h->protocol;
	q->port = port;
	d->action = WEFT_ACTION_ALLOW;
	d->rule_index = WEFT_RULE_NONE;
	d->verdict[0] = d->verdict[1] = 0;
	if (checks & WEFT_CT_F_INGRESS)
		fw_judge_dir(q, t, WEFT_DIR_INGRESS, d, v6);
	if (checks & WEFT_CT_F_EGRESS)
		fw_judge_dir(q, t, WEFT_DIR_EGRESS, d, v6);
}

WEFT_INLINE __u32 fw_action_reason(__u32 action)
{
	if (action == WEFT_ACTION_ALLOW)
		return 0;
	return action == WEFT_ACTION_REJECT ? WEFT_REJECT : WEFT_DROP_POLICY;
}

WEFT_INLINE void fw_stat(const struct fw_meta *m, __u32 stat)
{
	if (!m->trace)
		ct_stat_inc(stat);
}

WEFT_INLINE void fw_ct_delete(const struct fw_meta *m, int pending, const void *key, const int v6)
{
	if (!m->trace)
		bpf_map_delete_elem(ct_table(pending, v6), key);
}

/* Trace: what conntrack did, and the entry that passed the packet. */
WEFT_INLINE void fw_trace_ct(const struct fw_meta *m, __u8 ct, const struct weft_ct_entry *e)
{
	struct weft_trace_result *tr = trace_get(m->trace);

	if (!tr)
		return;
	tr->ct = ct;
	if (e) {
		tr->ct_state = e->state;
		tr->rule_index = e->rule_index;
		tr->policy_generation = e->policy_generation;
	}
}

/* Trace: the policy judged the flow. The deciding rule is the one of the
 * direction whose action is the combined one (egress first). */
WEFT_INLINE void fw_trace_judged(const struct fw_meta *m, __u8 ct, const struct fw_decision *d,
				 __u32 generation)
{
	struct weft_trace_result *tr = trace_get(m->trace);
	__u64 v;

	if (!tr)
		return;
	tr->ct = ct;
	tr->flags |= WEFT_TRACE_F_JUDGED;
	tr->action = d->action;
	tr->policy_generation = generation;
	tr->rule_index = d->rule_index;
	v = d->verdict[WEFT_DIR_INGRESS];
	tr->direction = v ? WEFT_DIR_INGRESS : WEFT_DIR_EGRESS;
	if (v && POL_ACTION(v) == d->action)
		tr->rule_index = POL_RULE(v);
	v = d->verdict[WEFT_DIR_EGRESS];
	if (v && (POL_ACTION(v) == d->action || !d->verdict[WEFT_DIR_INGRESS])) {
		tr->rule_index = POL_RULE(v);
		tr->direction = WEFT_DIR_EGRESS;
	}
}

/* A WEFT_EVENT_RULE_HIT for each judged direction whose rule logs; an
 * IPv6 flow's is a struct weft_event6. */
WEFT_INLINE void fw_log(const struct fw_meta *m, const void *tuple, const struct fw_decision *d,
			__u32 generation, const int v6)
{
	const struct ct_tuple6 *t6 = tuple;
	const struct ct_tuple *t = tuple;

	if (m->trace)
		return;
#pragma unroll
	for (int dir = 0; dir < 2; dir++) {
		__u64 v = d->verdict[dir];
		struct weft_event6 *ev6;
		struct weft_event *ev;

		if (!v || !(POL_FLAGS(v) & WEFT_RULE_F_LOG))
			continue;
		ev = bpf_ringbuf_reserve(&weft_events, v6 ? sizeof(*ev6) : sizeof(*ev), 0);
		if (!ev)
			return;
		ev->flags = 0;
		if (v6) {
			ev6 = (void *)ev;
			ipv6_addr_copy(ev6->saddr, t6->saddr);
			ipv6_addr_copy(ev6->daddr, t6->daddr);
			ev->flags = WEFT_EVENT_F_IPV6;
		}
		ev->timestamp_ns = bpf_ktime_get_ns();
		ev->type = WEFT_EVENT_RULE_HIT;
		ev->reason = fw_action_reason(POL_ACTION(v));
		ev->tenant_id = t->tenant_id;
		ev->rule_index = POL_RULE(v);
		ev->ifindex = m->ifindex;
		ev->saddr_be = v6 ? 0 : t->saddr_be;
		ev->daddr_be = v6 ? 0 : t->daddr_be;
		ev->sport_be = t->sport_be;
		ev->dport_be = t->dport_be;
		ev->protocol = t->protocol;
		ev->direction = dir;
		ev->action = POL_ACTION(v);
		ev->policy_generation = generation;
		bpf_ringbuf_submit(ev, 0);
	}
}

/* The flow the other way round (tuples of the family). */
WEFT_INLINE void fw_swap_tuple(const void *in, void *out, const int v6)
{
	const struct ct_head *h = in;
	struct ct_head *o = out;

	if (v6) {
		ipv6_addr_copy(((struct ct_tuple6 *)out)->saddr,
			       ((const struct ct_tuple6 *)in)->daddr);
		ipv6_addr_copy(((struct ct_tuple6 *)out)->daddr,
			       ((const struct ct_tuple6 *)in)->saddr);
	} else {
		((struct ct_tuple *)out)->saddr_be = ((const struct ct_tuple *)in)->daddr_be;
		((struct ct_tuple *)out)->daddr_be = ((const struct ct_tuple *)in)->saddr_be;
	}
	o->tenant_id = h->tenant_id;
	o->protocol = h->protocol;
	o->pad0[0] = o->pad0[1] = o->pad0[2] = 0;
	o->sport_be = h->dport_be;
	o->dport_be = h->sport_be;
}

WEFT_INLINE __u8 fw_swap_checks(__u8 checks)
{
	return ((checks & WEFT_CT_F_EGRESS) ? WEFT_CT_F_INGRESS : 0) |
	       ((checks & WEFT_CT_F_INGRESS) ? WEFT_CT_F_EGRESS : 0);
}

/* Writes a new entry, pending until confirmed; the packet is its first in
 * direction `dir`. */
WEFT_INLINE void fw_ct_create(const void *key, __u8 flags, __u8 state, int dir,
			      const struct fw_meta *m, __u32 generation, __u32 rule_index,
			      __u64 now, const int v6)
{
	struct fw_scratch *s;
	struct weft_ct_entry *e;

	if (m->trace)
		return;
	s = fw_scratch_get();
	if (!s) {
		ct_stat_inc(WEFT_CT_STAT_INSERT_FAILED);
		return;
	}
	e = &s->entry;
	__builtin_memset(e, 0, sizeof(*e));
	e->last_seen_ns = now;
	e->policy_generation = generation;
	e->rule_index = rule_index;
	e->state = state;
	e->flags = flags;
	e->packets[dir & 1] = 1;
	e->bytes[dir & 1] = m->bytes;
	if (bpf_map_update_elem(ct_table(1, v6), key, e, BPF_ANY))
		ct_stat_inc(WEFT_CT_STAT_INSERT_FAILED);
	else
		ct_stat_inc(WEFT_CT_STAT_CREATED);
}

/*
 * A flow admitted under an older policy generation: judge its original
 * direction again at the ends it was judged at. Returns 1 when still
 * allowed (the entry then belongs to `generation`).
 */
WEFT_INLINE int fw_recheck(const struct fw_work *w, struct weft_ct_entry *e, __u32 slot,
			   __u32 generation, const int v6)
{
	struct fw_decision d;
	__u16 port;

	if (v6)
		ct_orig_tuple6(w->key, e, w->other);
	else
		ct_orig_tuple(w->key, e, w->other);
	/* An ICMP entry is an echo: judged as the request it started with. */
	port = fw_policy_port(w->other, ICMP_ECHO_REQUEST, 0);
	fw_judge(w, w->other, e->flags & (WEFT_CT_F_EGRESS | WEFT_CT_F_INGRESS), slot, port, &d,
		 v6);
	if (d.action != WEFT_ACTION_ALLOW)
		return 0;
	e->policy_generation = generation;
	e->rule_index = d.rule_index;
	return 1;
}

/* A conntrack hit, in the table `pending` says. Returns 0 (pass) or a drop
 * reason. */
WEFT_INLINE __u32 fw_tracked(const struct fw_work *w, struct fw_meta *m, __u8 protocol,
			     struct weft_ct_entry *e, int pending, int src_lo, __u64 ctl, __u64 now,
			     const int v6)
{
	int dir = ct_packet_dir(e, src_lo);

	if (e->policy_generation != POL_CTL_GENERATION(ctl)) {
		if (!fw_recheck(w, e, POL_CTL_SLOT(ctl), POL_CTL_GENERATION(ctl), v6)) {
			fw_ct_delete(m, pending, w->key, v6);
			fw_stat(m, WEFT_CT_STAT_REVOKED);
			return WEFT_DROP_POLICY_REVOKED;
		}
		fw_stat(m, WEFT_CT_STAT_REVALIDATED);
	}
	if (protocol == IPPROTO_TCP)
		ct_tcp_update(e, dir, m->tcp_flags);
	else if (dir && e->state == WEFT_CT_NEW)
		e->state = WEFT_CT_ESTABLISHED;
	ct_account(e, dir, m->bytes, now);
	return 0;
}

/*
 * TCP without an entry and not opening one (evicted, expired, or started
 * before this host tracked it): picked up as established if the policy
 * admits it as it stands, or as the reply of a flow it admits the other
 * way round. Otherwise it fits no state: invalid.
 */
WEFT_INLINE __u32 fw_pick_up(const struct fw_work *w, struct fw_meta *m, const void *t, int src_lo,
			     __u64 ctl, __u64 now, const int v6)
{
	__u8 state = (m->tcp_flags & TCP_FL_RST) ? WEFT_CT_CLOSING : WEFT_CT_ESTABLISHED;
	const struct ct_head *h = t;
	void *key = w->key, *rev = w->other;
	struct fw_decision d;

	fw_judge(w, t, m->checks, POL_CTL_SLOT(ctl), bpf_ntohs(h->dport_be), &d, v6);
	if (d.action == WEFT_ACTION_ALLOW) {
		fw_ct_create(key, m->checks | (src_lo ? WEFT_CT_F_ORIG_IS_LO : 0), state, 0, m,
			     POL_CTL_GENERATION(ctl), d.rule_index, now, v6);
		fw_stat(m, WEFT_CT_STAT_PICKED_UP);
		fw_trace_judged(m, WEFT_TRACE_CT_PICKED_UP, &d, POL_CTL_GENERATION(ctl));
		return 0;
	}
	fw_swap_tuple(t, rev, v6);
	fw_judge(w, rev, fw_swap_checks(m->checks), POL_CTL_SLOT(ctl),
		 bpf_ntohs(((struct ct_head *)rev)->dport_be), &d, v6);
	if (d.action == WEFT_ACTION_ALLOW) {
		fw_ct_create(key, fw_swap_checks(m->checks) | (src_lo ? 0 : WEFT_CT_F_ORIG_IS_LO),
			     state, 1, m, POL_CTL_GENERATION(ctl), d.rule_index, now, v6);
		fw_stat(m, WEFT_CT_STAT_PICKED_UP);
		fw_trace_judged(m, WEFT_TRACE_CT_PICKED_UP, &d, POL_CTL_GENERATION(ctl));
		return 0;
	}
	fw_trace_judged(m, WEFT_TRACE_CT_MISS, &d, POL_CTL_GENERATION(ctl));
	return WEFT_DROP_CT_INVALID;
}

/* An ICMP(v6) error: related to the tracked flow it quotes, or judged by
 * the policy (never answered: no error about an error). Returns 0 (pass) or
 * the drop reason. */
WEFT_INLINE __u32 fw_judge_icmp_error(const struct fw_work *w, struct fw_meta *m, const void *t,
				      void *quoted, __u64 ctl, __u64 now, const int v6)
{
	const struct ct_head *h = t;
	struct fw_decision d;

	if (m->quoted_ok) {
		((struct ct_head *)quoted)->tenant_id = h->tenant_id;
		if (ct_lookup_related(quoted, w->key, now, v6)) {
			fw_stat(m, WEFT_CT_STAT_RELATED);
			fw_trace_ct(m, WEFT_TRACE_CT_RELATED, NULL);
			return 0;
		}
	}
	fw_judge(w, t, m->checks, POL_CTL_SLOT(ctl), fw_policy_port(h, m->icmp_type, m->icmp_code),
		 &d, v6);
	fw_trace_judged(m, WEFT_TRACE_CT_MISS, &d, POL_CTL_GENERATION(ctl));
	fw_log(m, t, &d, POL_CTL_GENERATION(ctl), v6);
	return d.action == WEFT_ACTION_ALLOW ? 0 : WEFT_DROP_POLICY;
}

/*
 * Judges one packet at this node's enforcement point: the flow `t` (a tuple
 * of the family) with `m` as the family's parser and the hook filled them.
 * Returns 0 (pass), WEFT_REJECT (the hook answers the sender) or a drop
 * reason.
 */
WEFT_INLINE __u32 fw_judge_packet(const struct fw_work *w, struct fw_meta *m, void *t, void *quoted,
				  const int v6)
{
	struct ct_head *h = t;
	void *key = w->key;
	struct weft_trace_result *tr;
	struct weft_ct_entry *e;
	struct fw_decision d;
	__u64 now = bpf_ktime_get_ns();
	__u64 ctl;
	__u32 reason;
	int src_lo, pending;

	/* Read once: this packet sees one rule set. */
	ctl = pol_ctl_read();

	if (m->icmp_error)
		return fw_judge_icmp_error(w, m, t, quoted, ctl, now, v6);
	if (h->protocol == IPPROTO_TCP && ct_tcp_flags_invalid(m->tcp_flags))
		return WEFT_DROP_CT_INVALID;

	if (v6)
		src_lo = ct_key6_from_tuple(t, key);
	else
		src_lo = ct_key_from_tuple(t, key);
	e = ct_lookup(key, &pending, v6);
	if (e && ct_expired(h->protocol, e, now)) {
		fw_ct_delete(m, pending, key, v6);
		fw_stat(m, WEFT_CT_STAT_EXPIRED);
		e = NULL;
	}
	/* A new SYN on a closing connection's tuple opens a new one. */
	if (e && h->protocol == IPPROTO_TCP && ct_tcp_is_open(m->tcp_flags) &&
	    e->state >= WEFT_CT_FIN_WAIT) {
		fw_ct_delete(m, pending, key, v6);
		fw_stat(m, WEFT_CT_STAT_REUSED);
		e = NULL;
	}
	if (e && m->trace) {
		/* Read-only: the hit updates a copy, in weft_trace. */
		tr = trace_get(1);
		if (!tr)
			return WEFT_DROP_HELPER_FAILED;
		tr->entry = *e;
		reason = fw_tracked(w, m, h->protocol, &tr->entry, pending, src_lo, ctl, now, v6);
		fw_trace_ct(m, WEFT_TRACE_CT_HIT, &tr->entry);
		return reason;
	}
	if (e) {
		reason = fw_tracked(w, m, h->protocol, e, pending, src_lo, ctl, now, v6);
		if (!reason && pending && ct_confirmed(e))
			ct_confirm(key, e, v6);
		return reason;
	}

	if (h->protocol == IPPROTO_TCP && !ct_tcp_is_open(m->tcp_flags))
		return fw_pick_up(w, m, t, src_lo, ctl, now, v6);

	/* A new flow: the policy of every local end decides. */
	fw_judge(w, t, m->checks, POL_CTL_SLOT(ctl), fw_policy_port(h, m->icmp_type, m->icmp_code),
		 &d, v6);
	fw_trace_judged(m, WEFT_TRACE_CT_MISS, &d, POL_CTL_GENERATION(ctl));
	fw_log(m, t, &d, POL_CTL_GENERATION(ctl), v6);
	reason = fw_action_reason(d.action);
	if (reason)
		return reason;
	/* ICMP: only echo requests open a flow; the rest pass stateless. */
	if ((h->protocol == IPPROTO_ICMP || h->protocol == IPPROTO_ICMPV6_) &&
	    !fw_is_echo_request(h->protocol, m->icmp_type))
		return 0;
	fw_ct_create(key, m->checks | (src_lo ? WEFT_CT_F_ORIG_IS_LO : 0),
		     h->protocol == IPPROTO_TCP ? WEFT_CT_SYN_SENT : WEFT_CT_NEW, 0, m,
		     POL_CTL_GENERATION(ctl), d.rule_index, now, v6);
	return 0;
}

/* fw_judge_packet for an IPv4 flow, working on the stack. Global: verified
 * once, on its own. */
__attribute__((noinline)) __u32 fw_conntrack(struct fw_flow *f)
{
	struct weft_ct_key key = {};
	struct ct_tuple other;
	struct pol_query query = {};
	struct fw_work w = { .key = &key, .other = &other, .query = &query };

	if (!f)
		return WEFT_DROP_HELPER_FAILED;
	return fw_judge_packet(&w, &f->m, &f->t, &f->quoted, 0);
}

/* fw_judge_packet for the IPv6 flow in `s->flow6`, working in `s`. */
__attribute__((noinline)) __u32 fw_conntrack6(struct fw_scratch *s)
{
	struct fw_work w;

	/* Not zeroed: ct_key6_from_tuple and pol_query6_keys write every byte
	 * of the key and the lookup keys before they are read. */
	if (!s)
		return WEFT_DROP_HELPER_FAILED;
	w.key = &s->key6;
	w.other = &s->other6;
	w.query = &s->query6;
	return fw_judge_packet(&w, &s->flow6.m, &s->flow6.t, &s->flow6.quoted, 1);
}

#endif
