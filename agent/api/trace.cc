#include "agent/api/trace.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <net/if.h>

#include <algorithm>
#include <cerrno>
#include <iterator>
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "agent/api/names.h"
#include "agent/datapath/attach.h"
#include "agent/datapath/bpf_error.h"
#include "agent/datapath/maps/conntrack.h"
#include "agent/datapath/maps/counters.h"
#include "agent/datapath/maps/policy.h"
#include "agent/datapath/maps/routes.h"
#include "agent/datapath/prog_test_run.h"
#include "common/base/status.h"
#include "common/model/net_format.h"
#include "weft/abi.h"

namespace weft::api {
namespace {

using packet::Bytes;

constexpr MacAddress kTraceOuterSrcMac = {0x02, 0x57, 0xef, 0, 0, 1};
constexpr MacAddress kTraceOuterDstMac = {0x02, 0x57, 0xef, 0, 0, 2};

constexpr const char* kTraceCt[] = {"none", "miss", "hit", "related", "picked_up"};

std::string TcActionName(int a) {
  switch (a) {
    case 0:
      return "ok";
    case 2:
      return "shot";
    case 7:
      return "redirect";
    case -1:
      return "unspec";
  }
  return absl::StrCat(a);
}

// --- step 1: the frame the request describes, and where it enters -------------

// What a trace runs: the frame, the program and where the frame "arrives".
struct TraceInput {
  Bytes frame;
  int prog_fd = -1;
  std::string program;
  std::string iface;
  uint32_t ifindex = 0;
};

// The endpoints a request involves, found by tenant and address (or by the
// ingress interface).
struct TraceEnds {
  uint32_t tenant = 0;
  std::string iface;  // the VM interface the packet enters by
  const Endpoint* src = nullptr;
  const Endpoint* dst = nullptr;
  const Segment* src_segment = nullptr;
};

// Does `e` have the address `ip` (of either family)?
bool HasAddress(const Endpoint& e, const UnderlayAddress& ip) {
  return ip.is_v6() ? e.ip6 == ip.v6 : e.ip == ip.v4;
}

// The endpoint of `tenant` with address `ip`, or null.
const Endpoint* EndpointAt(const Agent::View& v, const Names& names, uint32_t tenant,
                           const UnderlayAddress& ip) {
  for (const Endpoint& e : v.state.endpoints) {
    if (HasAddress(e, ip) && names.TenantId(names.segments.at(e.segment)->tenant) == tenant) {
      return &e;
    }
  }
  return nullptr;
}

// The endpoint bound to `iface` on this node, or null.
const Endpoint* EndpointOn(const Agent::View& v, const std::string& iface) {
  for (const Endpoint& e : v.state.endpoints) {
    if (e.node == v.options.node && e.interface == iface) return &e;
  }
  return nullptr;
}

// From a VM: the source is the endpoint on --ingress-iface, or the one of
// --tenant with --src (which must be on this node). From the underlay: the
// source, if known, is anywhere.
absl::StatusOr<TraceEnds> FindEnds(const Agent::View& v, const Names& names,
                                   const v1::TraceRequest& req, const FrameSpec& spec) {
  TraceEnds ends{.tenant = req.tenant_id(), .iface = req.ingress_iface()};
  if (req.from_underlay()) {
    if (!ends.tenant) return absl::InvalidArgumentError("--from-underlay needs --tenant");
    ends.src = EndpointAt(v, names, ends.tenant, spec.src);
  } else if (!ends.iface.empty()) {
    ends.src = EndpointOn(v, ends.iface);
  } else {
    if (!ends.tenant) {
      return absl::InvalidArgumentError("give --ingress-iface, or --tenant with --src");
    }
    ends.src = EndpointAt(v, names, ends.tenant, spec.src);
    if (!ends.src || ends.src->node != v.options.node) {
      return absl::NotFoundError(absl::StrCat("no endpoint ", req.src(), " of tenant ", ends.tenant,
                                              " on this node; give --ingress-iface"));
    }
    ends.iface = ends.src->interface;
  }
  if (ends.src) {
    ends.src_segment = names.segments.at(ends.src->segment);
    if (!req.from_underlay()) ends.tenant = names.TenantId(ends.src_segment->tenant);
  }
  ends.dst = ends.tenant ? EndpointAt(v, names, ends.tenant, spec.dst) : nullptr;
  return ends;
}

// The source's MAC; to the destination's in the same segment, else to the
// gateway's. --src-mac and --dst-mac override.
absl::Status SetMacs(const v1::TraceRequest& req, const TraceEnds& ends, FrameSpec* spec) {
  if (ends.src) spec->src_mac = ends.src->mac;
  if (!req.src_mac().empty()) {
    ASSIGN_OR_RETURN(spec->src_mac, ParseMac(req.src_mac()));
  }
  const Segment* seg = ends.src_segment;
  if (!req.dst_mac().empty()) {
    ASSIGN_OR_RETURN(spec->dst_mac, ParseMac(req.dst_mac()));
  } else if (ends.dst && seg && ends.dst->segment == seg->name) {
    spec->dst_mac = ends.dst->mac;
  } else if (seg) {
    spec->dst_mac = seg->gateway_mac;
  } else if (ends.dst) {
    spec->dst_mac = ends.dst->mac;
  }
  return absl::OkStatus();
}

// This node's VTEP as the datapath has it: where a trace's VXLAN is sent.
absl::StatusOr<UnderlayAddress> LocalVtep(const Datapath& dp) {
  weft_config cfg{};
  const uint32_t zero = 0;
  if (bpf_map_lookup_elem(dp.MapFd(Map::kConfig), &zero, &cfg) != 0) {
    return BpfError(errno, "reading weft_config");
  }
  if (!(cfg.flags & WEFT_CONFIG_F_UNDERLAY6)) return UnderlayAddress(ntohl(cfg.local_vtep_be));
  weft_vtep6 own{};
  if (bpf_map_lookup_elem(dp.MapFd(Map::kVtep6), &cfg.local_vtep_be, &own) != 0) {
    return BpfError(errno, "reading this node's address in weft_vtep6");
  }
  UnderlayAddress vtep;
  vtep.v6.emplace();
  std::copy(std::begin(own.addr), std::end(own.addr), vtep.v6->begin());
  return vtep;
}

// Into the underlay's TC program, in VXLAN from the source's VTEP (or
// --src-vtep) to this node's, over the underlay's family.
absl::StatusOr<TraceInput> FromUnderlay(const Agent::View& v, const Names& names,
                                        const Datapath& dp, const v1::TraceRequest& req,
                                        const TraceEnds& ends, const Bytes& frame) {
  ASSIGN_OR_RETURN(const UnderlayAddress local_vtep, LocalVtep(dp));
  UnderlayAddress src_vtep;
  if (!req.src_vtep().empty()) {
    absl::StatusOr<UnderlayAddress> given = ParseUnderlayAddress(req.src_vtep());
    if (!given.ok()) return WithContext(given.status(), "--src-vtep");
    if (given->is_v6() != local_vtep.is_v6()) {
      return absl::InvalidArgumentError(absl::StrCat("--src-vtep ", req.src_vtep(),
                                                     ": this node's underlay is ",
                                                     local_vtep.is_v6() ? "IPv6" : "IPv4"));
    }
    src_vtep = *std::move(given);
  } else if (ends.src && names.nodes.contains(ends.src->node)) {
    src_vtep = names.nodes.at(ends.src->node)->vtep;
  } else {
    return absl::InvalidArgumentError("--src is no known endpoint: give --src-vtep");
  }
  const uint32_t vni = req.vni() ? req.vni() : (ends.src_segment ? ends.src_segment->vni : 0);
  if (!vni) return absl::InvalidArgumentError("give --vni");
  return TraceInput{
      .frame = WrapVxlan(frame, kTraceOuterSrcMac, kTraceOuterDstMac, src_vtep, local_vtep, vni),
      .prog_fd = dp.UnderlayTcProgramFd(),
      .program = "weft_underlay_tc",
      .iface = v.options.underlay,
      .ifindex = v.underlay_ifindex};
}

// Into the VM program, on the VM's interface.
absl::StatusOr<TraceInput> FromVm(const Datapath& dp, const TraceEnds& ends, Bytes frame) {
  const uint32_t ifindex = if_nametoindex(ends.iface.c_str());
  if (!ifindex) return absl::NotFoundError(absl::StrCat("no interface ", ends.iface));
  return TraceInput{.frame = std::move(frame),
                    .prog_fd = dp.VmProgramFd(),
                    .program = "weft_vm_ingress",
                    .iface = ends.iface,
                    .ifindex = ifindex};
}

absl::StatusOr<TraceInput> TraceInputFrom(const Agent::View& v, const Names& names,
                                          const Datapath& dp, const v1::TraceRequest& req) {
  ASSIGN_OR_RETURN(FrameSpec spec, FrameSpecFrom(req));
  ASSIGN_OR_RETURN(const TraceEnds ends, FindEnds(v, names, req, spec));
  RETURN_IF_ERROR(SetMacs(req, ends, &spec));
  Bytes frame = BuildFrame(spec);
  if (req.from_underlay()) return FromUnderlay(v, names, dp, req, ends, frame);
  return FromVm(dp, ends, std::move(frame));
}

// --- step 2: the run -----------------------------------------------------------

// What the program did and recorded.
struct TraceRun {
  ProgTestRunOutput run;
  weft_trace_result record{};
};

absl::StatusOr<TraceRun> Run(int trace_fd, const TraceInput& in) {
  const uint32_t zero = 0;
  TraceRun out;
  out.record.rule_index = WEFT_RULE_NONE;
  if (bpf_map_update_elem(trace_fd, &zero, &out.record, BPF_ANY) != 0) {
    return BpfError(errno, "resetting weft_trace");
  }
  absl::StatusOr<ProgTestRunOutput> run = ProgTestRun({.prog_fd = in.prog_fd,
                                                       .hook = Hook::kTc,
                                                       .ingress_ifindex = in.ifindex,
                                                       .mark = WEFT_TRACE_MARK,
                                                       .frame = in.frame});
  if (!run.ok()) return WithContext(run.status(), in.program);
  out.run = *std::move(run);
  if (bpf_map_lookup_elem(trace_fd, &zero, &out.record) != 0) {
    return BpfError(errno, "reading weft_trace");
  }
  if (!(out.record.flags & WEFT_TRACE_F_RAN)) {
    return absl::InternalError(
        "the program did not record the trace (objects without trace support?)");
  }
  return out;
}

// --- step 3: what it means -----------------------------------------------------

void DescribeInput(const TraceInput& in, v1::TraceResponse* out) {
  out->set_program(in.program);
  out->set_ingress_iface(in.iface);
  out->set_ingress_ifindex(in.ifindex);
  if (auto id = ProgramId(in.prog_fd); id.ok()) out->set_prog_id(*id);
  // From the underlay, the inner headers are what the operator asked about.
  uint32_t vni = 0;
  v1::PacketHeaders outer;
  ParseFrame(in.frame, &outer, out->mutable_input(), &vni);
}

// The verdict, conntrack, policy and forwarding the program recorded.
void DescribeRecord(const Names& names, const TraceRun& r, v1::TraceResponse* out) {
  const weft_trace_result& t = r.record;
  out->set_tc_action(TcActionName(static_cast<int>(r.run.retval)));
  out->set_reason(std::string(ReasonLabel(t.reason)));
  out->set_dropped(WEFT_REASON_IS_DROP(t.reason));
  out->set_conntrack(t.ct < std::size(kTraceCt) ? kTraceCt[t.ct] : "?");
  if (t.ct == WEFT_TRACE_CT_HIT) out->set_ct_state(CtStateName(t.ct_state));
  out->set_policy_judged(t.flags & WEFT_TRACE_F_JUDGED);
  if (t.flags & WEFT_TRACE_F_JUDGED) {
    out->set_policy_action(ActionName(t.action));
    out->set_direction(t.direction == WEFT_DIR_INGRESS ? "ingress" : "egress");
  }
  out->set_rule_index(t.rule_index);
  out->set_policy_generation(t.policy_generation);
  auto [policy, number] = names.RuleName(t.rule_index);
  out->set_policy(policy);
  out->set_rule_number(number);
  if (t.flags & WEFT_TRACE_F_TARGET) {
    out->set_route(t.route_kind ? RouteKindName(t.route_kind) : "switched");
    out->set_vni(t.vni);
    if (t.vtep_be) out->set_vtep(names.VtepAddress(t.vtep_be));
  }
  if (t.egress_ifindex) {
    out->set_egress_ifindex(t.egress_ifindex);
    out->set_egress_iface(IfName(t.egress_ifindex));
  }
}

// The frame that came out: encapsulated (from a VM) or not.
void DescribeOutput(const v1::TraceRequest& req, const Bytes& frame, v1::TraceResponse* out) {
  uint32_t vni = 0;
  const bool vxlan = ParseFrame(frame, out->mutable_outer(), out->mutable_output(), &vni);
  out->set_encapsulated(vxlan && !req.from_underlay());
  if (out->encapsulated()) {
    out->set_outer_vni(vni);
  } else if (req.from_underlay() && out->output().ethertype().empty()) {
    out->clear_outer();
  }
}

// One line an operator reads first.
std::string Summary(const weft_trace_result& t, const v1::TraceResponse& r) {
  std::string summary;
  if (r.dropped()) {
    summary = absl::StrCat("DROP (", r.reason(), ")");
  } else if (t.reason == WEFT_REJECT) {
    summary = "REJECT (answered to the sender)";
  } else {
    summary = absl::StrCat("PASS (", r.reason(), ")");
  }
  if (r.policy_judged() || t.ct == WEFT_TRACE_CT_HIT) {
    if (!r.policy().empty()) {
      absl::StrAppend(&summary, " by ", r.policy(), " rule ", r.rule_number());
    } else if (t.rule_index != WEFT_RULE_NONE) {
      absl::StrAppend(&summary, " by rule #", t.rule_index);
    } else {
      absl::StrAppend(&summary, " by the tenant default");
    }
  }
  if (r.encapsulated()) {
    absl::StrAppend(&summary, ": VXLAN VNI ", r.outer_vni(), " to VTEP ", r.outer().dst());
  } else if (!r.egress_iface().empty() && !r.dropped()) {
    absl::StrAppend(&summary, ": to ", r.egress_iface());
  }
  return summary;
}

}  // namespace

absl::Status RunTrace(const Agent::View& v, const Datapath& dp, const v1::TraceRequest& req,
                      v1::TraceResponse* out) {
  RETURN_IF_ERROR(CheckTraceRequest(req));
  if (!v.has_state) return absl::FailedPreconditionError("the agent has no state yet");
  const int trace_fd = dp.MapFd(Map::kTrace);
  const Names names(v);
  ASSIGN_OR_RETURN(const TraceInput in, TraceInputFrom(v, names, dp, req));
  DescribeInput(in, out);
  ASSIGN_OR_RETURN(const TraceRun run, Run(trace_fd, in));
  DescribeRecord(names, run, out);
  DescribeOutput(req, run.run.frame, out);
  out->set_summary(Summary(run.record, *out));
  return absl::OkStatus();
}

}  // namespace weft::api
