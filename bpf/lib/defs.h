/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Common includes and the protocol constants they do not carry. The types are
 * the kernel's uapi (linux-libc-dev), not a vmlinux.h of the build machine:
 * no program reads a kernel-internal struct, so none needs CO-RE, and the
 * objects do not depend on the kernel they were built on.
 *
 * IP_DF, AF_INET and AF_INET6 are in no uapi header. <linux/icmp.h> and
 * <linux/if_arp.h> are left out: they reach glibc's <sys/socket.h>, which
 * does not build for -target bpf; their few constants are below and the ICMP
 * header is lib/parse.h's struct icmp_wire.
 */
#ifndef WEFT_BPF_DEFS_H
#define WEFT_BPF_DEFS_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "weft/abi.h"

#define ARPHRD_ETHER 1
#define ARPOP_REQUEST 1
#define ARPOP_REPLY 2
#define AF_INET 2
#define AF_INET6 10
#define IP_DF 0x4000
#define IP_MF 0x2000
#define IP_OFFSET 0x1fff
#define ICMP_DEST_UNREACH 3
#define ICMP_FRAG_NEEDED 4
#define ICMP_TIME_EXCEEDED 11
#define ICMP_EXC_TTL 0
#define IPPROTO_ICMPV6_ 58 /* <linux/in6.h> names it in an enum BPF cannot #if on */

#define WEFT_INLINE static __always_inline

/* MACs sit at even offsets in packets and in Weft's structs; 16-bit words
 * keep stack accesses aligned for the verifier. */
WEFT_INLINE int mac_equal(const __u8 *a, const __u8 *b)
{
	const __u16 *x = (const __u16 *)a, *y = (const __u16 *)b;

	return !((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]));
}

WEFT_INLINE void mac_copy(__u8 *dst, const __u8 *src)
{
	__u16 *d = (__u16 *)dst;
	const __u16 *s = (const __u16 *)src;

	d[0] = s[0];
	d[1] = s[1];
	d[2] = s[2];
}

/* Turning a packet around: the reply goes back where it came from. */
WEFT_INLINE void eth_swap_addrs(struct ethhdr *eth)
{
	__u8 mac[ETH_ALEN];

	mac_copy(mac, eth->h_dest);
	mac_copy(eth->h_dest, eth->h_source);
	mac_copy(eth->h_source, mac);
}

/* Leaves the header checksum valid: the same words, swapped. */
WEFT_INLINE void ipv4_swap_addrs(struct iphdr *ip)
{
	__be32 addr = ip->saddr;

	ip->saddr = ip->daddr;
	ip->daddr = addr;
}

/* Group bit: broadcast and multicast. */
WEFT_INLINE int mac_is_group(const __u8 *mac)
{
	return mac[0] & 1;
}

/* What a station may send from: not a group address, not all zeros (a Linux
 * bridge drops the rest, is_valid_ether_addr). */
WEFT_INLINE int mac_is_valid_source(const __u8 *mac)
{
	const __u16 *w = (const __u16 *)mac;

	return !mac_is_group(mac) && (w[0] | w[1] | w[2]);
}

#endif
