// What each node is sent (docs/ARCHITECTURE.md §5): every node (the VTEP list), and
// the tenants with an endpoint, an uplink or a VLAN bridge on the node with their segments,
// endpoints, routes, groups, policies and uplinks. So an edge learns, for
// each tenant it carries, the prefixes it announces (segments, routes marked
// advertise), the endpoints it encapsulates to, and the tenant's other
// uplinks; a hypervisor learns its tenants' uplinks, which say the edges
// that are their next hops north-south (docs/NORTH_SOUTH.md). A view is put
// together from shared parts —
// one for the nodes, one per tenant — so a change costs one rebuilt part per
// changed tenant, however many nodes see that tenant, and the controller
// holds each tenant once rather than once per node.
#ifndef WEFT_CONTROLLER_VIEWS_H_
#define WEFT_CONTROLLER_VIEWS_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/model/features.h"
#include "common/model/state.h"
#include "weft/v1/state.pb.h"

namespace weft {

// A piece of views: the nodes, or one tenant and its objects.
struct ViewPart {
  // Equal ids, equal content: a part rebuilt with the same content keeps the
  // id of the part it replaces.
  uint64_t id = 0;
  std::string bytes;   // `state` serialized: tells whether a rebuild changed it
  std::string digest;  // SHA-256 of `bytes`, computed once per part built
  v1::State state;
};

struct NodeView {
  uint64_t version = 0;  // at which this view last changed
  // The ids of its parts: two views with equal fingerprints are equal.
  std::string fingerprint;
  // Of the content (equal on every replica for equal content): what an
  // agent acknowledges and resumes with (docs/CONTROL_PLANE.md).
  std::string digest;
  // The nodes first, then the node's tenants. Merged in order (repeated
  // fields concatenate), they are the view.
  std::vector<std::shared_ptr<const ViewPart>> parts;

  // What its tenants' objects use (common/model/features.h).
  FeatureSet features = 0;

  std::vector<const v1::State*> PartStates() const;
  v1::State Merged() const;  // one message, version set
};

class ViewBuilder {
 public:
  // Splits `state` into parts; a part whose content did not change since
  // the last Update is kept as it was (same object, same id).
  void Update(const State& state);

  // The view of `node` at `version`. A node without an endpoint, an uplink or
  // a VLAN bridge (or not in the state at all) gets the nodes only.
  std::shared_ptr<NodeView> View(const std::string& node, uint64_t version) const;
  std::shared_ptr<NodeView> NodesOnly(uint64_t version) const { return View({}, version); }

  // The routes learned upstream, by tenant (controller/learned_routes.h):
  // each tenant's are a part of their own, after the tenant's part in the
  // views that hold the tenant, so a change of them rebuilds that part
  // alone and leaves every other view as it was. Kept across Update (a
  // tenant's learned routes depend on the state: call again after it).
  void SetLearned(const std::map<std::string, std::vector<Route>>& by_tenant);

 private:
  std::shared_ptr<const ViewPart> Keep(std::shared_ptr<ViewPart> fresh,
                                       const std::shared_ptr<const ViewPart>& old);

  uint64_t next_id_ = 1;
  std::shared_ptr<const ViewPart> nodes_;
  std::vector<std::shared_ptr<const ViewPart>> tenants_;  // in the state's order
  std::map<std::string, size_t> tenant_index_;            // name -> tenants_ index
  std::vector<std::string> tenant_names_;                 // tenants_ index -> name
  std::vector<FeatureSet> tenant_features_;  // tenants_ index -> FeaturesOf its objects
  // By tenant name: its learned routes' part, for tenants that have any.
  std::map<std::string, std::shared_ptr<const ViewPart>> learned_;
  // tenants_ indexes of the tenants with an endpoint or an uplink on the
  // node, ascending
  std::map<std::string, std::vector<size_t>> node_tenants_;
};

}  // namespace weft

#endif  // WEFT_CONTROLLER_VIEWS_H_
