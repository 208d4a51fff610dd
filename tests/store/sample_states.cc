#include "tests/store/sample_states.h"

#include "absl/strings/str_cat.h"
#include "common/model/state_yaml.h"
#include "common/model/validate.h"
#include "gtest/gtest.h"

namespace weft::testing {
namespace {

constexpr char kEveryKind[] = R"yaml(
nodes:
  - {name: hv1, vtep: 198.18.0.1}
  - {name: lx1, vtep: 198.18.0.3, foreign: true}
  - {name: edge1, vtep: 198.18.0.11, role: edge}
tenants:
  - {name: blue, id: 1, default_action: deny}
  - {name: red, id: 2}
segments:
  - {name: blue-web, tenant: blue, vni: 1001, subnet: 10.0.1.0/24, gateway: 10.0.1.1, gateway_mac: "02:fe:00:00:00:01", subnet6: "2001:db8:0:1::/64", gateway6: "2001:db8:0:1::1", vlan_bridge: {node: hv1, trunk: eth9, vlan: 100}}
  - {name: red-web, tenant: red, vni: 2001, subnet: 10.0.1.0/24, gateway: 10.0.1.1, gateway_mac: "02:fe:00:00:00:02"}
groups:
  - {name: web, tenant: blue}
  - {name: web, tenant: red}
endpoints:
  - {name: blue-web-1, segment: blue-web, ip: 10.0.1.10, mac: "02:00:00:01:01:10", node: hv1, interface: vblue1, groups: [web]}
  - {name: blue-web-2, segment: blue-web, ip: 10.0.1.11, mac: "02:00:00:01:01:11", node: lx1}
  - {name: red-web-1, segment: red-web, ip: 10.0.1.10, mac: "02:00:00:02:01:10", node: hv1, interface: vred1, groups: [web]}
physical_hosts:
  - {name: rack-1, segment: blue-web, ip: 10.0.1.50, groups: [web]}
routes:
  - {tenant: blue, prefix: 10.9.0.0/16, nodes: [hv1, lx1], segment: blue-web}
  - {tenant: blue, prefix: 10.66.0.0/16, blackhole: true, advertise: true}
  - {tenant: blue, prefix: "2001:db8:9::/48", nodes: [hv1], segment: blue-web}
uplinks:
  - {name: blue-edge1, node: edge1, tenant: blue, interface: eth1, vlan: 100, transit: 192.0.2.0/30, address: 192.0.2.2, peer: 192.0.2.1, peer_as: 64500, local_as: 65001, hold_time: 9, keepalive: 3}
policies:
  - name: web-in
    tenant: blue
    priority: 10
    applied_to: {groups: [web], endpoints: [blue-web-2]}
    rules:
      - {direction: ingress, peer: {cidrs: [10.0.0.0/8], groups: [web]}, protocol: tcp, ports: ["80", "8000-8080"], action: allow, log: true}
      - {direction: egress, protocol: icmp, icmp_type: 8, action: reject}
      - {direction: egress, peer: {cidrs: ["2001:db8::/32"]}, action: deny}
)yaml";

}  // namespace

State EveryKind() {
  absl::StatusOr<State> state = ParseStateYaml(kEveryKind, "every-kind.yaml");
  EXPECT_TRUE(state.ok()) << state.status();
  EXPECT_TRUE(ValidateState(*state).ok()) << ValidateState(*state);
  return state.ok() ? *state : State();
}

State ManyEndpoints(size_t count, const char* prefix) {
  State state;
  state.nodes.push_back({.name = "lx1", .vtep = 0xc6120003, .foreign = true});
  state.tenants.push_back({.name = "blue", .id = 1});
  Segment segment;
  segment.name = "blue-big";
  segment.tenant = "blue";
  segment.vni = 1001;
  segment.subnet = {.addr = 0x0a000000, .length = 8};
  segment.gateway = 0x0a000001;
  segment.gateway_mac = {0x02, 0xfe, 0, 0, 0, 1};
  state.segments.push_back(segment);
  for (size_t i = 0; i < count; ++i) {
    Endpoint endpoint;
    endpoint.name = absl::StrCat(prefix, "-", i);
    endpoint.segment = "blue-big";
    endpoint.ip = 0x0a000100 + static_cast<uint32_t>(i);
    endpoint.mac = {0x02,
                    0,
                    static_cast<uint8_t>(i >> 24),
                    static_cast<uint8_t>(i >> 16),
                    static_cast<uint8_t>(i >> 8),
                    static_cast<uint8_t>(i)};
    endpoint.node = "lx1";
    state.endpoints.push_back(endpoint);
  }
  return state;
}

size_t ObjectCount(const State& s) {
  return s.nodes.size() + s.tenants.size() + s.segments.size() + s.endpoints.size() +
         s.routes.size() + s.routes6.size() + s.groups.size() + s.policies.size() +
         s.uplinks.size() + s.physical_hosts.size();
}

bool SameState(const State& a, const State& b) {
  return ObjectCount(a) == ObjectCount(b) && EncodeState(a) == EncodeState(b);
}

}  // namespace weft::testing
