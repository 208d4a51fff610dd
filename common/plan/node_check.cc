#include "common/plan/node_check.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "common/base/status.h"
#include "common/model/validate.h"
#include "common/plan/policy_tables.h"
#include "common/plan/tables.h"

namespace weft {
namespace {

// IFNAMSIZ - 1: the kernel's limit on an interface name.
constexpr size_t kMaxInterfaceName = 15;

// The VLAN subinterfaces the agent makes for `node`'s uplinks: a name the
// kernel takes, and no endpoint bound to one (ValidateState sees the links,
// not the names the agent gives their VLANs).
absl::Status CheckUplinkDevices(const State& state, const std::string& node) {
  std::map<std::string, const Uplink*> devices;
  for (size_t i = 0; i < state.uplinks.size(); ++i) {
    const Uplink& uplink = state.uplinks[i];
    if (uplink.node != node || !uplink.vlan) continue;
    const std::string device = UplinkDevice(uplink);
    if (device.size() > kMaxInterfaceName) {
      return FieldError(ObjectLabel("uplink", uplink.name, i), "vlan",
                        absl::StrCat("the VLAN subinterface \"", device, "\" would be ",
                                     device.size(), " characters, over the kernel's ",
                                     kMaxInterfaceName, ": name the link with at most ",
                                     kMaxInterfaceName - (device.size() - uplink.interface.size()),
                                     " characters"));
    }
    devices[device] = &uplink;
  }
  for (size_t i = 0; i < state.endpoints.size(); ++i) {
    const Endpoint& ep = state.endpoints[i];
    if (ep.node != node) continue;
    auto it = devices.find(ep.interface);
    if (it == devices.end()) continue;
    return FieldError(
        ObjectLabel("endpoint", ep.name, i), "interface",
        absl::StrCat("\"", ep.interface, "\" on node \"", node, "\" is uplink \"", it->second->name,
                     "\"'s VLAN subinterface: an endpoint may not take an "
                     "interface the agent relies on"));
  }
  return absl::OkStatus();
}

absl::Status CheckReservedInterfaces(const State& state, const std::string& node,
                                     const ReservedInterfaces& reserved) {
  for (size_t i = 0; i < state.endpoints.size(); ++i) {
    const Endpoint& ep = state.endpoints[i];
    if (ep.node != node) continue;
    auto it = reserved.find(ep.interface);
    if (it == reserved.end()) continue;
    return FieldError(ObjectLabel("endpoint", ep.name, i), "interface",
                      absl::StrCat("\"", ep.interface, "\" is ", it->second, " on node \"", node,
                                   "\": an endpoint may not take an interface the agent "
                                   "relies on"));
  }
  // (Endpoints on the node's uplinks are ValidateState's: both are in the
  // state.) An uplink's VLAN may ride on the underlay, a trunk; the plain
  // link may not be one the agent holds for itself.
  for (size_t i = 0; i < state.uplinks.size(); ++i) {
    const Uplink& uplink = state.uplinks[i];
    if (uplink.node != node || uplink.vlan) continue;
    auto it = reserved.find(uplink.interface);
    if (it == reserved.end()) continue;
    return FieldError(
        ObjectLabel("uplink", uplink.name, i), "interface",
        absl::StrCat("\"", uplink.interface, "\" is ", it->second, " on node \"", node,
                     "\": an untagged uplink may not take an interface the agent "
                     "relies on (a VLAN on it may)"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckForNode(const State& state, const std::string& node,
                          const ReservedInterfaces& reserved) {
  RETURN_IF_ERROR(CheckReservedInterfaces(state, node, reserved));
  RETURN_IF_ERROR(CheckUplinkDevices(state, node));
  NodeSettings probe{.node = node};
  RETURN_IF_ERROR(BuildNodeTables(state, probe, [](const std::string&) { return 0u; }));
  // The firewall's tables for this node (the slot does not matter).
  return BuildPolicyTables(state, node, 0).status();
}

absl::Status ValidateForNode(const State& state, const std::string& node) {
  RETURN_IF_ERROR(ValidateState(state));
  return CheckForNode(state, node, {});
}

}  // namespace weft
