/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The one definition of everything the BPF datapath and the C++ agent both see:
 * map names, keys and values, counters and their reasons, constants.
 * Fixed-width types, explicit padding; sizes are asserted at the bottom so a
 * change on one side cannot silently misread the other.
 *
 * Byte order: fields named *_be hold network byte order (as on the wire);
 * everything else is host order.
 */
#ifndef WEFT_ABI_H
#define WEFT_ABI_H

#include <linux/types.h>

#define WEFT_VXLAN_PORT 4789
#define WEFT_VXLAN_FLAG_VNI 0x08
#define WEFT_VNI_MAX 0xffffffu
/* outer Ethernet + IPv4 + UDP + VXLAN */
#define WEFT_ENCAP_OVERHEAD 50
/* outer Ethernet + IPv6 + UDP + VXLAN (an IPv6 underlay) */
#define WEFT_ENCAP_OVERHEAD6 70
#define WEFT_ECMP_MAX 8

/* Map capacities: the agent refuses state that would not fit. */
#define WEFT_MAX_VTEPS 4096
#define WEFT_MAX_SEGMENTS 16384
#define WEFT_MAX_ENDPOINTS 131072
#define WEFT_MAX_ROUTES 65536
#define WEFT_MAX_LOCAL_IFACES 4096
#define WEFT_MAX_UPLINKS 1024

/* Pinned map names (also the BPF map names; at most 15 characters). */
#define WEFT_MAP_CONFIG "weft_config"
#define WEFT_MAP_VTEPS "weft_vteps"
#define WEFT_MAP_VTEP6 "weft_vtep6"
#define WEFT_MAP_SEGMENTS "weft_segments"
#define WEFT_MAP_EP_BY_IP "weft_ep_by_ip"
#define WEFT_MAP_EP_BY_MAC "weft_ep_by_mac"
#define WEFT_MAP_EP_BY_IF "weft_ep_by_if"
#define WEFT_MAP_ROUTES "weft_routes"
#define WEFT_MAP_STATS "weft_stats"
#define WEFT_MAP_UPLINKS "weft_uplinks"
#define WEFT_MAP_SEGMENTS6 "weft_segments6"
#define WEFT_MAP_EP_BY_IP6 "weft_ep_by_ip6"

/*
 * Every packet a Weft program sees leaves through one exit that counts it
 * under exactly one of these reasons. X(enum suffix, metric label).
 * Forwarding verdicts first, drops after WEFT_FIRST_DROP; append only.
 */
#define WEFT_REASONS(X)                                                                          \
	X(PASS_HOST, "pass_host")	  /* not Weft's: host stack */                           \
	X(DELIVER_LOCAL, "deliver_local") /* VM to VM on this host */                            \
	X(ENCAP, "encap")		  /* VM to a remote VTEP */                              \
	X(DECAP, "decap")		  /* remote VTEP to a local VM */                        \
	X(ARP_REPLY, "arp_reply")	  /* answered in the kernel */                           \
	X(ICMP_ERROR, "icmp_error")	  /* time exceeded, frag needed */                       \
	X(DROP_TRUNCATED, "truncated")                                                           \
	X(DROP_BAD_VXLAN, "bad_vxlan")                                                           \
	X(DROP_UNKNOWN_VTEP, "unknown_vtep")                                                     \
	X(DROP_UNKNOWN_VNI, "unknown_vni")                                                       \
	X(DROP_INNER_VLAN, "inner_vlan")                                                         \
	X(DROP_IP_OPTIONS, "ip_options")                                                         \
	X(DROP_FRAGMENT, "fragment")                                                             \
	X(DROP_TTL_EXPIRED, "ttl_expired")                                                       \
	X(DROP_NOT_BOUND, "interface_not_bound")                                                 \
	X(DROP_SPOOFED, "spoofed")                                                               \
	X(DROP_UNKNOWN_DST, "unknown_destination")                                               \
	X(DROP_NO_ROUTE, "no_route")                                                             \
	X(DROP_BLACKHOLE, "blackhole")                                                           \
	X(DROP_BROADCAST, "broadcast")                                                           \
	X(DROP_ARP_UNANSWERED, "arp_unanswered")                                                 \
	X(DROP_UNSUPPORTED, "unsupported_protocol")                                              \
	X(DROP_FIB, "underlay_fib_failure")                                                      \
	X(DROP_NOT_LOCAL, "not_local")                                                           \
	X(DROP_TOO_BIG, "too_big")                                                               \
	X(DROP_HELPER_FAILED, "helper_failed")                                                   \
	X(DROP_NO_CONFIG, "no_config")                                                           \
	X(REJECT, "reject") /* refused with RST / ICMP */                                        \
	X(DROP_POLICY, "policy_denied")                                                          \
	X(DROP_POLICY_REVOKED, "policy_revoked") /* open flow, rule removed */                   \
	X(DROP_CT_INVALID, "conntrack_invalid")	 /* fits no TCP state */                         \
	X(DROP_BAD_SOURCE_MAC, "bad_source_mac") /* group or zero source */                      \
	X(TO_UPLINK, "to_uplink")		 /* edge: overlay to a tenant's uplink */        \
	X(FROM_UPLINK, "from_uplink")		 /* edge: a tenant's uplink to overlay */        \
	X(DROP_UPLINK_HAIRPIN, "uplink_hairpin") /* uplink back upstream */                      \
	X(ND_REPLY, "nd_reply")			 /* neighbor or router advertisement */          \
	X(ND_DAD, "nd_dad")			 /* a VM's duplicate address probe: no answer */ \
	X(DROP_ND_UNANSWERED, "nd_unanswered")                                                   \
	X(DROP_ND_INVALID, "nd_invalid")	     /* hop limit, code, length, option */       \
	X(DROP_IPV6_EXT_HEADERS, "ipv6_ext_headers") /* beyond what is walked */

#define WEFT_REASON_ENUM_(name, label) WEFT_##name,
/* The X-macro expands to a list, not an expression. */
/* clang-format off */
enum weft_reason {
	WEFT_REASONS(WEFT_REASON_ENUM_)
	WEFT_REASON_COUNT,
};
/* clang-format on */
#undef WEFT_REASON_ENUM_
#define WEFT_FIRST_DROP WEFT_DROP_TRUNCATED
/* Verdicts at or after WEFT_FIRST_DROP are drops, except these that answer. */
/* Verdicts appended after the first drop (append only) are listed here. */
#define WEFT_REASON_IS_DROP(r)                                                    \
	((r) >= WEFT_FIRST_DROP && (r) != WEFT_REJECT && (r) != WEFT_TO_UPLINK && \
	 (r) != WEFT_FROM_UPLINK && (r) != WEFT_ND_REPLY && (r) != WEFT_ND_DAD)

/* Conntrack timeouts, seconds (agent flags; defaults in the agent). */
struct weft_ct_timeouts {
	__u32 tcp_syn;
	__u32 tcp_established;
	__u32 tcp_closing;
	__u32 udp;
	__u32 icmp;
	__u32 pad0;
};

/* weft_config[0]: per-node settings the agent writes once at start.
 * WEFT_CONFIG_F_UNDERLAY6: the fleet's underlay is IPv6; local_vtep_be and
 * every other VTEP reference (weft_endpoint.vtep_be, weft_route.nhops_be)
 * are then keys of weft_vtep6: the last 32 bits of the IPv6 address. */
#define WEFT_CONFIG_F_UNDERLAY6 0x1
struct weft_config {
	__u32 underlay_ifindex;
	__be32 local_vtep_be;
	__u16 underlay_mtu;
	__u16 flags; /* WEFT_CONFIG_F_*; was padding: older agents wrote 0 */
	__u32 pad1;
	struct weft_ct_timeouts ct;
	/* The desired-state version these maps hold: a restarted agent reads
	 * it back and tells the controller where it stands. */
	__u64 state_version;
};

/* weft_vteps: underlay address (network order) -> known VTEP. */
#define WEFT_VTEP_FOREIGN 0x1 /* a plain Linux vxlan peer, not a Weft agent */
#define WEFT_VTEP_LOCAL 0x2   /* weft_vtep6 only: this node's own address */
struct weft_vtep {
	__u32 flags;
};

/* weft_vtep6, on an IPv6 underlay: VTEP reference (the address's last 32
 * bits, as on the wire; unique in a fleet, which validation keeps) -> the
 * VTEP, this node's own included (WEFT_VTEP_LOCAL). */
struct weft_vtep6 {
	__u8 addr[16];
	__u32 flags; /* WEFT_VTEP_* */
};

/* weft_segments: VNI -> logical switch. */
struct weft_segment {
	__u32 tenant_id;
	__be32 gateway_ip_be;
	__u8 gateway_mac[6];
	__u16 pad0;
};

/*
 * One endpoint (VM NIC), the value of three indexes: by tenant + IP
 * (routing), by VNI + MAC (switching, decapsulation) and by local
 * interface (anti-spoofing of what the VM sends).
 * ifindex != 0: on this host, deliver there. Otherwise on vtep_be.
 */
struct weft_endpoint {
	__u32 tenant_id;
	__u32 vni;
	__be32 ip_be;
	__u32 ifindex;
	__be32 vtep_be;
	__u8 mac[6];
	__u16 pad0;
};

struct weft_ip_key {
	__u32 tenant_id;
	__be32 ip_be;
};

/* weft_segments6: VNI -> the IPv6 side of a segment that has one (its
 * subnet is a /64, which validation keeps), for Neighbor Discovery. */
struct weft_segment6 {
	__u8 gateway[16];
	__u8 prefix[8]; /* the /64's network half */
};

/* weft_ep_by_ip6: tenant + IPv6 address -> the endpoint (the same value
 * as in the other indexes). */
struct weft_ip6_key {
	__u32 tenant_id;
	__u8 addr[16];
};

struct weft_mac_key {
	__u32 vni;
	__u8 mac[6];
	__u16 pad0;
};

/* weft_routes: LPM trie; prefixlen counts the 32 tenant bits too. */
struct weft_route_key {
	__u32 prefixlen;
	__u32 tenant_id_be; /* network order so the trie compares it first */
	__be32 addr_be;
};
#define WEFT_ROUTE_KEY_PREFIXLEN(len) ((__u32)(32 + (len)))

/* weft_routes6: the IPv6 routes, the same values as weft_routes (REMOTE's
 * next hops are VTEP references, as for IPv4; no UPLINK: uplinks carry
 * IPv4 only). prefixlen counts the 32 tenant bits too. */
#define WEFT_MAP_ROUTES6 "weft_routes6"
struct weft_route6_key {
	__u32 prefixlen;
	__u32 tenant_id_be;
	__u8 addr[16];
};

enum weft_route_kind {
	WEFT_ROUTE_CONNECTED = 1, /* destination is an endpoint on segment vni */
	WEFT_ROUTE_REMOTE = 2,	  /* to one of nhops (flow hash), on vni */
	WEFT_ROUTE_BLACKHOLE = 3,
	/* On an edge: out of the tenant's uplink `ifindex`, to nhops_be[0]
	 * (the upstream peer, whose MAC the kernel's neighbour table has). */
	WEFT_ROUTE_UPLINK = 4,
};

struct weft_route {
	__u32 kind;
	union {
		__u32 vni;     /* CONNECTED, REMOTE */
		__u32 ifindex; /* UPLINK */
	};
	__u32 nhop_count;
	__u8 gateway_mac[6]; /* inner destination MAC for REMOTE: vni's gateway */
	__u16 pad0;
	__be32 nhops_be[WEFT_ECMP_MAX];
};

/*
 * weft_uplinks: on an edge, the interface of a tenant's uplink (ifindex; a
 * VLAN subinterface or a plain link) -> what traffic arriving there is.
 * Packets to the edge's own transit address (BGP, ping) and ARP go to the
 * host, which owns that address; everything else is the tenant's.
 */
struct weft_uplink {
	__u32 tenant_id;
	__be32 address_be; /* the edge's transit address: ICMP errors come from it */
	__be32 peer_be;	   /* the upstream router */
	__u8 mac[6];	   /* the interface's own MAC */
	__u16 pad0;
};

/* ---- Distributed firewall (docs/ARCHITECTURE.md §4) ------------------------------
 *
 * Conntrack: keyed by tenant and the flow's normalised 5-tuple (lower
 * address/port first), so both directions find one entry and identical
 * tuples of two tenants are two flows. Two LRU tables of the same entries:
 * weft_ct_pending holds flows seen in one direction only (a handshake, a
 * UDP or ICMP flow without a reply, a TCP pick-up), weft_ct the confirmed
 * ones (established and both directions seen), moved there by the packet
 * that confirms them. New flows fill and evict only the pending table, so
 * a flood of new flows cannot push an established flow out.
 */
#define WEFT_MAX_CT 262144
#define WEFT_MAP_CT "weft_ct"
#define WEFT_MAX_CT_PENDING 65536
#define WEFT_MAP_CT_PENDING "weft_ct_pending"

struct weft_ct_key {
	__u32 tenant_id;
	__be32 addr_lo_be;
	__be32 addr_hi_be;
	__be16 port_lo_be; /* ICMP echo: both ports hold the identifier */
	__be16 port_hi_be;
	__u8 protocol;
	__u8 pad0[3];
};

/* weft_scratch (per-CPU array of one): working memory of the firewall (an
 * IPv6 flow, its key and queries; a new flow's entry) that does not fit the
 * 512-byte stack beside the hook's frame (lib/firewall.h). Only a run reads
 * what it wrote there: XDP and TC ingress run with bottom halves off, so two
 * runs never interleave on one CPU (a PREEMPT_RT kernel would break that). */
#define WEFT_MAP_SCRATCH "weft_scratch"
#define WEFT_SCRATCH_BYTES 320
struct weft_scratch {
	__u64 words[WEFT_SCRATCH_BYTES / 8];
};

/* IPv6 flows: the same entries, the same two-table scheme, in tables of
 * their own (the IPv4 key keeps its size: docs/design/DUAL_STACK.md §2). */
#define WEFT_MAP_CT6 "weft_ct6"
#define WEFT_MAP_CT6_PENDING "weft_ct6_pend"

struct weft_ct6_key {
	__u32 tenant_id;
	__u8 addr_lo[16];
	__u8 addr_hi[16];
	__be16 port_lo_be;
	__be16 port_hi_be;
	__u8 protocol;
	__u8 pad0[3];
};

enum weft_ct_state {
	WEFT_CT_NEW = 0, /* UDP / ICMP: one direction seen */
	WEFT_CT_SYN_SENT = 1,
	WEFT_CT_SYN_RECV = 2,
	WEFT_CT_ESTABLISHED = 3, /* also UDP / ICMP once both directions seen */
	WEFT_CT_FIN_WAIT = 4,	 /* one side sent FIN */
	WEFT_CT_CLOSING = 5,	 /* both sent FIN, or RST */
};

#define WEFT_CT_F_ORIG_IS_LO 0x01 /* the initiator is the (addr,port)_lo side */
#define WEFT_CT_F_EGRESS 0x02	  /* egress policy of a local source judged it */
#define WEFT_CT_F_INGRESS 0x04	  /* ingress policy of a local dest judged it */
#define WEFT_CT_F_FIN_ORIG 0x08
#define WEFT_CT_F_FIN_REPLY 0x10

struct weft_ct_entry {
	__u64 last_seen_ns; /* bpf_ktime_get_ns() */
	__u64 packets[2];   /* [0] initiator -> responder, [1] reply */
	__u64 bytes[2];
	__u32 policy_generation; /* the rule set that admitted it */
	__u32 rule_index;	 /* WEFT_RULE_NONE: the tenant default */
	__u8 state;		 /* enum weft_ct_state */
	__u8 flags;		 /* WEFT_CT_F_* */
	__u8 pad0[6];
};

/*
 * Policy: classification of a new flow is an AND of three bit vectors, one
 * bit per rule, each found with one lookup: rules applied to the local
 * endpoint in this direction, rules whose peer covers the remote address,
 * rules whose protocol/port covers the flow. The lowest set bit is the
 * highest-priority matching rule. Cost is independent of the rule count.
 *
 * Every policy key carries a slot (0/1). The agent writes a new rule set
 * into the inactive slot, then flips weft_pol_ctl in one write: a packet
 * reads the slot once and sees the old set or the new one, never a mix.
 */
#define WEFT_MAX_RULES 10240
#define WEFT_RULE_WORDS (WEFT_MAX_RULES / 64)
#define WEFT_RULE_NONE 0xffffffffu
#define WEFT_MAX_POLICY_APPLIED 16384 /* (slot, dir, local endpoint) */
#define WEFT_MAX_POLICY_PEERS 65536   /* (slot, tenant, prefix) */
#define WEFT_MAX_POLICY_L4 16384      /* (slot, protocol, port prefix) */
#define WEFT_MAX_POLICY_TENANTS 8192  /* (slot, tenant) */

#define WEFT_MAP_POL_CTL "weft_pol_ctl"
#define WEFT_MAP_POL_TENANT "weft_pol_tenant"
#define WEFT_MAP_POL_APPLIED "weft_pol_applied"
#define WEFT_MAP_POL_PEER "weft_pol_peer"
#define WEFT_MAP_POL_L4 "weft_pol_l4"
#define WEFT_MAP_POL_RULES "weft_pol_rules"

/* weft_pol_ctl[0] */
struct weft_policy_ctl {
	__u32 active_slot;
	__u32 generation; /* bumped at every flip; conntrack re-checks older */
};

enum weft_direction {
	WEFT_DIR_EGRESS = 0,  /* from the local endpoint */
	WEFT_DIR_INGRESS = 1, /* to the local endpoint */
};

enum weft_rule_action {
	WEFT_ACTION_ALLOW = 0,
	WEFT_ACTION_DENY = 1,
	WEFT_ACTION_REJECT = 2,
};

struct weft_rule_bits {
	__u64 words[WEFT_RULE_WORDS];
};

/* weft_pol_tenant: a tenant's default action (absent: allow). */
struct weft_tenant_key {
	__u32 slot;
	__u32 tenant_id;
};
struct weft_tenant_policy {
	__u32 default_action; /* enum weft_rule_action */
};

/* weft_pol_applied (hash): rules of `direction` applied to an endpoint. */
struct weft_applied_key {
	__u32 slot;
	__u32 direction;
	__u32 tenant_id;
	__be32 ip_be;
};

/* weft_pol_peer (LPM): union of the rules whose peer covers the prefix
 * (the agent ORs in every shorter covering prefix; /0 holds any-peer). */
struct weft_peer_key {
	__u32 prefixlen; /* 64 + prefix length */
	__be32 slot_be;
	__be32 tenant_id_be;
	__be32 addr_be;
};
#define WEFT_PEER_KEY_PREFIXLEN(len) ((__u32)(64 + (len)))

/* The same two tables for IPv6 endpoints and peers, with the same bit
 * positions: one rule set, one flip of weft_pol_ctl, both families. */
#define WEFT_MAP_POL_APPLIED6 "weft_pol_appl6"
#define WEFT_MAP_POL_PEER6 "weft_pol_peer6"
struct weft_applied6_key {
	__u32 slot;
	__u32 direction;
	__u32 tenant_id;
	__u8 addr[16];
};
struct weft_peer6_key {
	__u32 prefixlen; /* 64 + prefix length */
	__be32 slot_be;
	__be32 tenant_id_be;
	__u8 addr[16];
};

/* weft_pol_l4 (LPM): rules matching protocol and port (ICMP: type << 8 |
 * code in the port). prefixlen 32: any protocol; 40: the protocol, any
 * port; 48 + n: the protocol and the first n bits of the port. */
struct weft_l4_key {
	__u32 prefixlen;
	__be32 slot_be;
	__u8 protocol;
	__u8 pad0;
	__be16 port_be;
};
#define WEFT_L4_KEY_ANY_PROTOCOL 32u
#define WEFT_L4_KEY_PROTOCOL 40u
#define WEFT_L4_KEY_PORT_PREFIXLEN(bits) ((__u32)(48 + (bits)))

/* weft_pol_rules (hash): what a rule does. */
struct weft_rule_key {
	__u32 slot;
	__u32 index; /* bit position in the vectors */
};
#define WEFT_RULE_F_LOG 0x1
struct weft_rule {
	__u32 action; /* enum weft_rule_action */
	__u32 flags;  /* WEFT_RULE_F_* */
};

/* weft_events (ring buffer): logged rule hits and sampled drops. */
#define WEFT_MAP_EVENTS "weft_events"
enum weft_event_type {
	WEFT_EVENT_RULE_HIT = 1,
	WEFT_EVENT_DROP = 2,
};
struct weft_event {
	__u64 timestamp_ns;
	__u32 type;   /* enum weft_event_type */
	__u32 reason; /* enum weft_reason */
	__u32 tenant_id;
	__u32 rule_index; /* WEFT_RULE_NONE if none */
	__u32 ifindex;
	__be32 saddr_be;
	__be32 daddr_be;
	__be16 sport_be;
	__be16 dport_be;
	__u8 protocol;
	__u8 direction;
	__u8 action;
	__u8 flags; /* WEFT_EVENT_F_* (older releases wrote 0 here) */
	__u32 policy_generation;
};

/* An IPv6 flow's event: a record of its own size, whose addresses are
 * here (the event's saddr_be and daddr_be are 0). */
#define WEFT_EVENT_F_IPV6 0x1
struct weft_event6 {
	struct weft_event ev;
	__u8 saddr[16];
	__u8 daddr[16];
};

/* Drop events (WEFT_EVENT_DROP) are rate-limited per CPU by a token bucket
 * in weft_event_rate (PERCPU_ARRAY of one): at most WEFT_DROP_EVENT_BURST at
 * once, refilled at WEFT_DROP_EVENT_RATE a second, so a flood of drops
 * cannot flood the ring buffer nor its reader. The rest are only counted. */
#define WEFT_MAP_EVENT_RATE "weft_event_rate"
#define WEFT_DROP_EVENT_RATE 100
#define WEFT_DROP_EVENT_BURST 100
struct weft_event_rate {
	__u64 last_ns; /* last refill */
	__u64 tokens;
};

/*
 * Trace (weftctl trace): the agent runs an attached program on a synthetic
 * packet with BPF_PROG_TEST_RUN and skb->mark = WEFT_TRACE_MARK (TC only).
 * Such a run changes no map: conntrack is only read (no entry created,
 * updated or removed), no counter is bumped and no event emitted; what
 * decided is written to weft_trace[0] instead, which the agent initialises
 * before the run (rule_index WEFT_RULE_NONE, the rest zero).
 */
#define WEFT_TRACE_MARK 0x57ef7ace
#define WEFT_MAP_TRACE "weft_trace"
enum weft_trace_ct {
	WEFT_TRACE_CT_NONE = 0,	     /* conntrack not consulted */
	WEFT_TRACE_CT_MISS = 1,	     /* a new flow: the policy judged it */
	WEFT_TRACE_CT_HIT = 2,	     /* an entry passed (or revoked) it */
	WEFT_TRACE_CT_RELATED = 3,   /* ICMP error of a tracked flow */
	WEFT_TRACE_CT_PICKED_UP = 4, /* mid-stream TCP without entry: judged */
};
#define WEFT_TRACE_F_RAN 0x1	/* the exit was reached */
#define WEFT_TRACE_F_JUDGED 0x2 /* the policy was evaluated */
#define WEFT_TRACE_F_TARGET 0x4 /* a forwarding target was found */
struct weft_trace_result {
	__u32 reason;		 /* enum weft_reason at the exit */
	__u32 rule_index;	 /* the deciding rule; WEFT_RULE_NONE: default */
	__u32 policy_generation; /* of the rule set (or the entry) that decided */
	__u32 route_kind;	 /* enum weft_route_kind; 0: switched in segment */
	__u32 vni;		 /* segment the packet goes out on */
	__be32 vtep_be;		 /* remote VTEP; 0: local delivery */
	__u32 egress_ifindex;	 /* local delivery: the VM's interface */
	__u32 tenant_id;
	__u8 ct;	/* enum weft_trace_ct */
	__u8 ct_state;	/* the entry's state on a hit */
	__u8 action;	/* enum weft_rule_action when judged */
	__u8 direction; /* enum weft_direction of the deciding rule */
	__u32 flags;	/* WEFT_TRACE_F_* */
	/* A conntrack hit: a copy of the entry, as this packet would leave it
	 * (here rather than on the BPF stack, which has no room for it). */
	struct weft_ct_entry entry;
};

/* weft_ct_stats: per-CPU array of __u64 indexed by enum weft_ct_stat; what
 * conntrack did besides passing packets. Table pressure shows as
 * insert_failed (no room) and picked_up (a mid-stream TCP packet without an
 * entry: a live flow whose entry an LRU evicted, usually a pending one under
 * new-flow churn). X(enum suffix, metric label); append only. */
#define WEFT_MAP_CT_STATS "weft_ct_stats"
#define WEFT_CT_STATS(X)                                                         \
	X(CREATED, "created")		  /* new entry for an admitted flow */   \
	X(EXPIRED, "expired")		  /* idle past its timeout: replaced */  \
	X(REUSED, "reused")		  /* SYN on a closing entry: new flow */ \
	X(INSERT_FAILED, "insert_failed") /* no entry written, or not moved */   \
	X(RELATED, "related")		  /* ICMP error of a tracked flow */     \
	X(REVALIDATED, "revalidated")	  /* older generation, still allowed */  \
	X(REVOKED, "revoked")		  /* older generation, now denied */     \
	X(PICKED_UP, "picked_up")	  /* mid-stream TCP, allowed: tracked */ \
	X(CONFIRMED, "confirmed")	  /* pending entry moved to weft_ct */

#define WEFT_CT_STAT_ENUM_(name, label) WEFT_CT_STAT_##name,
/* The X-macro expands to a list, not an expression. */
/* clang-format off */
enum weft_ct_stat {
	WEFT_CT_STATS(WEFT_CT_STAT_ENUM_)
	WEFT_CT_STAT_COUNT,
};
/* clang-format on */
#undef WEFT_CT_STAT_ENUM_

/*
 * weft_stats: per-CPU array indexed by enum weft_reason. Both counter maps
 * have a fixed number of slots, more than the reasons and events defined
 * today: libbpf adopts a pinned map only when its max_entries is the same, so
 * sizing them by the count would make every release that appends a reason
 * unable to adopt the previous release's pins (no hitless upgrade). Slots past
 * the count stay 0 and readers skip them.
 */
#define WEFT_REASON_SLOTS 64
#define WEFT_CT_STAT_SLOTS 32
struct weft_counter {
	__u64 packets;
	__u64 bytes;
};

#ifdef __cplusplus
#define WEFT_STATIC_ASSERT static_assert
#else
#define WEFT_STATIC_ASSERT _Static_assert
#endif
WEFT_STATIC_ASSERT(sizeof(struct weft_ct_timeouts) == 24, "weft_ct_timeouts ABI");
WEFT_STATIC_ASSERT(sizeof(struct weft_config) == 48, "weft_config ABI");
WEFT_STATIC_ASSERT(sizeof(struct weft_ct_key) == 20, "weft_ct_key ABI");
WEFT_STATIC_ASSERT(sizeof(struct weft_ct_entry) == 56, "weft_ct_entry ABI");
WEFT_STATIC_ASSERT(sizeof(struct weft_policy_ctl) == 8, "weft_policy_ctl ABI");
WEFT_STATIC_ASSERT(sizeof(struct weft_rule_bits) == WEFT_MAX_RULES / 8, "weft_rule_bits ABI");
WEFT_STATIC_ASSERT(WEFT_MAX_RULES % 64 == 0, "whole words of rules");
WEFT_STATIC_ASSERT(sizeof(struct weft_tenant_key) == 8, "weft_tenant_key ABI");
WEFT_STATIC_ASSERT(sizeof(struct weft_applied_key) == 16, "weft_applied_key ABI");
WEFT_STATIC_ASSERT(sizeof(struct weft_peer_key) == 16, "weft_peer_key ABI");
WEFT_STATIC_ASSERT(sizeof(struct weft_l4_key) == 12, "weft_l4_key ABI");
WEFT_STATIC_ASSERT(sizeof(struct weft_rule_key) == 8, "weft_rule_key ABI");
WEFT_STATIC_ASSERT(sizeof(struct weft_rule) == 8, "weft_rule ABI");
WEFT_STATIC_ASSERT(sizeof(struct weft_event) == 48, "weft_event ABI");
WEFT_STATIC_ASSERT(sizeof(struct weft_event6) == 80, "weft_event6 ABI");
WEFT_STATIC_ASSERT(sizeof(struct weft_event_rate) == 16, "weft_event_rate ABI");
WEFT_STATIC_ASSERT(sizeof(struct weft_trace_result) == 96, "weft_trace_result ABI");
WEFT_STATIC_ASSERT(sizeof(WEFT_MAP_EVENT_RATE) <= 16, "map name length");
WEFT_STATIC_ASSERT(sizeof(struct weft_vtep) == 4, "weft_vtep ABI");
WEFT_STATIC_ASSERT(sizeof(struct weft_vtep6) == 20, "weft_vtep6 ABI");
WEFT_STATIC_ASSERT(sizeof(struct weft_segment) == 16, "weft_segment ABI");
WEFT_STATIC_ASSERT(sizeof(struct weft_endpoint) == 28, "weft_endpoint ABI");
WEFT_STATIC_ASSERT(sizeof(struct weft_ip_key) == 8, "weft_ip_key ABI");
WEFT_STATIC_ASSERT(sizeof(struct weft_segment6) == 24, "weft_segment6 ABI");
WEFT_STATIC_ASSERT(sizeof(struct weft_ip6_key) == 20, "weft_ip6_key ABI");
WEFT_STATIC_ASSERT(WEFT_DROP_IPV6_EXT_HEADERS == 39, "weft_stats ABI: append only");
WEFT_STATIC_ASSERT(sizeof(struct weft_mac_key) == 12, "weft_mac_key ABI");
WEFT_STATIC_ASSERT(sizeof(struct weft_route_key) == 12, "weft_route_key ABI");
WEFT_STATIC_ASSERT(sizeof(struct weft_route) == 52, "weft_route ABI");
WEFT_STATIC_ASSERT(sizeof(struct weft_uplink) == 20, "weft_uplink ABI");
WEFT_STATIC_ASSERT(WEFT_DROP_UPLINK_HAIRPIN == 34, "weft_stats ABI: append only");
WEFT_STATIC_ASSERT(sizeof(struct weft_counter) == 16, "weft_counter ABI");
WEFT_STATIC_ASSERT(WEFT_REASON_COUNT <= WEFT_REASON_SLOTS, "weft_stats: reasons fit its slots");
WEFT_STATIC_ASSERT(WEFT_CT_STAT_COUNT <= WEFT_CT_STAT_SLOTS, "weft_ct_stats: events fit its slots");
WEFT_STATIC_ASSERT(WEFT_DROP_CT_INVALID == 30, "weft_stats ABI: append only");
WEFT_STATIC_ASSERT(WEFT_CT_STAT_PICKED_UP == 7, "weft_ct_stats ABI: append only");
WEFT_STATIC_ASSERT(WEFT_CT_STAT_CONFIRMED == 8, "weft_ct_stats ABI: append only");
WEFT_STATIC_ASSERT(sizeof(WEFT_MAP_CT_STATS) <= 16, "map name length");
WEFT_STATIC_ASSERT(sizeof(WEFT_MAP_CT_PENDING) <= 16, "map name length");
WEFT_STATIC_ASSERT(sizeof(struct weft_route6_key) == 24, "weft_route6_key ABI");
WEFT_STATIC_ASSERT(sizeof(WEFT_MAP_SCRATCH) <= 16, "map name length");
WEFT_STATIC_ASSERT(sizeof(struct weft_ct6_key) == 44, "weft_ct6_key ABI");
WEFT_STATIC_ASSERT(sizeof(struct weft_applied6_key) == 28, "weft_applied6_key ABI");
WEFT_STATIC_ASSERT(sizeof(struct weft_peer6_key) == 28, "weft_peer6_key ABI");
/* The kernel keeps 15 characters of a map's name: longer ones would show
 * in bpftool cut to another map's prefix. */
WEFT_STATIC_ASSERT(sizeof(WEFT_MAP_ROUTES6) <= 16, "map name length");
WEFT_STATIC_ASSERT(sizeof(WEFT_MAP_CT6_PENDING) <= 16, "map name length");
WEFT_STATIC_ASSERT(sizeof(WEFT_MAP_POL_APPLIED6) <= 16, "map name length");
WEFT_STATIC_ASSERT(sizeof(WEFT_MAP_POL_PEER6) <= 16, "map name length");

#endif /* WEFT_ABI_H */
