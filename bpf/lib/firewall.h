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
 * (lib/reject.h) to the hook, which knows how to send it.
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
#include "lib/parse.h"
#include "lib/policy.h"

/* Enough of the linear packet for Ethernet, IPv4 and an ICMP error quoting
 * an IPv4 header and 8 bytes of its payload. */
#define FW_PULL_LEN (ETH_HLEN + sizeof(struct iphdr) + 8 + sizeof(struct iphdr) + 8)

struct fw_flow {
	struct ct_tuple t;
	__u32 bytes;   /* IPv4 total length (per-entry byte counters) */
	__u32 ifindex; /* the local endpoint's interface (events) */
	__u8 checks;   /* WEFT_CT_F_EGRESS | WEFT_CT_F_INGRESS: local ends */
	__u8 tcp_flags;
	__u8 icmp_type;
	__u8 icmp_code;
	__u8 icmp_error; /* an ICMP error message */
	__u8 quoted_ok;	 /* ... whose quoted flow is in `quoted` */
	__u8 trace;	 /* a trace run: read-only (see above) */
	__u8 pad0;
	struct ct_tuple quoted;
};

/* The ports (ICMP echo: identifier twice) of a quoted L4 header at `l4`. */
WEFT_INLINE int fw_parse_ports(struct ct_tuple *t, void *l4, void *end)
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
		icmp = l4;
		if ((void *)(icmp + 1) > end)
			return -1;
		if (icmp->type == ICMP_ECHO_REQUEST || icmp->type == ICMP_ECHO_REPLY)
			t->sport_be = t->dport_be = icmp->un.echo.id;
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
	struct icmp_wire *icmp = (void *)(ip + 1);
	struct tcphdr *tcp = (void *)(ip + 1);
	struct udphdr *udp = (void *)(ip + 1);
	struct iphdr *q;

	f->t.saddr_be = ip->saddr;
	f->t.daddr_be = ip->daddr;
	f->t.protocol = ip->protocol;
	f->bytes = bpf_ntohs(ip->tot_len);

	switch (ip->protocol) {
	case IPPROTO_TCP:
		if ((void *)(tcp + 1) > end)
			return WEFT_DROP_TRUNCATED;
		f->t.sport_be = tcp->source;
		f->t.dport_be = tcp->dest;
		f->tcp_flags = ((__u8 *)tcp)[13];
		return 0;
	case IPPROTO_UDP:
		if ((void *)(udp + 1) > end)
			return WEFT_DROP_TRUNCATED;
		f->t.sport_be = udp->source;
		f->t.dport_be = udp->dest;
		return 0;
	case IPPROTO_ICMP:
		if ((void *)(icmp + 1) > end)
			return WEFT_DROP_TRUNCATED;
		f->icmp_type = icmp->type;
		f->icmp_code = icmp->code;
		f->icmp_error = icmp_type_is_error(icmp->type);
		if (icmp->type == ICMP_ECHO_REQUEST || icmp->type == ICMP_ECHO_REPLY)
			f->t.sport_be = f->t.dport_be = icmp->un.echo.id;
		if (!f->icmp_error)
			return 0;
		/* The quoted header and 8 bytes: the flow it is about. */
		q = (void *)(icmp + 1);
		if ((void *)(q + 1) > end || q->ihl != 5 || q->version != 4)
			return 0;
		f->quoted.saddr_be = q->saddr;
		f->quoted.daddr_be = q->daddr;
		f->quoted.protocol = q->protocol;
		f->quoted_ok = !fw_parse_ports(&f->quoted, q + 1, end);
		return 0;
	}
	return 0;
}

/* The port the policy sees: destination port, or ICMP type << 8 | code. */
WEFT_INLINE __u16 fw_policy_port(const struct ct_tuple *t, __u8 icmp_type, __u8 icmp_code)
{
	if (t->protocol == IPPROTO_ICMP)
		return (__u16)icmp_type << 8 | icmp_code;
	if (t->protocol == IPPROTO_TCP || t->protocol == IPPROTO_UDP)
		return bpf_ntohs(t->dport_be);
	return 0;
}

/* One judgement of a flow (initiator = t's source) at the local ends in
 * `checks`: the combined action (deny > reject > allow) and per direction
 * what pol_classify said. */
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

/* One direction's rule set: `local_be` is the endpoint it protects. */
WEFT_INLINE void fw_judge_dir(struct pol_query *q, __u32 dir, __be32 local_be, __be32 peer_be,
			      struct fw_decision *d)
{
	__u64 v;

	q->direction = dir;
	q->local_be = local_be;
	q->peer_be = peer_be;
	v = pol_classify(q);
	d->verdict[dir] = v | (1ull << 48);
	d->action = fw_combine(d->action, POL_ACTION(v));
	d->rule_index = POL_RULE(v);
}

WEFT_INLINE void fw_judge(const struct ct_tuple *t, __u8 checks, __u32 slot, __u16 port,
			  struct fw_decision *d)
{
	struct pol_query q = {
		.slot = slot,
		.tenant_id = t->tenant_id,
		.protocol = t->protocol,
		.port = port,
	};

	d->action = WEFT_ACTION_ALLOW;
	d->rule_index = WEFT_RULE_NONE;
	d->verdict[0] = d->verdict[1] = 0;
	if (checks & WEFT_CT_F_INGRESS)
		fw_judge_dir(&q, WEFT_DIR_INGRESS, t->daddr_be, t->saddr_be, d);
	if (checks & WEFT_CT_F_EGRESS)
		fw_judge_dir(&q, WEFT_DIR_EGRESS, t->saddr_be, t->daddr_be, d);
}

WEFT_INLINE __u32 fw_action_reason(__u32 action)
{
	if (action == WEFT_ACTION_ALLOW)
		return 0;
	return action == WEFT_ACTION_REJECT ? WEFT_REJECT : WEFT_DROP_POLICY;
}

WEFT_INLINE void fw_stat(const struct fw_flow *f, __u32 stat)
{
	if (!f->trace)
		ct_stat_inc(stat);
}

WEFT_INLINE void fw_ct_delete(const struct fw_flow *f, int pending, const struct weft_ct_key *key)
{
	if (!f->trace)
		bpf_map_delete_elem(ct_table(pending), key);
}

/* Trace: what conntrack did, and the entry that passed the packet. */
WEFT_INLINE void fw_trace_ct(const struct fw_flow *f, __u8 ct, const struct weft_ct_entry *e)
{
	struct weft_trace_result *tr = trace_get(f->trace);

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
WEFT_INLINE void fw_trace_judged(const struct fw_flow *f, __u8 ct, const struct fw_decision *d,
				 __u32 generation)
{
	struct weft_trace_result *tr = trace_get(f->trace);
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

/* A WEFT_EVENT_RULE_HIT for each judged direction whose rule logs. */
WEFT_INLINE void fw_log(const struct ct_tuple *t, const struct fw_decision *d, __u32 ifindex,
			__u32 generation)
{
#pragma unroll
	for (int dir = 0; dir < 2; dir++) {
		__u64 v = d->verdict[dir];
		struct weft_event *ev;

		if (!v || !(POL_FLAGS(v) & WEFT_RULE_F_LOG))
			continue;
		ev = bpf_ringbuf_reserve(&weft_events, sizeof(*ev), 0);
		if (!ev)
			return;
		ev->timestamp_ns = bpf_ktime_get_ns();
		ev->type = WEFT_EVENT_RULE_HIT;
		ev->reason = fw_action_reason(POL_ACTION(v));
		ev->tenant_id = t->tenant_id;
		ev->rule_index = POL_RULE(v);
		ev->ifindex = ifindex;
		ev->saddr_be = t->saddr_be;
		ev->daddr_be = t->daddr_be;
		ev->sport_be = t->sport_be;
		ev->dport_be = t->dport_be;
		ev->protocol = t->protocol;
		ev->direction = dir;
		ev->action = POL_ACTION(v);
		ev->pad0 = 0;
		ev->policy_generation = generation;
		bpf_ringbuf_submit(ev, 0);
	}
}

WEFT_INLINE void fw_swap_tuple(const struct ct_tuple *in, struct ct_tuple *out)
{
	out->tenant_id = in->tenant_id;
	out->protocol = in->protocol;
	out->pad0[0] = out->pad0[1] = out->pad0[2] = 0;
	out->saddr_be = in->daddr_be;
	out->daddr_be = in->saddr_be;
	out->sport_be = in->dport_be;
	out->dport_be = in->sport_be;
}

WEFT_INLINE __u8 fw_swap_checks(__u8 checks)
{
	return ((checks & WEFT_CT_F_EGRESS) ? WEFT_CT_F_INGRESS : 0) |
	       ((checks & WEFT_CT_F_INGRESS) ? WEFT_CT_F_EGRESS : 0);
}

/* Writes a new entry, pending until confirmed; the packet is its first in
 * direction `dir`. */
WEFT_INLINE void fw_ct_create(const struct weft_ct_key *key, __u8 flags, __u8 state, int dir,
			      const struct fw_flow *f, __u32 generation, __u32 rule_index,
			      __u64 now)
{
	struct weft_ct_entry e = {
		.last_seen_ns = now,
		.policy_generation = generation,
		.rule_index = rule_index,
		.state = state,
		.flags = flags,
	};

	if (f->trace)
		return;
	e.packets[dir & 1] = 1;
	e.bytes[dir & 1] = f->bytes;
	if (bpf_map_update_elem(&weft_ct_pending, key, &e, BPF_ANY))
		ct_stat_inc(WEFT_CT_STAT_INSERT_FAILED);
	else
		ct_stat_inc(WEFT_CT_STAT_CREATED);
}

/*
 * A flow admitted under an older policy generation: judge its original
 * direction again at the ends it was judged at. Returns 1 when still
 * allowed (the entry then belongs to `generation`).
 */
WEFT_INLINE int fw_recheck(const struct weft_ct_key *key, struct weft_ct_entry *e, __u32 slot,
			   __u32 generation)
{
	struct fw_decision d;
	struct ct_tuple orig;
	__u16 port;

	ct_orig_tuple(key, e, &orig);
	/* An ICMP entry is an echo: judged as the request it started with. */
	port = fw_policy_port(&orig, ICMP_ECHO_REQUEST, 0);
	fw_judge(&orig, e->flags & (WEFT_CT_F_EGRESS | WEFT_CT_F_INGRESS), slot, port, &d);
	if (d.action != WEFT_ACTION_ALLOW)
		return 0;
	e->policy_generation = generation;
	e->rule_index = d.rule_index;
	return 1;
}

/* A conntrack hit, in the table `pending` says. Returns 0 (pass) or a drop
 * reason. */
WEFT_INLINE __u32 fw_tracked(struct fw_flow *f, const struct weft_ct_key *key,
			     struct weft_ct_entry *e, int pending, int src_lo, __u64 ctl, __u64 now)
{
	int dir = ct_packet_dir(e, src_lo);

	if (e->policy_generation != POL_CTL_GENERATION(ctl)) {
		if (!fw_recheck(key, e, POL_CTL_SLOT(ctl), POL_CTL_GENERATION(ctl))) {
			fw_ct_delete(f, pending, key);
			fw_stat(f, WEFT_CT_STAT_REVOKED);
			return WEFT_DROP_POLICY_REVOKED;
		}
		fw_stat(f, WEFT_CT_STAT_REVALIDATED);
	}
	if (f->t.protocol == IPPROTO_TCP)
		ct_tcp_update(e, dir, f->tcp_flags);
	else if (dir && e->state == WEFT_CT_NEW)
		e->state = WEFT_CT_ESTABLISHED;
	ct_account(e, dir, f->bytes, now);
	return 0;
}

/*
 * TCP without an entry and not opening one (evicted, expired, or started
 * before this host tracked it): picked up as established if the policy
 * admits it as it stands, or as the reply of a flow it admits the other
 * way round. Otherwise it fits no state: invalid.
 */
WEFT_INLINE __u32 fw_pick_up(struct fw_flow *f, const struct weft_ct_key *key, int src_lo,
			     __u64 ctl, __u64 now)
{
	__u8 state = (f->tcp_flags & TCP_FL_RST) ? WEFT_CT_CLOSING : WEFT_CT_ESTABLISHED;
	struct fw_decision d;
	struct ct_tuple rev;

	fw_judge(&f->t, f->checks, POL_CTL_SLOT(ctl), bpf_ntohs(f->t.dport_be), &d);
	if (d.action == WEFT_ACTION_ALLOW) {
		fw_ct_create(key, f->checks | (src_lo ? WEFT_CT_F_ORIG_IS_LO : 0), state, 0, f,
			     POL_CTL_GENERATION(ctl), d.rule_index, now);
		fw_stat(f, WEFT_CT_STAT_PICKED_UP);
		fw_trace_judged(f, WEFT_TRACE_CT_PICKED_UP, &d, POL_CTL_GENERATION(ctl));
		return 0;
	}
	fw_swap_tuple(&f->t, &rev);
	fw_judge(&rev, fw_swap_checks(f->checks), POL_CTL_SLOT(ctl), bpf_ntohs(rev.dport_be), &d);
	if (d.action == WEFT_ACTION_ALLOW) {
		fw_ct_create(key, fw_swap_checks(f->checks) | (src_lo ? 0 : WEFT_CT_F_ORIG_IS_LO),
			     state, 1, f, POL_CTL_GENERATION(ctl), d.rule_index, now);
		fw_stat(f, WEFT_CT_STAT_PICKED_UP);
		fw_trace_judged(f, WEFT_TRACE_CT_PICKED_UP, &d, POL_CTL_GENERATION(ctl));
		return 0;
	}
	fw_trace_judged(f, WEFT_TRACE_CT_MISS, &d, POL_CTL_GENERATION(ctl));
	return WEFT_DROP_CT_INVALID;
}

/*
 * Judges one packet at this node's enforcement point: `f` as fw_parse and
 * the hook filled it. Returns 0 (pass), WEFT_REJECT (the hook answers the
 * sender) or a drop reason. Global: verified once, on its own.
 */
__attribute__((noinline)) __u32 fw_conntrack(struct fw_flow *f)
{
	struct weft_ct_key key = {};
	struct weft_trace_result *tr;
	struct weft_ct_entry *e;
	struct fw_decision d;
	__u64 now = bpf_ktime_get_ns();
	__u64 ctl;
	__u32 reason;
	int src_lo, pending;

	if (!f)
		return WEFT_DROP_HELPER_FAILED;
	/* Read once: this packet sees one rule set. */
	ctl = pol_ctl_read();

	if (f->icmp_error) {
		if (f->quoted_ok) {
			f->quoted.tenant_id = f->t.tenant_id;
			if (ct_lookup_related(&f->quoted, now)) {
				fw_stat(f, WEFT_CT_STAT_RELATED);
				fw_trace_ct(f, WEFT_TRACE_CT_RELATED, NULL);
				return 0;
			}
		}
		/* Unrelated: the policy decides; never an error about an error. */
		fw_judge(&f->t, f->checks, POL_CTL_SLOT(ctl),
			 fw_policy_port(&f->t, f->icmp_type, f->icmp_code), &d);
		fw_trace_judged(f, WEFT_TRACE_CT_MISS, &d, POL_CTL_GENERATION(ctl));
		if (!f->trace)
			fw_log(&f->t, &d, f->ifindex, POL_CTL_GENERATION(ctl));
		return d.action == WEFT_ACTION_ALLOW ? 0 : WEFT_DROP_POLICY;
	}
	if (f->t.protocol == IPPROTO_TCP && ct_tcp_flags_invalid(f->tcp_flags))
		return WEFT_DROP_CT_INVALID;

	src_lo = ct_key_from_tuple(&f->t, &key);
	e = ct_lookup(&key, &pending);
	if (e && ct_expired(&key, e, now)) {
		fw_ct_delete(f, pending, &key);
		fw_stat(f, WEFT_CT_STAT_EXPIRED);
		e = NULL;
	}
	/* A new SYN on a closing connection's tuple opens a new one. */
	if (e && f->t.protocol == IPPROTO_TCP && ct_tcp_is_open(f->tcp_flags) &&
	    e->state >= WEFT_CT_FIN_WAIT) {
		fw_ct_delete(f, pending, &key);
		fw_stat(f, WEFT_CT_STAT_REUSED);
		e = NULL;
	}
	if (e && f->trace) {
		/* Read-only: the hit updates a copy, in weft_trace. */
		tr = trace_get(1);
		if (!tr)
			return WEFT_DROP_HELPER_FAILED;
		tr->entry = *e;
		reason = fw_tracked(f, &key, &tr->entry, pending, src_lo, ctl, now);
		fw_trace_ct(f, WEFT_TRACE_CT_HIT, &tr->entry);
		return reason;
	}
	if (e) {
		reason = fw_tracked(f, &key, e, pending, src_lo, ctl, now);
		if (!reason && pending && ct_confirmed(e))
			ct_confirm(&key, e);
		return reason;
	}

	if (f->t.protocol == IPPROTO_TCP && !ct_tcp_is_open(f->tcp_flags))
		return fw_pick_up(f, &key, src_lo, ctl, now);

	/* A new flow: the policy of every local end decides. */
	fw_judge(&f->t, f->checks, POL_CTL_SLOT(ctl),
		 fw_policy_port(&f->t, f->icmp_type, f->icmp_code), &d);
	fw_trace_judged(f, WEFT_TRACE_CT_MISS, &d, POL_CTL_GENERATION(ctl));
	if (!f->trace)
		fw_log(&f->t, &d, f->ifindex, POL_CTL_GENERATION(ctl));
	reason = fw_action_reason(d.action);
	if (reason)
		return reason;
	/* ICMP: only echo requests open a flow; the rest pass stateless. */
	if (f->t.protocol == IPPROTO_ICMP && f->icmp_type != ICMP_ECHO_REQUEST)
		return 0;
	fw_ct_create(&key, f->checks | (src_lo ? WEFT_CT_F_ORIG_IS_LO : 0),
		     f->t.protocol == IPPROTO_TCP ? WEFT_CT_SYN_SENT : WEFT_CT_NEW, 0, f,
		     POL_CTL_GENERATION(ctl), d.rule_index, now);
	return 0;
}

#endif
