#include "agent/edge/bgp_announcer.h"

#include <algorithm>
#include <iterator>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/base/log.h"
#include "common/base/status.h"
#include "common/model/net_format.h"

namespace weft::edge {
namespace {

// The prefixes of `a` that are not in `b`; both sorted by PrefixLess.
std::vector<Ipv4Prefix> Minus(const std::vector<Ipv4Prefix>& a, const std::vector<Ipv4Prefix>& b) {
  std::vector<Ipv4Prefix> out;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out), PrefixLess);
  return out;
}

}  // namespace

absl::Status BgpAnnouncer::Apply(const EdgeBgpPlan& plan) {
  const absl::Status status = ApplyOnce(plan);
  Publish();
  failing_ = !status.ok();
  if (!status.ok() && status.ToString() != last_error_) {
    last_error_ = status.ToString();
    WEFT_LOG_ERROR("BGP: %s; retried on the next reconcile", last_error_);
  } else if (status.ok() && !last_error_.empty()) {
    last_error_.clear();
    WEFT_LOG_INFO("BGP: the speaker holds the plan again");
  }
  return status;
}

absl::Status BgpAnnouncer::ApplyOnce(const EdgeBgpPlan& plan) {
  // Non-edge nodes, and edges that never had an uplink, start nothing.
  if (plan.by_tenant.empty() && !client_) return absl::OkStatus();
  RETURN_IF_ERROR(EnsureSpeaker(plan));
  absl::Status result;
  for (auto it = held_.begin(); it != held_.end();) {
    auto wanted = plan.by_tenant.find(it->first);
    if (wanted != plan.by_tenant.end() && SameSession(wanted->second, it->second)) {
      ++it;
      continue;
    }
    if (absl::Status removed = RemoveSession(it->second); !removed.ok()) {
      result.Update(removed);
      ++it;
      continue;
    }
    WEFT_LOG_INFO("BGP: uplink %s removed (tenant %s)", it->second.uplink, it->first);
    it = held_.erase(it);
  }
  for (const auto& [tenant, wanted] : plan.by_tenant) {
    auto held = held_.find(tenant);
    if (held == held_.end()) {
      if (absl::Status added = client_->AddUplink(wanted.peer); !added.ok()) {
        result.Update(WithContext(added, absl::StrCat("uplink ", wanted.uplink)));
        continue;
      }
      UplinkSession session = wanted;
      session.prefixes.clear();  // nothing announced yet
      held = held_.emplace(tenant, std::move(session)).first;
      WEFT_LOG_INFO("BGP: uplink %s: peer %s AS %d in VRF %s", wanted.uplink,
                    FormatIpv4(wanted.peer.peer_address), wanted.peer.peer_asn, tenant);
    }
    result.Update(SyncPrefixes(wanted, held->second));
  }
  return result;
}

absl::Status BgpAnnouncer::EnsureSpeaker(const EdgeBgpPlan& plan) {
  if (gobgpd_) {
    if (const absl::Status alive = gobgpd_->Alive(); !alive.ok()) {
      WEFT_LOG_ERROR("BGP: gobgpd ended (%s); starting it again", alive.ToString());
      ForgetSpeaker();
    }
  }
  if (!client_) {
    if (plan.asn == 0) return absl::OkStatus();  // no uplink yet to take the AS from
    RETURN_IF_ERROR(ConnectSpeaker());
  }
  // Asked every time: a sidecar's gobgpd restarts without the agent
  // noticing otherwise, and comes back holding nothing.
  ASSIGN_OR_RETURN(const bgp::SpeakerGlobal global, client_->GetBgp());
  if (started_.has_value()) {
    if (global == *started_) return absl::OkStatus();
    WEFT_LOG_ERROR(
        "BGP: gobgpd at %s runs AS %d router id %s, not what it was given "
        "(restarted?); giving it everything again",
        api_address_, global.asn, FormatIpv4(global.router_id));
    held_.clear();
    started_.reset();
    // a fresh client: the old one remembers VRFs the new daemon lacks
    client_ = bgp::GobgpClient::Connect(api_address_);
  }
  if (global.asn != 0) {
    // Started by a previous agent of this node (a sidecar outlives the
    // agent's restarts): what it holds is not known here, so start over.
    WEFT_LOG_INFO("BGP: gobgpd at %s was already running AS %d; stopping its BGP to start over",
                  api_address_, global.asn);
    RETURN_IF_ERROR(client_->StopBgp());
  }
  if (plan.asn == 0) return absl::OkStatus();
  RETURN_IF_ERROR(WithContext(client_->StartBgp(plan.asn, plan.router_id), "starting BGP"));
  started_ = bgp::SpeakerGlobal{.asn = plan.asn, .router_id = plan.router_id};
  WEFT_LOG_INFO("BGP: started, AS %d, router id %s, gobgpd API %s", plan.asn,
                FormatIpv4(plan.router_id), api_address_);
  return absl::OkStatus();
}

absl::Status BgpAnnouncer::ConnectSpeaker() {
  if (options_.external_api.empty()) {
    ASSIGN_OR_RETURN(gobgpd_, bgp::GobgpdProcess::Start(options_));
    api_address_ = gobgpd_->api_address();
  } else {
    api_address_ = options_.external_api;
  }
  client_ = bgp::GobgpClient::Connect(api_address_);
  return absl::OkStatus();
}

void BgpAnnouncer::ForgetSpeaker() {
  held_.clear();  // a new gobgpd holds nothing
  started_.reset();
  client_.reset();
  gobgpd_.reset();
}

absl::Status BgpAnnouncer::RemoveSession(const UplinkSession& held) {
  RETURN_IF_ERROR(client_->Withdraw(held.peer.vrf, held.prefixes, held.next_hop));
  RETURN_IF_ERROR(client_->RemoveUplink(held.peer.peer_address));
  return client_->RemoveTenantVrf(held.peer.vrf);
}

absl::Status BgpAnnouncer::SyncPrefixes(const UplinkSession& wanted, UplinkSession& held) {
  const std::vector<Ipv4Prefix> gone = Minus(held.prefixes, wanted.prefixes);
  const std::vector<Ipv4Prefix> added = Minus(wanted.prefixes, held.prefixes);
  if (gone.empty() && added.empty()) return absl::OkStatus();
  const std::string& vrf = held.peer.vrf;
  // Each prefix is recorded as it succeeds, so a failure half way leaves
  // held.prefixes true and the next Apply finishes the rest.
  for (const Ipv4Prefix& prefix : gone) {
    RETURN_IF_ERROR(WithContext(client_->Withdraw(vrf, {prefix}, held.next_hop),
                                absl::StrCat("uplink ", held.uplink)));
    held.prefixes.erase(std::find(held.prefixes.begin(), held.prefixes.end(), prefix));
    WEFT_LOG_INFO("BGP: uplink %s: %s withdrawn", held.uplink, FormatIpv4Prefix(prefix));
  }
  for (const Ipv4Prefix& prefix : added) {
    RETURN_IF_ERROR(WithContext(client_->Announce(vrf, {prefix}, held.next_hop),
                                absl::StrCat("uplink ", held.uplink)));
    held.prefixes.insert(
        std::lower_bound(held.prefixes.begin(), held.prefixes.end(), prefix, PrefixLess), prefix);
    WEFT_LOG_INFO("BGP: uplink %s: %s announced via %s", held.uplink, FormatIpv4Prefix(prefix),
                  FormatIpv4(held.next_hop));
  }
  return absl::OkStatus();
}

void BgpAnnouncer::Publish() {
  uint64_t announced = 0;
  for (const auto& [tenant, session] : held_) announced += session.prefixes.size();
  sessions_ = held_.size();
  announced_ = announced;
}

}  // namespace weft::edge
