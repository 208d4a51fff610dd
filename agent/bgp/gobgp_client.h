// The edge's BGP speaker, driven through gobgpd's gRPC API (no generated
// configuration). The surface is what an edge needs: start the speaker,
// one peer per uplink, announce or withdraw a tenant's prefixes toward that
// uplink's peer only, and list the routes the peer announced.
//
// One GoBGP VRF per tenant, not per-peer export policies on the global RIB:
// tenants' address spaces overlap (two tenants may both own 10.0.0.0/24), and
// a single global table holds one destination per prefix, so per-peer
// policies could not announce the same prefix with different next hops to
// two tenants' peers, nor keep two peers' identical learned prefixes apart.
// A VRF is a table of its own; an uplink's peer is bound to its tenant's VRF
// (PeerConf.vrf), so it is sent that VRF's routes and its routes are learned
// into that VRF. Each VRF's route distinguisher and its single import/export
// route target are <local AS>:<vrf number> (the tenant's id), so no route
// leaks between tenants through the VPN table GoBGP keeps underneath.
#ifndef WEFT_AGENT_BGP_GOBGP_CLIENT_H_
#define WEFT_AGENT_BGP_GOBGP_CLIENT_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "agent/bgp/gobgp_paths.h"
#include "common/model/state.h"
#include "gobgp.grpc.pb.h"

namespace weft::bgp {

// One uplink's BGP session, in its tenant's VRF.
struct UplinkPeer {
  std::string vrf;            // GoBGP VRF name, one per tenant
  uint32_t vrf_number = 0;    // the tenant's id: route distinguisher and target
  uint32_t peer_address = 0;  // host order
  uint32_t peer_asn = 0;
  uint32_t local_asn = 0;          // the AS this session speaks as; 0: StartBgp's
  uint32_t hold_time_seconds = 9;  // a lost peer is noticed in seconds, not 90
  uint32_t keepalive_seconds = 3;
  uint32_t connect_retry_seconds = 1;
};

// What GetBgp reports of the speaker: asn 0 while BGP is not started (a
// gobgpd that has just been (re)started holds nothing).
struct SpeakerGlobal {
  uint32_t asn = 0;
  uint32_t router_id = 0;  // host order
  friend bool operator==(const SpeakerGlobal&, const SpeakerGlobal&) = default;
};

class GobgpClient {
 public:
  // A client of the gobgpd API at `api_address` ("host:port"). Each call
  // waits up to `call_timeout` for the daemon, so a just-started gobgpd is
  // waited for rather than raced.
  static std::unique_ptr<GobgpClient> Connect(const std::string& api_address,
                                              absl::Duration call_timeout = absl::Seconds(5));

  // The speaker's own AS and router id; listens on TCP 179.
  absl::Status StartBgp(uint32_t asn, uint32_t router_id);
  // The AS and router id gobgpd runs with; waits at most a second, as it is
  // asked on every reconcile to notice a gobgpd that restarted.
  absl::StatusOr<SpeakerGlobal> GetBgp();
  // A tenant's VRF, route distinguisher and target <asn>:<number>; once per
  // name (later calls for the same name do nothing).
  absl::Status AddTenantVrf(const std::string& vrf, uint32_t number);
  // The uplink's tenant VRF (AddTenantVrf) and its peer, bound to that VRF.
  absl::Status AddUplink(const UplinkPeer& uplink);
  // Closes the session with `peer_address` and forgets the peer.
  absl::Status RemoveUplink(uint32_t peer_address);
  // Deletes a tenant's VRF (AddTenantVrf) with the paths it holds; a name
  // never added is a no-op.
  absl::Status RemoveTenantVrf(const std::string& vrf);
  // Announces (withdraws) `prefixes` via `next_hop` in `vrf`, so to its peers only.
  absl::Status Announce(const std::string& vrf, absl::Span<const Ipv4Prefix> prefixes,
                        uint32_t next_hop);
  absl::Status Withdraw(const std::string& vrf, absl::Span<const Ipv4Prefix> prefixes,
                        uint32_t next_hop);
  // The routes `peer_address` announced to us (its adj-RIB-in, before policy).
  absl::StatusOr<std::vector<LearnedRoute>> LearnedRoutes(uint32_t peer_address);
  // The peers whose session is Established (addresses, host order).
  absl::StatusOr<std::vector<uint32_t>> EstablishedPeers();
  // Calls `on_event` for every peer-state and adj-RIB-in change gobgpd
  // reports, until the stream ends (gobgpd went away) or `context` is
  // cancelled; returns how it ended. No deadline: it lives as long as gobgpd.
  absl::Status WatchChanges(grpc::ClientContext& context, const std::function<void()>& on_event);
  // Closes every session and forgets the configuration.
  absl::Status StopBgp();

 private:
  GobgpClient(std::unique_ptr<apipb::GobgpApi::Stub> stub, absl::Duration call_timeout)
      : stub_(std::move(stub)), call_timeout_(call_timeout) {}
  void Prepare(grpc::ClientContext& context) const { Prepare(context, call_timeout_); }
  static void Prepare(grpc::ClientContext& context, absl::Duration timeout);

  std::unique_ptr<apipb::GobgpApi::Stub> stub_;
  absl::Duration call_timeout_;
  uint32_t local_asn_ = 0;         // set by StartBgp
  std::vector<std::string> vrfs_;  // created by AddTenantVrf
};

}  // namespace weft::bgp

#endif  // WEFT_AGENT_BGP_GOBGP_CLIENT_H_
