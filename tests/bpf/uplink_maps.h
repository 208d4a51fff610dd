// The fixture's edge side (fixture.h): its two uplinks bound in
// weft_uplinks and their upstream routes in weft_routes, written straight
// into the maps (the state model's uplinks are the agent's to turn into
// entries). For the uplink tests, which bind them per test, and the packet
// fuzzer, which binds them for its whole run.
#ifndef WEFT_TESTS_BPF_UPLINK_MAPS_H_
#define WEFT_TESTS_BPF_UPLINK_MAPS_H_

#include <cstdint>
#include <string>

#include "agent/datapath/datapath.h"
#include "common/packet/packet.h"
#include "tests/bpf/fixture.h"

namespace weft::testing {

struct FixtureUplink {
  const char* ifname;
  uint32_t tenant_id;
  uint32_t address;  // the edge's transit address, host order
  uint32_t peer;     // host order
  packet::Mac mac;
};
// up0 (blue's) and up1 (red's).
const FixtureUplink* FixtureUplinks(size_t* count);

// Upstream: 203.0.113.0/24 through each tenant's own uplink, and a blue
// route to 198.51.100.0/24 naming red's uplink (which must lead nowhere).
inline constexpr const char* kUpstreamPrefix = "203.0.113.0";
inline constexpr const char* kBlueViaRedUplinkPrefix = "198.51.100.0";

// Binds the uplinks and adds their routes; "" or what failed.
std::string BindUplinks(const Datapath& dp);
// Removes what BindUplinks wrote.
void UnbindUplinks(const Datapath& dp);

}  // namespace weft::testing

#endif  // WEFT_TESTS_BPF_UPLINK_MAPS_H_
