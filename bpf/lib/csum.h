/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Internet checksums: full computation for headers Weft builds, RFC 1624
 * incremental update for the fields it rewrites. */
#ifndef WEFT_BPF_CSUM_H
#define WEFT_BPF_CSUM_H

#include "lib/defs.h"

WEFT_INLINE __u16 csum_fold32(__u64 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return ~sum;
}

/* A header Weft built itself (check field zero beforehand); 2-aligned. */
WEFT_INLINE __u16 ipv4_header_csum(const void *ip)
{
	const __u16 *w = ip;
	__u64 sum = 0;

#pragma unroll
	for (int i = 0; i < (int)sizeof(struct iphdr) / 2; i++)
		sum += w[i];
	return csum_fold32(sum);
}

/* TTL minus one, checksum patched incrementally (as the kernel's
 * ip_decrease_ttl: the TTL is the high byte of its 16-bit word). */
WEFT_INLINE void ipv4_decrement_ttl(struct iphdr *ip)
{
	__u32 check = ip->check;

	check += bpf_htons(0x0100);
	ip->check = (__u16)(check + (check >= 0xFFFF));
	ip->ttl--;
}

#endif
