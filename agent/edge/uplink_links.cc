#include "agent/edge/uplink_links.h"

#include <fstream>
#include <optional>
#include <set>

#include "absl/strings/str_cat.h"
#include "agent/datapath/netdev.h"
#include "agent/edge/rtnetlink.h"
#include "common/base/log.h"
#include "common/base/status.h"
#include "common/model/validate.h"
#include "common/plan/tables.h"

namespace weft::edge {
namespace {

std::string Quoted(const std::string& text) { return absl::StrCat("\"", text, "\""); }

// The XDP underlay hook finds the peer's MAC with bpf_fib_lookup on the
// uplink, which the kernel answers only for a device with IPv4 forwarding on
// (BPF_FIB_LKUP_RET_FWD_DISABLED otherwise). It forwards nothing by itself:
// the uplink program hands the host only ARP, traffic to the transit address
// and frames for other stations.
absl::Status EnableIpv4Forwarding(const std::string& device) {
  const std::string path = absl::StrCat("/proc/sys/net/ipv4/conf/", device, "/forwarding");
  std::ofstream out(path);
  out << "1\n";
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("enabling IPv4 forwarding: writing ", path));
  return absl::OkStatus();
}

// The VLAN subinterface of `uplink` (index `i` in the state) on `link`:
// made when absent; an existing one must be that VLAN of that link.
absl::StatusOr<LinkFacts> VlanDevice(const Uplink& uplink, size_t i, const LinkFacts& link) {
  const std::string device = UplinkDevice(uplink);
  const std::string label = ObjectLabel("uplink", uplink.name, i);
  ASSIGN_OR_RETURN(std::optional<LinkFacts> found, LinkNamed(device));
  if (!found) {
    RETURN_IF_ERROR(WithContext(CreateVlan(device, link.ifindex, *uplink.vlan), label));
    WEFT_LOG_INFO("uplink %s: VLAN subinterface %s made on %s", uplink.name, device,
                  uplink.interface);
    ASSIGN_OR_RETURN(found, LinkNamed(device));
    if (!found) return absl::InternalError(absl::StrCat(label, ": ", device, " vanished"));
  }
  if (found->vlan_parent != link.ifindex || found->vlan_id != *uplink.vlan) {
    return FieldError(label, "vlan",
                      absl::StrCat(Quoted(device), " exists and is not VLAN ", *uplink.vlan, " of ",
                                   Quoted(uplink.interface),
                                   ": the agent names the uplink's VLAN subinterface so"));
  }
  return *found;
}

}  // namespace

absl::Status CheckUplinkLinks(const State& state, const std::string& node) {
  for (size_t i = 0; i < state.uplinks.size(); ++i) {
    const Uplink& uplink = state.uplinks[i];
    if (uplink.node != node) continue;
    ASSIGN_OR_RETURN(std::optional<LinkFacts> link, LinkNamed(uplink.interface));
    if (!link) {
      return FieldError(
          ObjectLabel("uplink", uplink.name, i), "interface",
          absl::StrCat("no link ", Quoted(uplink.interface), " on node ", Quoted(node),
                       ": the operator makes the uplink's link, the agent "
                       "its VLAN subinterface and address"));
    }
  }
  return absl::OkStatus();
}

absl::Status UplinkLinks::Configure(const State& state, const std::string& node) {
  interfaces_.clear();
  for (size_t i = 0; i < state.uplinks.size(); ++i) {
    const Uplink& uplink = state.uplinks[i];
    if (uplink.node != node) continue;
    ASSIGN_OR_RETURN(std::optional<LinkFacts> link, LinkNamed(uplink.interface));
    if (!link) {
      WEFT_LOG_WARN("uplink %s: link %s is gone; the uplink carries nothing until it is back",
                    uplink.name, uplink.interface);
      continue;
    }
    interfaces_[link->ifindex] = uplink.interface;
    LinkFacts device = *link;
    if (uplink.vlan) {
      ASSIGN_OR_RETURN(device, VlanDevice(uplink, i, *link));
    }
    const std::string name = UplinkDevice(uplink);
    interfaces_[device.ifindex] = name;
    const std::string label = ObjectLabel("uplink", uplink.name, i);
    RETURN_IF_ERROR(
        WithContext(AddAddress(device.ifindex, uplink.address, uplink.transit.length), label));
    if (!device.up) RETURN_IF_ERROR(WithContext(SetLinkUp(device.ifindex), label));
    RETURN_IF_ERROR(WithContext(EnableIpv4Forwarding(name), label));
    made_[Key(name, {uplink.address, uplink.transit.length})] =
        Made{.ifindex = device.ifindex, .vlan = uplink.vlan.has_value()};
  }
  return absl::OkStatus();
}

absl::Status UplinkLinks::RemoveUnwanted(const State& state, const std::string& node) {
  std::set<Key> wanted;
  std::set<std::string> devices;
  for (const Uplink& uplink : state.uplinks) {
    if (uplink.node != node) continue;
    const std::string device = UplinkDevice(uplink);
    wanted.insert(Key(device, {uplink.address, uplink.transit.length}));
    devices.insert(device);
  }
  absl::Status result;
  for (auto it = made_.begin(); it != made_.end();) {
    const auto& [key, made] = *it;
    if (wanted.contains(key)) {
      ++it;
      continue;
    }
    const std::string& device = key.first;
    absl::Status status;
    // Gone, or recreated under the same name by someone else since: not ours.
    if (InterfaceIndex(device) == made.ifindex) {
      if (made.vlan && !devices.contains(device)) {
        status = DeleteLink(made.ifindex);
        if (status.ok()) {
          WEFT_LOG_INFO("VLAN subinterface %s deleted: no uplink rides on it any more", device);
        }
      } else {
        status = DeleteAddress(made.ifindex, key.second.first, key.second.second);
      }
    }
    if (!status.ok()) {  // kept, to be retried by the next reconcile
      result.Update(status);
      ++it;
      continue;
    }
    it = made_.erase(it);
  }
  return result;
}

}  // namespace weft::edge
