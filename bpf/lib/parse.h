/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Bounds-checked header parsing with a cursor; each helper either returns a
 * header wholly inside the packet and advances, or returns NULL. */
#ifndef WEFT_BPF_PARSE_H
#define WEFT_BPF_PARSE_H

#include "lib/defs.h"

struct cursor {
	void *pos;
	void *end;
};

#define PARSE_HEADER(name, type)                         \
	WEFT_INLINE type *parse_##name(struct cursor *c) \
	{                                                \
		type *h = c->pos;                        \
		if ((void *)(h + 1) > c->end)            \
			return NULL;                     \
		c->pos = h + 1;                          \
		return h;                                \
	}

PARSE_HEADER(eth, struct ethhdr)
PARSE_HEADER(udp, struct udphdr)

/* ARP for IPv4 over Ethernet: the fixed-size form Weft answers. */
struct arp_eth_ipv4 {
	__be16 htype;
	__be16 ptype;
	__u8 hlen;
	__u8 plen;
	__be16 op;
	__u8 sha[ETH_ALEN];
	__be32 spa;
	__u8 tha[ETH_ALEN];
	__be32 tpa;
} __attribute__((packed));

PARSE_HEADER(arp, struct arp_eth_ipv4)

/* ICMP's first 8 bytes, as the kernel's struct icmphdr (lib/defs.h says why
 * not that one). */
struct icmp_wire {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	union {
		struct {
			__be16 id;
			__be16 sequence;
		} echo;
		struct {
			__be16 unused;
			__be16 mtu;
		} frag;
	} un;
};

PARSE_HEADER(icmp, struct icmp_wire)

struct vxlan_wire {
	__u8 flags;
	__u8 reserved1[3];
	__be32 vni_reserved2; /* VNI in the top 24 bits */
};

PARSE_HEADER(vxlan, struct vxlan_wire)

/* IPv4 with any header length (options are the caller's decision). */
WEFT_INLINE struct iphdr *parse_ipv4(struct cursor *c)
{
	struct iphdr *ip = c->pos;
	__u32 hlen;

	if ((void *)(ip + 1) > c->end)
		return NULL;
	hlen = ip->ihl * 4;
	if (hlen < sizeof(*ip) || c->pos + hlen > c->end)
		return NULL;
	c->pos += hlen;
	return ip;
}

/* The header's total length must cover the header and fit in the packet
 * (`l3_offset` from the frame start, `pkt_len` the whole frame); link
 * padding after it is fine. */
WEFT_INLINE int ipv4_length_ok(const struct iphdr *ip, __u32 l3_offset, __u32 pkt_len)
{
	__u32 tot = bpf_ntohs(ip->tot_len);

	return tot >= ip->ihl * 4 && l3_offset + tot <= pkt_len;
}

WEFT_INLINE int ipv4_is_fragment(const struct iphdr *ip)
{
	return ip->frag_off & bpf_htons(IP_MF | IP_OFFSET);
}

WEFT_INLINE int arp_is_well_formed(const struct arp_eth_ipv4 *arp)
{
	return arp->htype == bpf_htons(ARPHRD_ETHER) && arp->ptype == bpf_htons(ETH_P_IP) &&
	       arp->hlen == ETH_ALEN && arp->plen == 4;
}

#endif
