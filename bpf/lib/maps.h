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
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, WEFT_REASON_COUNT);
	__type(key, __u32);
	__type(value, struct weft_counter);
} weft_stats SEC(".maps");

WEFT_INLINE const struct weft_config *config_get(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&weft_config, &zero);
}

#endif
