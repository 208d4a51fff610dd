// What a tenant's uplinks announce upstream (docs/NORTH_SOUTH.md): one rule
// for the edge's BGP speaker and for weftctl, which shows it.
#ifndef WEFT_COMMON_MODEL_ANNOUNCEMENTS_H_
#define WEFT_COMMON_MODEL_ANNOUNCEMENTS_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "common/model/state.h"

namespace weft {

struct Announcement {
  Ipv4Prefix prefix;
  std::string segment;  // the segment whose subnet it is; empty: a route marked advertise
};

// The subnets of `tenant`'s segments, then its routes marked advertise, each
// in the state's order. Every uplink of the tenant announces all of them;
// they are distinct in a state that passed ValidateState.
std::vector<Announcement> Announcements(const State& state, absl::string_view tenant);

}  // namespace weft

#endif  // WEFT_COMMON_MODEL_ANNOUNCEMENTS_H_
