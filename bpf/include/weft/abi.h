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

#ifndef __bpf__
#include <linux/types.h>
#endif

#define WEFT_VXLAN_PORT 4789
#define WEFT_VXLAN_FLAG_VNI 0x08
#define WEFT_VNI_MAX 0xffffffu
/* outer Ethernet + IPv4 + UDP + VXLAN */
#define WEFT_ENCAP_OVERHEAD 50
#define WEFT_ECMP_MAX 8

/* Map capacities: the agent refuses state that would not fit. */
#define WEFT_MAX_VTEPS 4096
#define WEFT_MAX_SEGMENTS 16384
#define WEFT_MAX_ENDPOINTS 131072
#define WEFT_MAX_ROUTES 65536
#define WEFT_MAX_LOCAL_IFACES 4096

/* Pinned map names (also the BPF map names; at most 15 characters). */
#define WEFT_MAP_CONFIG "weft_config"
#define WEFT_MAP_VTEPS "weft_vteps"
#define WEFT_MAP_SEGMENTS "weft_segments"
#define WEFT_MAP_EP_BY_IP "weft_ep_by_ip"
#define WEFT_MAP_EP_BY_MAC "weft_ep_by_mac"
#define WEFT_MAP_EP_BY_IF "weft_ep_by_if"
#define WEFT_MAP_ROUTES "weft_routes"
#define WEFT_MAP_STATS "weft_stats"

/*
 * Every packet a Weft program sees leaves through one exit that counts it
 * under exactly one of these reasons. X(enum suffix, metric label).
 * Forwarding verdicts first, drops after WEFT_FIRST_DROP; append only.
 */
#define WEFT_REASONS(X)                                                       \
	X(PASS_HOST, "pass_host")                 /* not Weft's: host stack */    \
	X(DELIVER_LOCAL, "deliver_local")         /* VM to VM on this host */     \
	X(ENCAP, "encap")                         /* VM to a remote VTEP */       \
	X(DECAP, "decap")                         /* remote VTEP to a local VM */ \
	X(ARP_REPLY, "arp_reply")                 /* answered in the kernel */    \
	X(ICMP_ERROR, "icmp_error")               /* time exceeded, frag needed */\
	X(DROP_TRUNCATED, "truncated")                                            \
	X(DROP_BAD_VXLAN, "bad_vxlan")                                            \
	X(DROP_UNKNOWN_VTEP, "unknown_vtep")                                      \
	X(DROP_UNKNOWN_VNI, "unknown_vni")                                        \
	X(DROP_INNER_VLAN, "inner_vlan")                                          \
	X(DROP_IP_OPTIONS, "ip_options")                                          \
	X(DROP_FRAGMENT, "fragment")                                              \
	X(DROP_TTL_EXPIRED, "ttl_expired")                                        \
	X(DROP_NOT_BOUND, "interface_not_bound")                                  \
	X(DROP_SPOOFED, "spoofed")                                                \
	X(DROP_UNKNOWN_DST, "unknown_destination")                                \
	X(DROP_NO_ROUTE, "no_route")                                              \
	X(DROP_BLACKHOLE, "blackhole")                                            \
	X(DROP_BROADCAST, "broadcast")                                            \
	X(DROP_ARP_UNANSWERED, "arp_unanswered")                                  \
	X(DROP_UNSUPPORTED, "unsupported_protocol")                               \
	X(DROP_FIB, "underlay_fib_failure")                                       \
	X(DROP_NOT_LOCAL, "not_local")                                            \
	X(DROP_TOO_BIG, "too_big")                                                \
	X(DROP_HELPER_FAILED, "helper_failed")                                    \
	X(DROP_NO_CONFIG, "no_config")

#define WEFT_REASON_ENUM_(name, label) WEFT_##name,
enum weft_reason {
	WEFT_REASONS(WEFT_REASON_ENUM_)
	WEFT_REASON_COUNT,
};
#undef WEFT_REASON_ENUM_
#define WEFT_FIRST_DROP WEFT_DROP_TRUNCATED

/* weft_config[0]: per-node settings the agent writes once at start. */
struct weft_config {
	__u32 underlay_ifindex;
	__be32 local_vtep_be;
	__u16 underlay_mtu;
	__u16 pad0;
	__u32 pad1;
};

/* weft_vteps: underlay address (network order) -> known VTEP. */
#define WEFT_VTEP_FOREIGN 0x1 /* a plain Linux vxlan peer, not a Weft agent */
struct weft_vtep {
	__u32 flags;
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
#define WEFT_ROUTE_KEY_PREFIXLEN(len) (32 + (len))

enum weft_route_kind {
	WEFT_ROUTE_CONNECTED = 1, /* destination is an endpoint on segment vni */
	WEFT_ROUTE_REMOTE = 2,    /* to one of nhops (flow hash), on vni */
	WEFT_ROUTE_BLACKHOLE = 3,
};

struct weft_route {
	__u32 kind;
	__u32 vni;
	__u32 nhop_count;
	__u8 gateway_mac[6]; /* inner destination MAC for REMOTE: vni's gateway */
	__u16 pad0;
	__be32 nhops_be[WEFT_ECMP_MAX];
};

/* weft_stats: per-CPU array indexed by enum weft_reason. */
struct weft_counter {
	__u64 packets;
	__u64 bytes;
};

#ifdef __cplusplus
#define WEFT_STATIC_ASSERT static_assert
#else
#define WEFT_STATIC_ASSERT _Static_assert
#endif
WEFT_STATIC_ASSERT(sizeof(struct weft_config) == 16, "weft_config ABI");
WEFT_STATIC_ASSERT(sizeof(struct weft_vtep) == 4, "weft_vtep ABI");
WEFT_STATIC_ASSERT(sizeof(struct weft_segment) == 16, "weft_segment ABI");
WEFT_STATIC_ASSERT(sizeof(struct weft_endpoint) == 28, "weft_endpoint ABI");
WEFT_STATIC_ASSERT(sizeof(struct weft_ip_key) == 8, "weft_ip_key ABI");
WEFT_STATIC_ASSERT(sizeof(struct weft_mac_key) == 12, "weft_mac_key ABI");
WEFT_STATIC_ASSERT(sizeof(struct weft_route_key) == 12, "weft_route_key ABI");
WEFT_STATIC_ASSERT(sizeof(struct weft_route) == 52, "weft_route ABI");
WEFT_STATIC_ASSERT(sizeof(struct weft_counter) == 16, "weft_counter ABI");
WEFT_STATIC_ASSERT(WEFT_REASON_COUNT <= 64, "weft_stats capacity");

#endif /* WEFT_ABI_H */
