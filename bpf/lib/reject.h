/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Reject: the sender of a refused flow is told at once. TCP gets a RST made
 * of its own segment turned around in place (direct packet access, XDP or
 * TC alike; the hook trims the tail). Other protocols get ICMP destination
 * unreachable, administratively prohibited (code 13), from the gateway
 * (lib/icmp.h, TC only).
 */
#ifndef WEFT_BPF_REJECT_H
#define WEFT_BPF_REJECT_H

#include "lib/conntrack.h"
#include "lib/csum.h"

#define ICMP_PKT_FILTERED 13 /* communication administratively prohibited */

/* IPv4 header + TCP header without options: the RST's IPv4 total length. */
#define REJECT_RST_IP_LEN (sizeof(struct iphdr) + sizeof(struct tcphdr))

/* TCP checksum of a 20-byte header (no payload) over the pseudo header. */
WEFT_INLINE __u16 reject_tcp_csum(const struct iphdr *ip, const struct tcphdr *tcp)
{
	const __u16 *w = (const __u16 *)tcp;
	__u64 sum = 0;

	sum += (ip->saddr & 0xffff) + (ip->saddr >> 16);
	sum += (ip->daddr & 0xffff) + (ip->daddr >> 16);
	sum += bpf_htons(IPPROTO_TCP);
	sum += bpf_htons(sizeof(struct tcphdr));
#pragma unroll
	for (int i = 0; i < (int)sizeof(struct tcphdr) / 2; i++)
		sum += w[i];
	return csum_fold32(sum);
}

/*
 * Turns the TCP segment at eth/ip/tcp (IHL 5, the 20-byte TCP header inside
 * the packet) into the RST its sender gets back: addresses and ports
 * swapped, seq = the segment's ACK (if it had one) else 0, ack = its seq +
 * payload + SYN + FIN, RST|ACK, no options, no payload; IPv4 and TCP
 * checksums computed. The frame must then be trimmed to
 * ETH_HLEN + REJECT_RST_IP_LEN by the hook.
 */
WEFT_INLINE void reject_tcp_in_place(struct ethhdr *eth, struct iphdr *ip, struct tcphdr *tcp)
{
	__u8 *raw = (__u8 *)tcp;
	__u8 fl = raw[13];
	__u32 hdrs = sizeof(struct iphdr) + (raw[12] >> 4) * 4;
	__u32 tot = bpf_ntohs(ip->tot_len);
	__u32 payload = tot > hdrs ? tot - hdrs : 0;
	__u32 seq = bpf_ntohl(tcp->seq), ack = bpf_ntohl(tcp->ack_seq);
	__be16 port;

	eth_swap_addrs(eth);
	ipv4_swap_addrs(ip);
	ip->tot_len = bpf_htons(REJECT_RST_IP_LEN);
	ip->ttl = 64;
	ip->frag_off = bpf_htons(IP_DF);
	ip->check = 0;
	ip->check = ipv4_header_csum(ip);

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
	tcp->check = reject_tcp_csum(ip, tcp);
}

#endif
