/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Reject: the sender of a refused flow is told at once. TCP gets a RST made
 * of its own segment turned around in place (direct packet access, XDP or
 * TC alike; the hook trims the tail), over IPv4 or IPv6. Other protocols get
 * ICMP destination unreachable, administratively prohibited, from the
 * gateway (lib/icmp.h and lib/icmp6.h, TC only).
 */
#ifndef WEFT_BPF_REJECT_H
#define WEFT_BPF_REJECT_H

#include "lib/conntrack.h"
#include "lib/csum.h"
#include "lib/ipv6.h"

#define ICMP_PKT_FILTERED 13 /* communication administratively prohibited */

/* IPv4 header + TCP header without options: the RST's IPv4 total length. */
#define REJECT_RST_IP_LEN (sizeof(struct iphdr) + sizeof(struct tcphdr))
/* The same over IPv6 (no extension headers): what the frame keeps. */
#define REJECT_RST_IP6_LEN (sizeof(struct ipv6hdr) + sizeof(struct tcphdr))

/* TCP checksum of a 20-byte header (no payload), from the sum of its pseudo
 * header's addresses. */
WEFT_INLINE __u16 reject_tcp_csum(__u64 addr_sum, const struct tcphdr *tcp)
{
	const __u16 *w = (const __u16 *)tcp;
	__u64 sum = addr_sum;

	sum += bpf_htons(IPPROTO_TCP);
	sum += bpf_htons(sizeof(struct tcphdr));
#pragma unroll
	for (int i = 0; i < (int)sizeof(struct tcphdr) / 2; i++)
		sum += w[i];
	return csum_fold32(sum);
}

/* The sum of `n` 32-bit words of addresses, as 16-bit halves. */
WEFT_INLINE __u64 reject_addr_sum(const __u32 *a, int n)
{
	__u64 sum = 0;

#pragma unroll
	for (int i = 0; i < 8; i++)
		if (i < n)
			sum += (a[i] & 0xffff) + (a[i] >> 16);
	return sum;
}

/*
 * Turns the TCP header of a segment (the 20-byte header inside the packet,
 * `ip_len` bytes of IP from its IP header) into its RST: ports swapped,
 * seq = the segment's ACK (if it had one) else 0, ack = its seq + payload +
 * SYN + FIN, RST|ACK, no options; the checksum is the family's to write.
 */
WEFT_INLINE void reject_tcp_header(struct tcphdr *tcp, __u32 ip_len, __u32 ip_hdrs)
{
	__u8 *raw = (__u8 *)tcp;
	__u8 fl = raw[13];
	__u32 hdrs = ip_hdrs + (raw[12] >> 4) * 4;
	__u32 payload = ip_len > hdrs ? ip_len - hdrs : 0;
	__u32 seq = bpf_ntohl(tcp->seq), ack = bpf_ntohl(tcp->ack_seq);
	__be16 port;

	port = tcp->source;
	tcp->source = tcp->dest;
	tcp->dest = port;
	tcp->seq = bpf_htonl((fl & TCP_FL_ACK) ? ack : 0);
	tcp->ack_seq = bpf_htonl(seq + payload + !!(fl & TCP_FL_SYN) + !!(fl & TCP_FL_FIN));
	raw[12] = 5 << 4; /* data offset 5, reserved bits clear */
	raw[13] = TCP_FL_RST | TCP_FL_ACK;
	tcp->window = 0;
	tcp->urg_ptr = 0;
	tcp->check = 0;
}

/*
 * Turns the TCP segment at eth/ip/tcp (IHL 5, the 20-byte TCP header inside
 * the packet) into the RST its sender gets back (reject_tcp_header), IPv4
 * addresses swapped and both checksums computed. The frame must then be
 * trimmed to ETH_HLEN + REJECT_RST_IP_LEN by the hook.
 */
WEFT_INLINE void reject_tcp_in_place(struct ethhdr *eth, struct iphdr *ip, struct tcphdr *tcp)
{
	reject_tcp_header(tcp, bpf_ntohs(ip->tot_len), sizeof(struct iphdr));
	eth_swap_addrs(eth);
	ipv4_swap_addrs(ip);
	ip->tot_len = bpf_htons(REJECT_RST_IP_LEN);
	ip->ttl = 64;
	ip->frag_off = bpf_htons(IP_DF);
	ip->check = 0;
	ip->check = ipv4_header_csum(ip);
	tcp->check = reject_tcp_csum(reject_addr_sum(&ip->saddr, 2), tcp);
}

/*
 * The same for a TCP segment right after the IPv6 header at `ip6` (no
 * extension headers): the frame is then trimmed to ETH_HLEN +
 * REJECT_RST_IP6_LEN by the hook.
 */
WEFT_INLINE void reject_tcp6_in_place(struct ethhdr *eth, struct ipv6hdr *ip6, struct tcphdr *tcp)
{
	reject_tcp_header(tcp, sizeof(*ip6) + bpf_ntohs(ip6->payload_len), sizeof(*ip6));
	eth_swap_addrs(eth);
	ipv6_swap_addrs(ip6);
	*(__be32 *)ip6 = bpf_htonl(0x60000000); /* version 6, no class, no flow label */
	ip6->payload_len = bpf_htons(sizeof(struct tcphdr));
	ip6->hop_limit = 64;
	tcp->check = reject_tcp_csum(reject_addr_sum((const __u32 *)&ip6->saddr, 8), tcp);
}

#endif
