/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The datapath's maps. Every object includes this; the agent loads the first
 * object, then hands the same map fds to the others, so all programs of a
 * node share one set (and bpftool shows one set under the node's pin dir).
 */
#ifndef WEFT_BPF_MAPS_H
#define WEFT_BPF_MAPS_H

#include "lib/defs.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct weft_config);
} weft_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, WEFT_MAX_VTEPS);
	__type(key, __be32);
	__type(value, struct weft_vtep);
} weft_vteps SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, WEFT_MAX_VTEPS);
	__type(key, __be32);
	__type(value, struct weft_vtep6);
} weft_vtep6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, WEFT_MAX_SEGMENTS);
	__type(key, __u32);
	__type(value, struct weft_segment);
} weft_segments SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, WEFT_MAX_ENDPOINTS);
	__type(key, struct weft_ip_key);
	__type(value, struct weft_endpoint);
} weft_ep_by_ip SEC(".maps");

/* IPv6 indexes: allocated as filled (BPF_F_NO_PREALLOC; only the agent
 * writes them), so a fleet without IPv6 tenants does not pay for them. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, WEFT_MAX_SEGMENTS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct weft_segment6);
} weft_segments6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, WEFT_MAX_ENDPOINTS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct weft_ip6_key);
	__type(value, struct weft_endpoint);
} weft_ep_by_ip6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, WEFT_MAX_ENDPOINTS);
	__type(key, struct weft_mac_key);
	__type(value, struct weft_endpoint);
} weft_ep_by_mac SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, WEFT_MAX_LOCAL_IFACES);
	__type(key, __u32);
	__type(value, struct weft_endpoint);
} weft_ep_by_if SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, WEFT_MAX_ROUTES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct weft_route_key);
	__type(value, struct weft_route);
} weft_routes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, WEFT_MAX_ROUTES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct weft_route6_key);
	__type(value, struct weft_route);
} weft_routes6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, WEFT_MAX_UPLINKS);
	__type(key, __u32); /* ifindex */
	__type(value, struct weft_uplink);
} weft_uplinks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, WEFT_REASON_SLOTS);
	__type(key, __u32);
	__type(value, struct weft_counter);
} weft_stats SEC(".maps");

/* ---- firewall (docs/ARCHITECTURE.md §4) ---- */

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, WEFT_MAX_CT);
	__type(key, struct weft_ct_key);
	__type(value, struct weft_ct_entry);
} weft_ct SEC(".maps");

/* Flows seen in one direction only (abi.h): new-flow churn evicts here. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, WEFT_MAX_CT_PENDING);
	__type(key, struct weft_ct_key);
	__type(value, struct weft_ct_entry);
} weft_ct_pending SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct weft_scratch);
} weft_scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, WEFT_MAX_CT);
	__type(key, struct weft_ct6_key);
	__type(value, struct weft_ct_entry);
} weft_ct6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, WEFT_MAX_CT_PENDING);
	__type(key, struct weft_ct6_key);
	__type(value, struct weft_ct_entry);
} weft_ct6_pend SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, WEFT_CT_STAT_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} weft_ct_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct weft_policy_ctl);
} weft_pol_ctl SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, WEFT_MAX_POLICY_TENANTS);
	__type(key, struct weft_tenant_key);
	__type(value, struct weft_tenant_policy);
} weft_pol_tenant SEC(".maps");

/* The bit vectors are 1280 bytes a value: allocated as written. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, WEFT_MAX_POLICY_APPLIED);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct weft_applied_key);
	__type(value, struct weft_rule_bits);
} weft_pol_applied SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, WEFT_MAX_POLICY_PEERS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct weft_peer_key);
	__type(value, struct weft_rule_bits);
} weft_pol_peer SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, WEFT_MAX_POLICY_APPLIED);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct weft_applied6_key);
	__type(value, struct weft_rule_bits);
} weft_pol_appl6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, WEFT_MAX_POLICY_PEERS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct weft_peer6_key);
	__type(value, struct weft_rule_bits);
} weft_pol_peer6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, WEFT_MAX_POLICY_L4);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct weft_l4_key);
	__type(value, struct weft_rule_bits);
} weft_pol_l4 SEC(".maps");

/* Both slots' rules: (slot, index) for slot 0 and 1. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 2 * WEFT_MAX_RULES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct weft_rule_key);
	__type(value, struct weft_rule);
} weft_pol_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} weft_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct weft_event_rate);
} weft_event_rate SEC(".maps");

/* What decided a traced packet (skb->mark == WEFT_TRACE_MARK). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct weft_trace_result);
} weft_trace SEC(".maps");

/* The trace record, for a traced packet only: NULL otherwise. */
WEFT_INLINE struct weft_trace_result *trace_get(int trace)
{
	__u32 zero = 0;

	return trace ? bpf_map_lookup_elem(&weft_trace, &zero) : NULL;
}

WEFT_INLINE const struct weft_config *config_get(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&weft_config, &zero);
}

#endif
