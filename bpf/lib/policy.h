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

struct pol_query {
	__u32 slot;
	__u32 tenant_id;
	__u32 direction; /* enum weft_direction */
	__be32 local_be; /* the endpoint on this node */
	__be32 peer_be;	 /* the other end */
	__u8 protocol;
	__u8 pad0;
	__u16 port; /* host order: destination port; ICMP type << 8 | code */
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
 * Classifies one direction of a new flow. A global (not inlined) function:
 * verified once, on its own, however many times a program calls it.
 * Returns POL_PACK(rule index, action, rule flags).
 */
__attribute__((noinline)) __u64 pol_classify(const struct pol_query *q)
{
	struct weft_applied_key ak = {};
	struct weft_peer_key pk = {};
	struct weft_l4_key lk = {};
	struct weft_rule_key rk = {};
	struct weft_rule_bits *a, *p, *l;
	struct weft_rule *rule;
	__u32 index;

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
	lk.prefixlen = WEFT_L4_KEY_PORT_PREFIXLEN(16);
	lk.slot_be = bpf_htonl(q->slot);
	lk.protocol = q->protocol;
	lk.port_be = bpf_htons(q->port);

	a = bpf_map_lookup_elem(&weft_pol_applied, &ak);
	p = a ? bpf_map_lookup_elem(&weft_pol_peer, &pk) : NULL;
	l = p ? bpf_map_lookup_elem(&weft_pol_l4, &lk) : NULL;
	index = l ? pol_first_match(a, p, l) : WEFT_RULE_NONE;
	if (index == WEFT_RULE_NONE)
		return POL_PACK(WEFT_RULE_NONE, pol_tenant_default(q->slot, q->tenant_id), 0);

	rk.slot = q->slot;
	rk.index = index;
	rule = bpf_map_lookup_elem(&weft_pol_rules, &rk);
	/* A bit without its rule is the agent's bug: fail closed. */
	if (!rule)
		return POL_PACK(index, WEFT_ACTION_DENY, 0);
	return POL_PACK(index, rule->action, rule->flags);
}

#endif
