#include "agent/api/server.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <net/if.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <thread>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/agent.h"
#include "agent/api/answer_chunks.h"
#include "agent/api/names.h"
#include "agent/api/trace.h"
#include "agent/capabilities.h"
#include "agent/datapath/attach.h"
#include "agent/datapath/bpf_error.h"
#include "agent/datapath/maps/conntrack.h"
#include "agent/datapath/maps/counters.h"
#include "agent/datapath/maps/endpoints.h"
#include "agent/datapath/maps/policy.h"
#include "agent/datapath/maps/routes.h"
#include "agent/sync/client.h"
#include "common/base/log.h"
#include "common/base/status.h"
#include "common/model/net_format.h"
#include "common/packet/packet.h"
#include "common/plan/policy_tables.h"
#include "common/serving/grpc_status.h"
#include "grpcpp/grpcpp.h"
#include "weft/v1/agent_api.grpc.pb.h"

namespace weft::api {
namespace {

uint64_t MonotonicNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + ts.tv_nsec;
}

struct Subscriber {
  v1::MonitorRequest filter;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<v1::Event> queue;  // bounded: a slow reader loses the oldest
  uint64_t lost = 0;
};

// A long answer, in messages of bounded size (answer_chunks.h).
template <typename Response, typename Entry>
grpc::Status Send(Response answer,
                  google::protobuf::RepeatedPtrField<Entry>* (Response::*entries)(),
                  grpc::ServerWriter<Response>* writer) {
  const bool sent = WriteInChunks(std::move(answer), entries, kMaxAnswerChunkBytes,
                                  [writer](const Response& r) { return writer->Write(r); });
  if (!sent) return grpc::Status(grpc::StatusCode::CANCELLED, "the client went away");
  return grpc::Status::OK;
}

}  // namespace

class ApiServer::Impl final : public v1::AgentApi::Service {
 public:
  explicit Impl(ApiServerOptions o) : o_(std::move(o)) {}

  Agent::View Snapshot() { return o_.agent->Snapshot(); }
  const Datapath& dp() const { return o_.agent->datapath(); }

  absl::Status Listen();
  void Stop();
  void PollEvents();
  // One record of weft_events: a struct weft_event, or a weft_event6.
  int HandleEvent(const void* data, size_t size);

  grpc::Status Status(grpc::ServerContext*, const v1::StatusRequest*,
                      v1::StatusResponse* out) override;
  grpc::Status Endpoints(grpc::ServerContext*, const v1::EndpointsRequest* req,
                         grpc::ServerWriter<v1::EndpointsResponse>* writer) override;
  grpc::Status Routes(grpc::ServerContext*, const v1::RoutesRequest* req,
                      grpc::ServerWriter<v1::RoutesResponse>* writer) override;
  grpc::Status Conntrack(grpc::ServerContext*, const v1::ConntrackRequest* req,
                         grpc::ServerWriter<v1::ConntrackResponse>* writer) override;
  grpc::Status Counters(grpc::ServerContext*, const v1::CountersRequest*,
                        v1::CountersResponse* out) override;
  grpc::Status Policy(grpc::ServerContext*, const v1::PolicyRequest*,
                      v1::PolicyResponse* out) override;
  grpc::Status Trace(grpc::ServerContext*, const v1::TraceRequest* req,
                     v1::TraceResponse* out) override;
  grpc::Status Monitor(grpc::ServerContext* ctx, const v1::MonitorRequest* req,
                       grpc::ServerWriter<v1::Event>* writer) override;

 private:
  absl::Status RunTrace(const v1::TraceRequest& req, v1::TraceResponse* out);

  ApiServerOptions o_;
  std::unique_ptr<grpc::Server> server_;
  ino_t socket_ino_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread poller_;
  ring_buffer* ring_ = nullptr;
  std::mutex subs_mu_;
  std::set<Subscriber*> subs_;
  // Names for events, refreshed by the poller now and then.
  std::unique_ptr<Agent::View> event_view_;
  std::unique_ptr<Names> event_names_;
  uint64_t event_names_at_ = 0;
};

absl::Status ApiServer::Impl::Listen() {
  const std::filesystem::path path(o_.socket_path);
  std::error_code ec;
  if (path.has_parent_path()) {
    std::filesystem::create_directories(path.parent_path(), ec);
    if (ec) {
      return absl::FailedPreconditionError(
          absl::StrCat("creating ", path.parent_path().string(), ": ", ec.message()));
    }
  }
  // A socket someone still answers on is another agent's: leave it.
  if (struct stat st{}; lstat(o_.socket_path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return absl::FailedPreconditionError(
          absl::StrCat(o_.socket_path, " exists and is not a socket"));
    }
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, o_.socket_path.c_str(), sizeof(addr.sun_path) - 1);
    const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const bool live = fd >= 0 && connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    if (fd >= 0) close(fd);
    if (live) {
      return absl::AlreadyExistsError(absl::StrCat(o_.socket_path,
                                                   " is served by another process (another agent "
                                                   "for this node?); use --api_socket"));
    }
    unlink(o_.socket_path.c_str());
  }
  grpc::ServerBuilder builder;
  builder.AddListeningPort("unix:" + o_.socket_path, grpc::InsecureServerCredentials());
  BoundApiServer(builder);
  builder.RegisterService(this);
  // Created 0600 (no window where others could connect), checked after.
  const mode_t old = umask(0177);
  server_ = builder.BuildAndStart();
  umask(old);
  if (!server_) return absl::UnavailableError(absl::StrCat("cannot listen on ", o_.socket_path));
  chmod(o_.socket_path.c_str(), 0600);
  if (struct stat st{}; stat(o_.socket_path.c_str(), &st) == 0) socket_ino_ = st.st_ino;

  ring_ = ring_buffer__new(
      dp().MapFd(Map::kEvents),
      [](void* ctx, void* data, size_t size) -> int {
        return static_cast<Impl*>(ctx)->HandleEvent(data, size);
      },
      this, nullptr);
  if (!ring_) WEFT_LOG_WARN("monitor: cannot read %s: %s", WEFT_MAP_EVENTS, std::strerror(errno));
  poller_ = std::thread([this] { PollEvents(); });
  return absl::OkStatus();
}

void ApiServer::Impl::PollEvents() {
  while (!stopping_) {
    if (!ring_) {
      usleep(100000);
      continue;
    }
    bool any;
    {
      std::lock_guard<std::mutex> lock(subs_mu_);
      any = !subs_.empty();
    }
    // Without subscribers the events are consumed and dropped, so a
    // monitor started later shows what happens from then on.
    const int n = ring_buffer__poll(ring_, 100);
    if (n < 0 && n != -EINTR) usleep(100000);
    (void)any;
  }
}

int ApiServer::Impl::HandleEvent(const void* data, size_t size) {
  if (size < sizeof(weft_event)) return 0;
  weft_event6 ev6{};
  std::memcpy(&ev6, data, std::min(size, sizeof ev6));
  const weft_event& ev = ev6.ev;
  const bool v6 = (ev.flags & WEFT_EVENT_F_IPV6) && size >= sizeof ev6;
  std::lock_guard<std::mutex> lock(subs_mu_);
  if (subs_.empty()) return 0;
  const uint64_t now = MonotonicNs();
  if (!event_names_ || now - event_names_at_ > 1000000000ull) {
    event_view_ = std::make_unique<Agent::View>(Snapshot());
    event_names_ = std::make_unique<Names>(*event_view_);
    event_names_at_ = now;
  }
  v1::Event e;
  e.set_timestamp_ns(ev.timestamp_ns);
  e.set_type(ev.type == WEFT_EVENT_DROP       ? "drop"
             : ev.type == WEFT_EVENT_RULE_HIT ? "rule_hit"
                                              : absl::StrCat(ev.type));
  e.set_reason(std::string(ReasonLabel(ev.reason)));
  if (ev.type == WEFT_EVENT_RULE_HIT && ev.action == WEFT_ACTION_ALLOW) e.set_reason("allow");
  e.set_tenant_id(ev.tenant_id);
  e.set_tenant(event_names_->TenantName(ev.tenant_id));
  e.set_ifindex(ev.ifindex);
  e.set_interface(IfName(ev.ifindex));
  if (v6) {
    Ipv6Address src, dst;
    std::memcpy(src.data(), ev6.saddr, src.size());
    std::memcpy(dst.data(), ev6.daddr, dst.size());
    e.set_src(FormatIpv6(src));
    e.set_dst(FormatIpv6(dst));
  } else {
    e.set_src(FormatIpv4(ntohl(ev.saddr_be)));
    e.set_dst(FormatIpv4(ntohl(ev.daddr_be)));
  }
  e.set_sport(ntohs(ev.sport_be));
  e.set_dport(ntohs(ev.dport_be));
  // Protocol 0: an ARP packet (its sender and target addresses) or nothing
  // readable.
  e.set_protocol(ev.protocol ? packet::ProtocolName(ev.protocol) : ev.saddr_be ? "arp" : "-");
  if (ev.type == WEFT_EVENT_RULE_HIT) {
    e.set_direction(ev.direction == WEFT_DIR_INGRESS ? "ingress" : "egress");
    e.set_action(ActionName(ev.action));
    e.set_rule_index(ev.rule_index);
    auto [policy, number] = event_names_->RuleName(ev.rule_index);
    e.set_policy(policy);
    e.set_rule_number(number);
    e.set_policy_generation(ev.policy_generation);
  }
  for (Subscriber* s : subs_) {
    const v1::MonitorRequest& f = s->filter;
    if (!f.reason().empty() && f.reason() != e.reason()) continue;
    if (f.tenant_id() && f.tenant_id() != e.tenant_id()) continue;
    if (!f.type().empty() && f.type() != e.type()) continue;
    std::lock_guard<std::mutex> l(s->mu);
    if (s->queue.size() >= 4096) {
      s->queue.pop_front();
      ++s->lost;
    }
    s->queue.push_back(e);
    s->cv.notify_one();
  }
  return 0;
}

grpc::Status ApiServer::Impl::Monitor(grpc::ServerContext* ctx, const v1::MonitorRequest* req,
                                      grpc::ServerWriter<v1::Event>* writer) {
  if (!ring_) return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "no weft_events map");
  Subscriber sub;
  sub.filter = *req;
  {
    std::lock_guard<std::mutex> lock(subs_mu_);
    subs_.insert(&sub);
  }
  // Headers now: the client knows it is subscribed before any event.
  writer->SendInitialMetadata();
  while (!stopping_ && !ctx->IsCancelled()) {
    std::deque<v1::Event> batch;
    {
      std::unique_lock<std::mutex> l(sub.mu);
      sub.cv.wait_for(l, std::chrono::milliseconds(200), [&] { return !sub.queue.empty(); });
      batch.swap(sub.queue);
    }
    bool ok = true;
    for (const v1::Event& e : batch) {
      if (!(ok = writer->Write(e))) break;
    }
    if (!ok) break;
  }
  std::lock_guard<std::mutex> lock(subs_mu_);
  subs_.erase(&sub);
  return grpc::Status::OK;
}

void ApiServer::Impl::Stop() {
  if (stopping_.exchange(true)) return;
  if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  if (poller_.joinable()) poller_.join();
  if (ring_) ring_buffer__free(ring_);
  ring_ = nullptr;
  if (struct stat st{};
      socket_ino_ && stat(o_.socket_path.c_str(), &st) == 0 && st.st_ino == socket_ino_) {
    unlink(o_.socket_path.c_str());
  }
}

grpc::Status ApiServer::Impl::Status(grpc::ServerContext*, const v1::StatusRequest*,
                                     v1::StatusResponse* out) {
  const Agent::View v = Snapshot();
  out->set_node(v.options.node);
  out->set_mode(o_.controller.empty() ? "standalone" : "controller");
  // The controller the agent is on (or trying), of its --controller list.
  out->set_controller(o_.sync != nullptr ? o_.sync->controller() : o_.controller);
  out->set_controller_connected(o_.sync && o_.sync->connected());
  if (auto version = dp().AppliedStateVersion(); version.ok()) out->set_applied_version(*version);
  out->set_has_state(v.has_state);
  for (const std::string& feature : UnrealizedByThisAgent(v.state)) out->add_unrealized(feature);
  out->set_pin_dir(absl::StrCat(v.options.bpffs, "/weft/", v.options.node));
  out->set_underlay(v.options.underlay);
  auto add = [&](const std::string& name, uint32_t ifindex, Hook hook, const char* program) {
    v1::AttachedProgram* p = out->add_programs();
    p->set_interface(name);
    p->set_ifindex(ifindex);
    p->set_hook(hook == Hook::kXdp ? "xdp" : "tc");
    p->set_program(program);
    if (auto id = AttachedProgramId(hook, ifindex); id.ok()) p->set_prog_id(*id);
  };
  if (v.underlay_attached) {
    const bool xdp = v.options.underlay_hook == Hook::kXdp;
    add(v.options.underlay, v.underlay_ifindex, v.options.underlay_hook,
        xdp ? "weft_underlay_xdp" : "weft_underlay_tc");
  }
  for (const auto& [name, ifindex] : v.attached) add(name, ifindex, Hook::kTc, "weft_vm_ingress");
  const edge::LearnedRoutesWatcher& learned = o_.agent->learned();
  out->set_bgp_sessions(learned.sessions());
  out->set_bgp_sessions_established(learned.established());
  for (const auto& [uplink, count] : learned.learned_per_uplink()) {
    out->set_bgp_learned_prefixes(out->bgp_learned_prefixes() + count);
  }
  out->set_policy_maps(true);  // every object built since the firewall has them
  if (auto ctl = dp().PolicyControl(); ctl.ok()) {
    out->set_policy_slot(ctl->active_slot);
    out->set_policy_generation(ctl->generation);
    if (auto rules = ReadPolicyRules(dp(), ctl->active_slot); rules.ok()) {
      out->set_policy_rules(rules->size());
    }
  }
  return grpc::Status::OK;
}

grpc::Status ApiServer::Impl::Endpoints(grpc::ServerContext*, const v1::EndpointsRequest* req,
                                        grpc::ServerWriter<v1::EndpointsResponse>* writer) {
  const Agent::View v = Snapshot();
  const Names names(v);
  // The datapath's endpoints, named from the state.
  absl::StatusOr<std::vector<EndpointEntry>> entries = ReadEndpointsByIp(dp());
  if (!entries.ok()) return ToGrpcStatus(entries.status());
  std::map<std::pair<uint32_t, uint32_t>, weft_endpoint> in_maps;
  for (const auto& [key, ep] : *entries) in_maps[{key.tenant_id, ntohl(key.ip_be)}] = ep;
  // Their IPv6 addresses, by the same (tenant, IPv4 address).
  absl::StatusOr<std::vector<Endpoint6Entry>> entries6 = ReadEndpointsByIp6(dp());
  if (!entries6.ok()) return ToGrpcStatus(entries6.status());
  std::map<std::pair<uint32_t, uint32_t>, std::string> ip6_of;
  for (const auto& [key, ep] : *entries6) {
    Ipv6Address addr;
    std::copy(std::begin(key.addr), std::end(key.addr), addr.begin());
    ip6_of[{key.tenant_id, ntohl(ep.ip_be)}] = FormatIpv6(addr);
  }
  auto set_ip6 = [&](const std::pair<uint32_t, uint32_t>& key, v1::EndpointInfo& info) {
    if (auto it = ip6_of.find(key); it != ip6_of.end()) info.set_ip6(it->second);
  };
  std::set<std::pair<uint32_t, uint32_t>> seen;
  std::vector<v1::EndpointInfo> list;
  for (const Endpoint& e : v.state.endpoints) {
    auto seg = names.segments.find(e.segment);
    if (seg == names.segments.end()) continue;
    const uint32_t tenant_id = names.TenantId(seg->second->tenant);
    auto it = in_maps.find({tenant_id, e.ip});
    if (it == in_maps.end()) continue;  // not this node's business
    if (req->tenant_id() && req->tenant_id() != tenant_id) continue;
    seen.insert(it->first);
    v1::EndpointInfo info;
    info.set_name(e.name);
    info.set_tenant(seg->second->tenant);
    info.set_tenant_id(tenant_id);
    info.set_segment(e.segment);
    info.set_vni(seg->second->vni);
    info.set_ip(FormatIpv4(e.ip));
    set_ip6(it->first, info);
    info.set_mac(FormatMac(e.mac));
    info.set_node(e.node);
    info.set_local(e.node == v.options.node);
    info.set_interface(e.interface);
    info.set_ifindex(it->second.ifindex);
    if (it->second.vtep_be) info.set_vtep(names.VtepAddress(it->second.vtep_be));
    for (const std::string& g : e.groups) info.add_groups(g);
    info.set_in_datapath(true);
    list.push_back(std::move(info));
  }
  for (const auto& [key, ep] : in_maps) {  // in the maps, not in the state
    if (seen.contains(key) || (req->tenant_id() && req->tenant_id() != key.first)) continue;
    v1::EndpointInfo info;
    info.set_tenant_id(key.first);
    info.set_tenant(names.TenantName(key.first));
    info.set_vni(ep.vni);
    info.set_ip(FormatIpv4(key.second));
    set_ip6(key, info);
    info.set_mac(FormatMac(std::to_array(ep.mac)));
    info.set_local(ep.ifindex != 0);
    info.set_ifindex(ep.ifindex);
    info.set_interface(IfName(ep.ifindex));
    if (ep.vtep_be) info.set_vtep(names.VtepAddress(ep.vtep_be));
    info.set_in_datapath(true);
    list.push_back(std::move(info));
  }
  std::sort(list.begin(), list.end(), [](const v1::EndpointInfo& a, const v1::EndpointInfo& b) {
    return std::tuple(a.tenant_id(), a.vni(), ParseIpv4(a.ip()).value_or(0)) <
           std::tuple(b.tenant_id(), b.vni(), ParseIpv4(b.ip()).value_or(0));
  });
  v1::EndpointsResponse out;
  for (auto& e : list) *out.add_endpoints() = std::move(e);
  return Send(std::move(out), &v1::EndpointsResponse::mutable_endpoints, writer);
}

namespace {

// A route of weft_routes or weft_routes6 as the API shows it, in the same
// fields for both families.
v1::RouteInfo RouteInfoOf(const Names& names, uint32_t tenant_id, std::string prefix,
                          const weft_route& r) {
  v1::RouteInfo info;
  info.set_tenant_id(tenant_id);
  info.set_tenant(names.TenantName(tenant_id));
  info.set_prefix(std::move(prefix));
  info.set_kind(RouteKindName(r.kind));
  if (r.kind != WEFT_ROUTE_BLACKHOLE) {
    info.set_vni(r.vni);
    if (auto s = names.segments_by_vni.find(r.vni); s != names.segments_by_vni.end()) {
      info.set_segment(s->second->name);
    }
  }
  if (r.kind == WEFT_ROUTE_REMOTE) {
    for (uint32_t i = 0; i < r.nhop_count && i < WEFT_ECMP_MAX; ++i) {
      info.add_next_hops(names.VtepAddress(r.nhops_be[i]));
    }
    info.set_gateway_mac(FormatMac(std::to_array(r.gateway_mac)));
  }
  return info;
}

std::string PrefixText(const weft_route_key& key) {
  return FormatIpv4Prefix({ntohl(key.addr_be), static_cast<uint8_t>(key.prefixlen - 32)});
}

std::string PrefixText(const weft_route6_key& key) {
  return FormatIpv6Prefix({std::to_array(key.addr), static_cast<uint8_t>(key.prefixlen - 32)});
}

// The routes of one family's trie that pass the request's filter.
template <typename Key>
void AddRoutes(const Names& names, const v1::RoutesRequest& req,
               const std::vector<Entry<Key, weft_route>>& routes, std::vector<v1::RouteInfo>& out) {
  for (const auto& [key, r] : routes) {
    const uint32_t tenant_id = ntohl(key.tenant_id_be);
    if (req.tenant_id() && req.tenant_id() != tenant_id) continue;
    out.push_back(RouteInfoOf(names, tenant_id, PrefixText(key), r));
  }
}

}  // namespace

grpc::Status ApiServer::Impl::Routes(grpc::ServerContext*, const v1::RoutesRequest* req,
                                     grpc::ServerWriter<v1::RoutesResponse>* writer) {
  const Agent::View v = Snapshot();
  const Names names(v);
  absl::StatusOr<std::vector<RouteEntry>> routes = ReadRoutes(dp());
  if (!routes.ok()) return ToGrpcStatus(routes.status());
  absl::StatusOr<std::vector<Route6Entry>> routes6 = ReadRoutes6(dp());
  if (!routes6.ok()) return ToGrpcStatus(routes6.status());
  std::vector<v1::RouteInfo> list;
  AddRoutes(names, *req, *routes, list);
  AddRoutes(names, *req, *routes6, list);
  // Each trie is in (tenant, address) order: a tenant's IPv4 routes, then
  // its IPv6 ones.
  std::stable_sort(list.begin(), list.end(),
                   [](const auto& a, const auto& b) { return a.tenant_id() < b.tenant_id(); });
  v1::RoutesResponse out;
  for (auto& r : list) *out.add_routes() = std::move(r);
  return Send(std::move(out), &v1::RoutesResponse::mutable_routes, writer);
}

namespace {

// The request's address filter, of either family (none: every flow).
absl::StatusOr<std::optional<UnderlayAddress>> AddressFilter(const v1::ConntrackRequest& req) {
  if (req.address().empty()) return std::nullopt;
  absl::StatusOr<UnderlayAddress> address = ParseUnderlayAddress(req.address());
  if (!address.ok()) return WithContext(address.status(), "conntrack address filter");
  return *address;
}

// Whether `address` is the filter's; an address of the other family never is.
bool IsFiltered(const UnderlayAddress& filter, uint32_t address) {
  return !filter.is_v6() && filter.v4 == address;
}
bool IsFiltered(const UnderlayAddress& filter, const Ipv6Address& address) {
  return filter.is_v6() && *filter.v6 == address;
}

std::string AddressText(uint32_t address) { return FormatIpv4(address); }
std::string AddressText(const Ipv6Address& address) { return FormatIpv6(address); }

// What the Conntrack answer shows of a flow, besides the flow itself.
struct ConntrackContext {
  const Names& names;
  uint32_t generation;  // of the rule set in force
  uint64_t now_ns;
};

// The flows of one family's tables that pass the request's filters.
template <typename Key>
void AddFlows(const ConntrackContext& ctx, const v1::ConntrackRequest& req,
              const std::optional<UnderlayAddress>& addr_filter,
              const std::vector<Entry<Key, weft_ct_entry>>& entries,
              std::vector<v1::ConntrackEntry>& out) {
  for (const auto& entry : entries) {
    const Key& k = entry.key;
    const weft_ct_entry& e = entry.value;
    const auto [src, dst, sport, dport] = FlowOf(entry);
    if (req.tenant_id() && req.tenant_id() != k.tenant_id) continue;
    if (addr_filter && !IsFiltered(*addr_filter, src) && !IsFiltered(*addr_filter, dst)) continue;
    if (req.port() && req.port() != sport && req.port() != dport) continue;
    v1::ConntrackEntry c;
    c.set_tenant_id(k.tenant_id);
    c.set_tenant(ctx.names.TenantName(k.tenant_id));
    c.set_protocol(packet::ProtocolName(k.protocol));
    c.set_src(AddressText(src));
    c.set_dst(AddressText(dst));
    c.set_sport(sport);
    c.set_dport(dport);
    c.set_state(CtStateName(e.state));
    if (e.flags & WEFT_CT_F_EGRESS) c.add_flags("egress");
    if (e.flags & WEFT_CT_F_INGRESS) c.add_flags("ingress");
    if (e.flags & WEFT_CT_F_FIN_ORIG) c.add_flags("fin_orig");
    if (e.flags & WEFT_CT_F_FIN_REPLY) c.add_flags("fin_reply");
    c.set_packets_orig(e.packets[0]);
    c.set_bytes_orig(e.bytes[0]);
    c.set_packets_reply(e.packets[1]);
    c.set_bytes_reply(e.bytes[1]);
    c.set_age_seconds(ctx.now_ns > e.last_seen_ns ? (ctx.now_ns - e.last_seen_ns) / 1e9 : 0.0);
    c.set_policy_generation(e.policy_generation);
    c.set_rule_index(e.rule_index);
    if (e.policy_generation == ctx.generation) {
      auto [policy, number] = ctx.names.RuleName(e.rule_index);
      c.set_policy(policy);
      c.set_rule_number(number);
    }
    out.push_back(std::move(c));
  }
}

}  // namespace

grpc::Status ApiServer::Impl::Conntrack(grpc::ServerContext*, const v1::ConntrackRequest* req,
                                        grpc::ServerWriter<v1::ConntrackResponse>* writer) {
  const Agent::View v = Snapshot();
  const Names names(v);
  absl::StatusOr<std::optional<UnderlayAddress>> addr_filter = AddressFilter(*req);
  if (!addr_filter.ok()) return ToGrpcStatus(addr_filter.status());
  uint32_t generation = 0;
  if (auto ctl = dp().PolicyControl(); ctl.ok()) generation = ctl->generation;
  const ConntrackContext ctx{names, generation, MonotonicNs()};
  absl::StatusOr<std::vector<ConntrackEntry>> entries = ReadConntrack(dp());
  if (!entries.ok()) return ToGrpcStatus(entries.status());
  absl::StatusOr<std::vector<Conntrack6Entry>> entries6 = ReadConntrack6(dp());
  if (!entries6.ok()) return ToGrpcStatus(entries6.status());
  v1::ConntrackResponse out;
  out.set_total(entries->size() + entries6->size());
  std::vector<v1::ConntrackEntry> list;
  AddFlows(ctx, *req, *addr_filter, *entries, list);
  AddFlows(ctx, *req, *addr_filter, *entries6, list);
  std::sort(list.begin(), list.end(), [](const auto& a, const auto& b) {
    return std::tuple(a.tenant_id(), a.src(), a.dst(), a.protocol(), a.sport(), a.dport()) <
           std::tuple(b.tenant_id(), b.src(), b.dst(), b.protocol(), b.sport(), b.dport());
  });
  for (auto& c : list) *out.add_entries() = std::move(c);
  return Send(std::move(out), &v1::ConntrackResponse::mutable_entries, writer);
}

grpc::Status ApiServer::Impl::Counters(grpc::ServerContext*, const v1::CountersRequest*,
                                       v1::CountersResponse* out) {
  absl::StatusOr<weft::Counters> counters = ReadCounters(dp());
  if (!counters.ok()) return ToGrpcStatus(counters.status());
  for (int r = 0; r < WEFT_REASON_COUNT; ++r) {
    v1::Counter* c = out->add_counters();
    c->set_reason(std::string(ReasonLabel(r)));
    c->set_packets((*counters)[r].packets);
    c->set_bytes((*counters)[r].bytes);
    c->set_drop(WEFT_REASON_IS_DROP(r));
  }
  absl::StatusOr<CtStats> ct_stats = ReadCtStats(dp());
  if (!ct_stats.ok()) return ToGrpcStatus(ct_stats.status());
  for (int i = 0; i < WEFT_CT_STAT_COUNT; ++i) {
    v1::CtStat* s = out->add_ct_stats();
    s->set_name(std::string(CtStatLabel(i)));
    s->set_count((*ct_stats)[i]);
  }
  return grpc::Status::OK;
}

std::string PortsText(const Rule& r) {
  if (r.protocol == RuleProtocol::kIcmp) {
    return r.icmp_type ? absl::StrCat("type ", *r.icmp_type) : "";
  }
  std::vector<std::string> parts;
  for (const PortRange& p : r.ports) {
    parts.push_back(p.first == p.last ? absl::StrCat(p.first) : absl::StrCat(p.first, "-", p.last));
  }
  return absl::StrJoin(parts, ",");
}

grpc::Status ApiServer::Impl::Policy(grpc::ServerContext*, const v1::PolicyRequest*,
                                     v1::PolicyResponse* out) {
  const Agent::View v = Snapshot();
  absl::StatusOr<weft_policy_ctl> ctl = dp().PolicyControl();
  if (!ctl.ok()) return ToGrpcStatus(ctl.status());
  out->set_slot(ctl->active_slot);
  out->set_generation(ctl->generation);
  if (!v.has_state) return grpc::Status::OK;
  absl::StatusOr<std::vector<NumberedPolicyRule>> numbered =
      NumberPolicyRules(v.state, v.options.node);
  if (!numbered.ok()) return ToGrpcStatus(numbered.status());
  const Names names(v);
  for (const NumberedPolicyRule& n : *numbered) {
    const weft::Rule& rule = n.policy->rules[n.rule_number - 1];
    v1::PolicyRule* r = out->add_rules();
    r->set_index(n.index);
    r->set_tenant(n.policy->tenant);
    r->set_tenant_id(names.TenantId(n.policy->tenant));
    r->set_policy(n.policy->name);
    r->set_rule_number(n.rule_number);
    r->set_priority(n.policy->priority);
    r->set_direction(rule.direction == RuleDirection::kIngress ? "ingress" : "egress");
    if (absl::StatusOr<weft_rule> in_map = LookupPolicyRule(dp(), ctl->active_slot, n.index);
        in_map.ok()) {
      r->set_in_map(true);
      r->set_action(ActionName(in_map->action));
      r->set_log(in_map->flags & WEFT_RULE_F_LOG);
    } else {
      r->set_action(rule.action == RuleAction::kAllow  ? "allow"
                    : rule.action == RuleAction::kDeny ? "deny"
                                                       : "reject");
      r->set_log(rule.log);
    }
    static constexpr const char* kProto[] = {"any", "tcp", "udp", "icmp"};
    r->set_protocol(kProto[static_cast<int>(rule.protocol)]);
    r->set_ports(PortsText(rule));
    for (const Ipv4Prefix& p : rule.peer_cidrs) r->add_peers(FormatIpv4Prefix(p));
    for (const Ipv6Prefix& p : rule.peer_cidrs6) r->add_peers(FormatIpv6Prefix(p));
    for (const std::string& g : rule.peer_groups) r->add_peers("group:" + g);
    for (const std::string& g : n.policy->applied_to_groups) r->add_applied_to("group:" + g);
    for (const std::string& e : n.policy->applied_to_endpoints) r->add_applied_to(e);
  }
  absl::StatusOr<std::vector<TenantPolicyEntry>> defaults =
      ReadTenantDefaults(dp(), ctl->active_slot);
  if (!defaults.ok()) return ToGrpcStatus(defaults.status());
  for (const auto& [key, value] : *defaults) {
    v1::TenantDefault* d = out->add_defaults();
    d->set_tenant_id(key.tenant_id);
    d->set_tenant(names.TenantName(key.tenant_id));
    d->set_action(ActionName(value.default_action));
  }
  std::sort(out->mutable_defaults()->begin(), out->mutable_defaults()->end(),
            [](const auto& a, const auto& b) { return a.tenant_id() < b.tenant_id(); });
  return grpc::Status::OK;
}

grpc::Status ApiServer::Impl::Trace(grpc::ServerContext*, const v1::TraceRequest* req,
                                    v1::TraceResponse* out) {
  if (absl::Status s = RunTrace(*req, out); !s.ok()) return ToGrpcStatus(s);
  return grpc::Status::OK;
}

absl::Status ApiServer::Impl::RunTrace(const v1::TraceRequest& req, v1::TraceResponse* out) {
  absl::MutexLock lock(&dp().marked_runs_mu());
  return api::RunTrace(Snapshot(), dp(), req, out);
}

ApiServer::ApiServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ApiServer::~ApiServer() { Stop(); }
void ApiServer::Stop() {
  if (impl_) impl_->Stop();
}

absl::StatusOr<std::unique_ptr<ApiServer>> ApiServer::Start(ApiServerOptions options) {
  auto impl = std::make_unique<Impl>(std::move(options));
  if (absl::Status s = impl->Listen(); !s.ok()) return s;
  return std::unique_ptr<ApiServer>(new ApiServer(std::move(impl)));
}

void BoundApiServer(grpc::ServerBuilder& builder) {
  // Only root connects, but even so clients that hold calls open (monitor
  // streams) must not take a thread each without end: past the quota a call
  // is refused (RESOURCE_EXHAUSTED) while the agent goes on.
  grpc::ResourceQuota quota("weft-agent-api");
  quota.SetMaxThreads(kMaxApiThreads);
  builder.SetResourceQuota(quota);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, kMaxStreamsPerConnection);
}

}  // namespace weft::api
