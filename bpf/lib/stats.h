/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The one exit: every program returns through verdict(), which counts the
 * packet under its reason (enum weft_reason) and turns drops into the hook's
 * drop code. A reason is the metric label an operator sees.
 */
#ifndef WEFT_BPF_STATS_H
#define WEFT_BPF_STATS_H

#include "lib/maps.h"

WEFT_INLINE int verdict(__u32 reason, __u64 bytes, int action, int drop_action)
{
	struct weft_counter *c = bpf_map_lookup_elem(&weft_stats, &reason);

	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
	return WEFT_REASON_IS_DROP(reason) ? drop_action : action;
}

#endif
