#include "agent/bgp/gobgp_client.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/base/status.h"
#include "common/model/net_format.h"
#include "grpcpp/grpcpp.h"

namespace weft::bgp {
namespace {

constexpr uint32_t kBgpPort = 179;
// gRPC's reconnect backoff grows to two minutes by default; a restarted
// gobgpd on the loopback is worth trying again every second.
constexpr int kMaxReconnectBackoffMs = 1000;
constexpr absl::Duration kGetBgpTimeout = absl::Seconds(1);

// gRPC and absl share the canonical status codes.
absl::Status FromGrpc(const grpc::Status& status, absl::string_view call) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      absl::StrCat("gobgpd ", call, ": ", status.error_message()));
}

}  // namespace

std::unique_ptr<GobgpClient> GobgpClient::Connect(const std::string& api_address,
                                                  absl::Duration call_timeout) {
  // Plaintext: the API listens on the namespace's loopback only.
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, kMaxReconnectBackoffMs);
  auto channel = grpc::CreateCustomChannel(api_address, grpc::InsecureChannelCredentials(), args);
  return std::unique_ptr<GobgpClient>(
      new GobgpClient(apipb::GobgpApi::NewStub(channel), call_timeout));
}

void GobgpClient::Prepare(grpc::ClientContext& context, absl::Duration timeout) {
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  context.set_wait_for_ready(true);
}

absl::Status GobgpClient::StartBgp(uint32_t asn, uint32_t router_id) {
  apipb::StartBgpRequest request;
  request.mutable_global()->set_asn(asn);
  request.mutable_global()->set_router_id(FormatIpv4(router_id));
  request.mutable_global()->set_listen_port(kBgpPort);
  grpc::ClientContext context;
  Prepare(context);
  google::protobuf::Empty reply;
  RETURN_IF_ERROR(
      FromGrpc(stub_->StartBgp(&context, request, &reply), absl::StrCat("StartBgp AS ", asn)));
  local_asn_ = asn;
  return absl::OkStatus();
}

absl::StatusOr<SpeakerGlobal> GobgpClient::GetBgp() {
  grpc::ClientContext context;
  Prepare(context, std::min(call_timeout_, kGetBgpTimeout));
  apipb::GetBgpResponse reply;
  RETURN_IF_ERROR(FromGrpc(stub_->GetBgp(&context, apipb::GetBgpRequest(), &reply), "GetBgp"));
  SpeakerGlobal global{.asn = reply.global().asn()};
  if (global.asn == 0) return global;  // not started: no router id either
  absl::StatusOr<uint32_t> router_id = ParseIpv4(reply.global().router_id());
  RETURN_IF_ERROR(WithContext(router_id.status(), "gobgpd GetBgp: router id"));
  global.router_id = *router_id;
  return global;
}

absl::Status GobgpClient::AddTenantVrf(const std::string& name, uint32_t number) {
  if (local_asn_ == 0) return absl::FailedPreconditionError("AddTenantVrf before StartBgp");
  if (std::find(vrfs_.begin(), vrfs_.end(), name) != vrfs_.end()) return absl::OkStatus();
  apipb::AddVrfRequest request;
  apipb::Vrf& vrf = *request.mutable_vrf();
  vrf.set_name(name);
  vrf.set_id(number);
  *vrf.mutable_rd() = RouteDistinguisher(local_asn_, number);
  *vrf.add_import_rt() = RouteTarget(local_asn_, number);
  *vrf.add_export_rt() = RouteTarget(local_asn_, number);
  grpc::ClientContext context;
  Prepare(context);
  google::protobuf::Empty reply;
  RETURN_IF_ERROR(
      FromGrpc(stub_->AddVrf(&context, request, &reply), absl::StrCat("AddVrf ", name)));
  vrfs_.push_back(name);
  return absl::OkStatus();
}

absl::Status GobgpClient::AddUplink(const UplinkPeer& uplink) {
  RETURN_IF_ERROR(AddTenantVrf(uplink.vrf, uplink.vrf_number));
  apipb::AddPeerRequest request;
  apipb::Peer& peer = *request.mutable_peer();
  peer.mutable_conf()->set_neighbor_address(FormatIpv4(uplink.peer_address));
  peer.mutable_conf()->set_peer_asn(uplink.peer_asn);
  peer.mutable_conf()->set_local_asn(uplink.local_asn);
  peer.mutable_conf()->set_vrf(uplink.vrf);
  apipb::TimersConfig& timers = *peer.mutable_timers()->mutable_config();
  timers.set_hold_time(uplink.hold_time_seconds);
  timers.set_keepalive_interval(uplink.keepalive_seconds);
  timers.set_connect_retry(uplink.connect_retry_seconds);
  apipb::AfiSafi& ipv4 = *peer.add_afi_safis();
  *ipv4.mutable_config()->mutable_family() = Ipv4UnicastFamily();
  ipv4.mutable_config()->set_enabled(true);
  grpc::ClientContext context;
  Prepare(context);
  google::protobuf::Empty reply;
  return FromGrpc(stub_->AddPeer(&context, request, &reply),
                  absl::StrCat("AddPeer ", FormatIpv4(uplink.peer_address), " AS ", uplink.peer_asn,
                               " in VRF ", uplink.vrf));
}

absl::Status GobgpClient::RemoveUplink(uint32_t peer_address) {
  apipb::DeletePeerRequest request;
  request.set_address(FormatIpv4(peer_address));
  grpc::ClientContext context;
  Prepare(context);
  google::protobuf::Empty reply;
  return FromGrpc(stub_->DeletePeer(&context, request, &reply),
                  absl::StrCat("DeletePeer ", FormatIpv4(peer_address)));
}

absl::Status GobgpClient::RemoveTenantVrf(const std::string& name) {
  auto known = std::find(vrfs_.begin(), vrfs_.end(), name);
  if (known == vrfs_.end()) return absl::OkStatus();
  apipb::DeleteVrfRequest request;
  request.set_name(name);
  grpc::ClientContext context;
  Prepare(context);
  google::protobuf::Empty reply;
  RETURN_IF_ERROR(
      FromGrpc(stub_->DeleteVrf(&context, request, &reply), absl::StrCat("DeleteVrf ", name)));
  vrfs_.erase(known);
  return absl::OkStatus();
}

absl::Status GobgpClient::Announce(const std::string& vrf, absl::Span<const Ipv4Prefix> prefixes,
                                   uint32_t next_hop) {
  for (const Ipv4Prefix& prefix : prefixes) {
    apipb::AddPathRequest request;
    request.set_table_type(apipb::VRF);
    request.set_vrf_id(vrf);
    *request.mutable_path() = Ipv4UnicastPath(prefix, next_hop);
    grpc::ClientContext context;
    Prepare(context);
    apipb::AddPathResponse reply;
    RETURN_IF_ERROR(FromGrpc(stub_->AddPath(&context, request, &reply),
                             absl::StrCat("AddPath ", FormatIpv4Prefix(prefix), " in VRF ", vrf)));
  }
  return absl::OkStatus();
}

absl::Status GobgpClient::Withdraw(const std::string& vrf, absl::Span<const Ipv4Prefix> prefixes,
                                   uint32_t next_hop) {
  for (const Ipv4Prefix& prefix : prefixes) {
    apipb::DeletePathRequest request;
    request.set_table_type(apipb::VRF);
    request.set_vrf_id(vrf);
    *request.mutable_family() = Ipv4UnicastFamily();
    *request.mutable_path() = Ipv4UnicastPath(prefix, next_hop);
    grpc::ClientContext context;
    Prepare(context);
    google::protobuf::Empty reply;
    RETURN_IF_ERROR(
        FromGrpc(stub_->DeletePath(&context, request, &reply),
                 absl::StrCat("DeletePath ", FormatIpv4Prefix(prefix), " in VRF ", vrf)));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<LearnedRoute>> GobgpClient::LearnedRoutes(uint32_t peer_address) {
  apipb::ListPathRequest request;
  request.set_table_type(apipb::ADJ_IN);
  request.set_name(FormatIpv4(peer_address));
  *request.mutable_family() = Ipv4UnicastFamily();
  grpc::ClientContext context;
  Prepare(context);
  auto stream = stub_->ListPath(&context, request);
  std::vector<LearnedRoute> routes;
  apipb::ListPathResponse response;
  while (stream->Read(&response)) {
    for (const apipb::Path& path : response.destination().paths()) {
      ASSIGN_OR_RETURN(LearnedRoute route, ParseIpv4UnicastPath(path));
      routes.push_back(route);
    }
  }
  RETURN_IF_ERROR(
      FromGrpc(stream->Finish(), absl::StrCat("ListPath adj-in of ", FormatIpv4(peer_address))));
  return routes;
}

absl::StatusOr<std::vector<uint32_t>> GobgpClient::EstablishedPeers() {
  grpc::ClientContext context;
  Prepare(context);
  auto stream = stub_->ListPeer(&context, apipb::ListPeerRequest());
  std::vector<uint32_t> out;
  apipb::ListPeerResponse response;
  while (stream->Read(&response)) {
    const apipb::PeerState& state = response.peer().state();
    if (state.session_state() != apipb::PeerState::ESTABLISHED) continue;
    ASSIGN_OR_RETURN(const uint32_t address, ParseIpv4(state.neighbor_address()));
    out.push_back(address);
  }
  RETURN_IF_ERROR(FromGrpc(stream->Finish(), "ListPeer"));
  return out;
}

absl::Status GobgpClient::WatchChanges(grpc::ClientContext& context,
                                       const std::function<void()>& on_event) {
  apipb::WatchEventRequest request;
  request.mutable_peer();
  request.mutable_table()->add_filters()->set_type(apipb::WatchEventRequest::Table::Filter::ADJIN);
  context.set_wait_for_ready(true);
  auto stream = stub_->WatchEvent(&context, request);
  apipb::WatchEventResponse event;
  while (stream->Read(&event)) on_event();
  return FromGrpc(stream->Finish(), "WatchEvent");
}

absl::Status GobgpClient::StopBgp() {
  grpc::ClientContext context;
  Prepare(context);
  google::protobuf::Empty reply;
  RETURN_IF_ERROR(FromGrpc(stub_->StopBgp(&context, apipb::StopBgpRequest(), &reply), "StopBgp"));
  local_asn_ = 0;
  vrfs_.clear();
  return absl::OkStatus();
}

}  // namespace weft::bgp
