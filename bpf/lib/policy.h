/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Policy classification of a new flow (docs/ARCHITECTURE.md §4, abi.h): three lookups
 * give three bit vectors (rules applied to the local endpoint in this
 * direction, rules whose peer covers the remote address, rules whose
 * protocol/port covers the flow); their AND's lowest set bit is the
 * highest-priority matching rule. No match: the tenant's default action
 * (absent: allow). The cost does not depend on the number of rules.
 *
 * The slot comes from the caller, which reads weft_pol_ctl once per packet.
 */
#ifndef WEFT_BPF_POLICY_H
#define WEFT_BPF_POLICY_H

#include "lib/maps.h"

/* What both families' queries hold besides the addresses. */
#define POL_QUERY_HEAD   \
	__u32 slot;      \
	__u32 tenant_id; \
	__u32 direction; \
	__u8 protocol;   \
	__u8 pad0;       \
	__u16 port /* host order: destination port; ICMP type << 8 | code */

struct pol_head {
	POL_QUERY_HEAD;
};

struct pol_query {
	POL_QUERY_HEAD;
	__be32 local_be; /* the endpoint on this node */
	__be32 peer_be;	 /* the other end */
};

/* IPv6: the caller writes the two lookups' keys (in weft_scratch, where the
 * IPv6 firewall works: lib/firewall.h), so pol_classify6's frame stays
 * small. Their slot, direction and tenant are the head's. */
struct pol_query6 {
	POL_QUERY_HEAD;
	struct weft_applied6_key applied;
	struct weft_peer6_key peer;
};

/* pol_classify's answer, packed in a scalar (a global function returns
 * one): the rule index (WEFT_RULE_NONE: the tenant default), the action
 * and the rule's flags. */
#define POL_RULE(v) ((__u32)(v))
#define POL_ACTION(v) ((__u32)((v) >> 32) & 0xff)
#define POL_FLAGS(v) ((__u32)((v) >> 40) & 0xff)
#define POL_PACK(rule, action, flags) \
	((__u64)(rule) | ((__u64)((action)&0xff) << 32) | ((__u64)((flags)&0xff) << 40))

/* weft_pol_ctl[0] as one 64-bit load: active slot (low half) and
 * generation (high half) of the same write. */
WEFT_INLINE __u64 pol_ctl_read(void)
{
	__u32 zero = 0;
	struct weft_policy_ctl *ctl = bpf_map_lookup_elem(&weft_pol_ctl, &zero);

	return ctl ? *(volatile __u64 *)ctl : 0;
}

#define POL_CTL_SLOT(v) ((__u32)(v))
#define POL_CTL_GENERATION(v) ((__u32)((v) >> 32))

/* Index of the lowest set bit of w (w != 0), by binary search: no ctz
 * instruction in BPF. */
WEFT_INLINE __u32 bit_lowest(__u64 w)
{
	__u32 n = 0;

	if (!(w & 0xffffffffull)) {
		n += 32;
		w >>= 32;
	}
	if (!(w & 0xffff)) {
		n += 16;
		w >>= 16;
	}
	if (!(w & 0xff)) {
		n += 8;
		w >>= 8;
	}
	if (!(w & 0xf)) {
		n += 4;
		w >>= 4;
	}
	if (!(w & 0x3)) {
		n += 2;
		w >>= 2;
	}
	if (!(w & 0x1))
		n += 1;
	return n;
}

WEFT_INLINE __u32 pol_tenant_default(__u32 slot, __u32 tenant_id)
{
	struct weft_tenant_key key = { .slot = slot, .tenant_id = tenant_id };
	struct weft_tenant_policy *p = bpf_map_lookup_elem(&weft_pol_tenant, &key);

	return p ? p->default_action : WEFT_ACTION_ALLOW;
}

/* The first rule set in all three vectors, or WEFT_RULE_NONE. The vectors
 * are 1280 bytes each: ANDed through the map value pointers, never copied
 * to the stack. */
WEFT_INLINE __u32 pol_first_match(const struct weft_rule_bits *a, const struct weft_rule_bits *p,
				  const struct weft_rule_bits *l)
{
	for (__u32 i = 0; i < WEFT_RULE_WORDS; i++) {
		__u64 w = a->words[i] & p->words[i] & l->words[i];

		if (w)
			return i * 64 + bit_lowest(w);
	}
	return WEFT_RULE_NONE;
}

/*
 * The decision once the family's lookups found the rules applied to the
 * local end and those whose peer covers the other (either NULL: no rule
 * of them). An ICMPv6 flow is judged by the rules for ICMP without a type
 * (a key of WEFT_L4_KEY_PROTOCOL bits): ICMP types are IPv4's numbers,
 * and validation keeps rules with a type to IPv4 peers.
 */
WEFT_INLINE __u64 pol_decide(__u32 slot, __u32 tenant_id, __u8 protocol, __u16 port,
			     const struct weft_rule_bits *a, const struct weft_rule_bits *p)
{
	struct weft_l4_key lk = {};
	struct weft_rule_key rk = {};
	struct weft_rule_bits *l;
	struct weft_rule *rule;
	__u32 index;

	lk.prefixlen = WEFT_L4_KEY_PORT_PREFIXLEN(16);
	lk.slot_be = bpf_htonl(slot);
	lk.protocol = protocol;
	lk.port_be = bpf_htons(port);
	if (protocol == IPPROTO_ICMPV6_) {
		lk.prefixlen = WEFT_L4_KEY_PROTOCOL;
		lk.protocol = IPPROTO_ICMP;
		lk.port_be = 0;
	}
	l = a && p ? bpf_map_lookup_elem(&weft_pol_l4, &lk) : NULL;
	index = l ? pol_first_match(a, p, l) : WEFT_RULE_NONE;
	if (index == WEFT_RULE_NONE)
		return POL_PACK(WEFT_RULE_NONE, pol_tenant_default(slot, tenant_id), 0);

	rk.slot = slot;
	rk.index = index;
	rule = bpf_map_lookup_elem(&weft_pol_rules, &rk);
	/* A bit without its rule is the agent's bug: fail closed. */
	if (!rule)
		return POL_PACK(index, WEFT_ACTION_DENY, 0);
	return POL_PACK(index, rule->action, rule->flags);
}

/*
 * Classifies one direction of a new IPv4 flow. A global (not inlined)
 * function: verified once, on its own, however many times a program calls
 * it. Returns POL_PACK(rule index, action, rule flags).
 */
__attribute__((noinline)) __u64 pol_classify(const struct pol_query *q)
{
	struct weft_applied_key ak = {};
	struct weft_peer_key pk = {};
	struct weft_rule_bits *a, *p;

	if (!q)
		return POL_PACK(WEFT_RULE_NONE, WEFT_ACTION_DENY, 0);
	ak.slot = q->slot;
	ak.direction = q->direction;
	ak.tenant_id = q->tenant_id;
	ak.ip_be = q->local_be;
	pk.prefixlen = WEFT_PEER_KEY_PREFIXLEN(32);
	pk.slot_be = bpf_htonl(q->slot);
	pk.tenant_id_be = bpf_htonl(q->tenant_id);
	pk.addr_be = q->peer_be;
	a = bpf_map_lookup_elem(&weft_pol_applied, &ak);
	p = a ? bpf_map_lookup_elem(&weft_pol_peer, &pk) : NULL;
	return pol_decide(q->slot, q->tenant_id, q->protocol, q->port, a, p);
}

/* The keys of pol_classify6's lookups for the flow between `local` and
 * `peer`, from the head of `q`. */
WEFT_INLINE void pol_query6_keys(struct pol_query6 *q, const __u8 *local, const __u8 *peer)
{
	q->applied.slot = q->slot;
	q->applied.direction = q->direction;
	q->applied.tenant_id = q->tenant_id;
	ipv6_addr_copy(q->applied.addr, local);
	q->peer.prefixlen = WEFT_PEER_KEY_PREFIXLEN(128);
	q->peer.slot_be = bpf_htonl(q->slot);
	q->peer.tenant_id_be = bpf_htonl(q->tenant_id);
	ipv6_addr_copy(q->peer.addr, peer);
}

/* pol_classify for an IPv6 flow: the same rules, by the IPv6 tables. */
__attribute__((noinline)) __u64 pol_classify6(const struct pol_query6 *q)
{
	struct weft_rule_bits *a, *p;

	if (!q)
		return POL_PACK(WEFT_RULE_NONE, WEFT_ACTION_DENY, 0);
	a = bpf_map_lookup_elem(&weft_pol_appl6, &q->applied);
	p = a ? bpf_map_lookup_elem(&weft_pol_peer6, &q->peer) : NULL;
	return pol_decide(q->slot, q->tenant_id, q->protocol, q->port, a, p);
}

#endif
