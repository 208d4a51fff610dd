// An edge's uplink interfaces, made as the state says
// (docs/NORTH_SOUTH.md#uplink-interfaces): for each uplink of the node, the
// VLAN subinterface "<interface>.<vlan>" on the operator's link (or the
// plain link), the transit address on it, the interface up. The uplink
// program's attachment and weft_uplinks are the agent's (agent/agent.cc),
// as for any other interface.
#ifndef WEFT_AGENT_EDGE_UPLINK_LINKS_H_
#define WEFT_AGENT_EDGE_UPLINK_LINKS_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "common/model/state.h"

namespace weft::edge {

// Every link `node`'s uplinks ride on exists (they are the operator's: the
// agent never makes or deletes one); else an error naming the uplink and its
// field "interface". Checked before a state is accepted, so that such a
// state is refused whole and changes nothing.
absl::Status CheckUplinkLinks(const State& state, const std::string& node);

// What this agent set up for uplinks, so that it can take it down again.
// Not thread-safe: the agent calls it under its lock.
class UplinkLinks {
 public:
  // Sets up every uplink of `node` in `state`: the VLAN subinterface (made
  // when absent; an existing one is taken as it is if it is that VLAN of
  // that link, so a restarted agent changes nothing), the transit address
  // (kept if there), up. An uplink whose link has gone since the state was
  // accepted is skipped, with a warning: its interface does not resolve, so
  // it carries nothing until the link is back.
  absl::Status Configure(const State& state, const std::string& node);

  // Takes down what Configure set up that `state` no longer wants: a VLAN
  // subinterface no uplink of `node` rides on is deleted (its address goes
  // with it); an address no longer wanted on an interface that stays is
  // removed. Never the operator's link.
  absl::Status RemoveUnwanted(const State& state, const std::string& node);

  // Takes down everything Configure set up (the agent leaving the host).
  absl::Status RemoveAll() { return RemoveUnwanted(State(), ""); }

  // The interfaces the uplinks rely on, links and VLAN subinterfaces, as of
  // the last Configure: ifindex -> name. No endpoint may be bound to one.
  const std::map<uint32_t, std::string>& Interfaces() const { return interfaces_; }

 private:
  struct Made {
    uint32_t ifindex;  // of the device when it was set up
    bool vlan;         // a VLAN subinterface this agent is to delete
  };
  // (device, address, prefix length) -> what was set up there.
  using Key = std::pair<std::string, std::pair<uint32_t, uint8_t>>;
  std::map<Key, Made> made_;
  std::map<uint32_t, std::string> interfaces_;
};

}  // namespace weft::edge

#endif  // WEFT_AGENT_EDGE_UPLINK_LINKS_H_
