// A view's digest (controller/views.h) says what its content is, in any
// process: what an agent moving between controllers resumes with.
#include <string>

#include "common/model/state_yaml.h"
#include "controller/views.h"
#include "gtest/gtest.h"

namespace weft {
namespace {

constexpr char kDigestFleet[] = R"yaml(
nodes:
  - {name: hv1, vtep: 198.18.0.1}
  - {name: hv2, vtep: 198.18.0.2}
tenants:
  - {name: blue, id: 1}
  - {name: red, id: 2}
segments:
  - {name: blue-web, tenant: blue, vni: 1001, subnet: 10.0.1.0/24, gateway: 10.0.1.1, gateway_mac: "02:fe:00:00:00:01"}
  - {name: red-web, tenant: red, vni: 2001, subnet: 10.0.1.0/24, gateway: 10.0.1.1, gateway_mac: "02:fe:00:00:00:02"}
endpoints:
  - {name: blue-1, segment: blue-web, ip: 10.0.1.10, mac: "02:00:00:01:01:10", node: hv1, interface: vb1}
  - {name: red-1, segment: red-web, ip: 10.0.1.10, mac: "02:00:00:02:01:10", node: hv1, interface: vr1}
  - {name: red-2, segment: red-web, ip: 10.0.1.11, mac: "02:00:00:02:01:11", node: hv2, interface: vr2}
)yaml";

State DigestFleet() {
  absl::StatusOr<State> state = ParseStateYaml(kDigestFleet, "fleet.yaml");
  EXPECT_TRUE(state.ok()) << state.status();
  return *state;
}

// Two builders stand for two controller processes: equal content, equal
// digests, whatever the part ids and versions each numbered them with.
TEST(ViewDigestTest, EqualContentHasAnEqualDigestInAnotherBuilder) {
  ViewBuilder one, other;
  one.Update(DigestFleet());
  State changed = DigestFleet();
  changed.endpoints[0].mac[5] = 0x42;
  other.Update(changed);  // numbers its parts further than `one` does
  other.Update(DigestFleet());
  for (const char* node : {"hv1", "hv2"}) {
    const auto a = one.View(node, 3);
    const auto b = other.View(node, 7);
    EXPECT_EQ(a->digest.size(), 32u) << node;  // SHA-256
    EXPECT_EQ(a->digest, b->digest) << node;
  }
  // Part ids are per process: blue's differs.
  EXPECT_NE(one.View("hv1", 3)->fingerprint, other.View("hv1", 7)->fingerprint);
  EXPECT_EQ(one.NodesOnly(1)->digest, other.NodesOnly(2)->digest);
}

TEST(ViewDigestTest, DifferentContentHasADifferentDigest) {
  ViewBuilder b;
  b.Update(DigestFleet());
  const std::string hv1 = b.View("hv1", 1)->digest;
  const std::string hv2 = b.View("hv2", 1)->digest;
  EXPECT_NE(hv1, hv2);  // blue and red, against red only
  EXPECT_NE(hv1, b.NodesOnly(1)->digest);

  State changed = DigestFleet();
  changed.endpoints[0].mac[5] = 0x42;  // blue's: hv1 only
  b.Update(changed);
  EXPECT_NE(b.View("hv1", 2)->digest, hv1);
  EXPECT_EQ(b.View("hv2", 2)->digest, hv2);
}

// A part is hashed when it is built: a tenant whose content did not change
// is the same part, with the same digest, in every view that holds it.
TEST(ViewDigestTest, AnUnchangedTenantKeepsItsPartAndDigest) {
  ViewBuilder b;
  b.Update(DigestFleet());
  const auto before = b.View("hv1", 1);
  ASSERT_EQ(before->parts.size(), 3u);  // nodes, blue, red
  State changed = DigestFleet();
  changed.endpoints[0].mac[5] = 0x42;  // blue
  b.Update(changed);
  const auto after = b.View("hv1", 2);
  ASSERT_EQ(after->parts.size(), 3u);
  EXPECT_EQ(after->parts[0], before->parts[0]);  // nodes: the same object
  EXPECT_NE(after->parts[1]->digest, before->parts[1]->digest);
  EXPECT_EQ(after->parts[2], before->parts[2]);  // red
  EXPECT_EQ(after->parts[2]->digest, before->parts[2]->digest);
  EXPECT_EQ(after->parts[2]->digest, b.View("hv2", 2)->parts[1]->digest);
}

// The digest is of the parts in order: the same parts in another order are
// another view (merged, their lists would be in another order).
TEST(ViewDigestTest, DigestFollowsThePartsOrder) {
  State swapped = DigestFleet();
  std::swap(swapped.tenants[0], swapped.tenants[1]);
  ViewBuilder a, b;
  a.Update(DigestFleet());
  b.Update(swapped);
  EXPECT_NE(a.View("hv1", 1)->digest, b.View("hv1", 1)->digest);
  EXPECT_EQ(a.View("hv2", 1)->digest, b.View("hv2", 1)->digest);  // red alone
}

}  // namespace
}  // namespace weft
