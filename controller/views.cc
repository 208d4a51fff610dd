#include "controller/views.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/model/features.h"
#include "common/wire/convert.h"
#include "openssl/sha.h"

namespace weft {
namespace {

// Moves entry i of every list of `from` into the part of the tenant
// `tenant_of(i)` names (an index into parts); the model `state` and its proto
// `from` list their objects in the same order.
template <typename Model, typename Proto, typename TenantOf, typename Add>
void Distribute(const std::vector<Model>& objects, Proto* from, TenantOf tenant_of,
                std::vector<std::shared_ptr<ViewPart>>& parts, Add add) {
  for (size_t i = 0; i < objects.size(); ++i) {
    *add(&parts[tenant_of(objects[i])]->state) = std::move(*from->Mutable(i));
  }
}

std::string Sha256(const std::string& bytes) {
  std::string out(SHA256_DIGEST_LENGTH, '\0');
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
         reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

}  // namespace

std::vector<const v1::State*> NodeView::PartStates() const {
  std::vector<const v1::State*> out;
  out.reserve(parts.size());
  for (const auto& part : parts) out.push_back(&part->state);
  return out;
}

v1::State NodeView::Merged() const {
  v1::State out;
  for (const auto& part : parts) out.MergeFrom(part->state);
  out.set_version(version);
  return out;
}

std::shared_ptr<const ViewPart> ViewBuilder::Keep(std::shared_ptr<ViewPart> fresh,
                                                  const std::shared_ptr<const ViewPart>& old) {
  fresh->state.SerializeToString(&fresh->bytes);
  if (old != nullptr && old->bytes == fresh->bytes) return old;
  fresh->id = next_id_++;
  fresh->digest = Sha256(fresh->bytes);
  return fresh;
}

void ViewBuilder::Update(const State& state) {
  v1::State all = ToProto(state);
  all.clear_version();

  std::map<std::string, size_t> tenant_index;
  std::vector<std::shared_ptr<ViewPart>> fresh;
  for (size_t i = 0; i < state.tenants.size(); ++i) {
    tenant_index[state.tenants[i].name] = i;
    fresh.push_back(std::make_shared<ViewPart>());
    *fresh.back()->state.add_tenants() = std::move(*all.mutable_tenants(static_cast<int>(i)));
  }
  // ValidateState has run: every object's tenant (and segment) exists.
  std::map<std::string, size_t> segment_tenant;
  for (const Segment& s : state.segments) segment_tenant[s.name] = tenant_index.at(s.tenant);
  auto by_tenant = [&](const auto& o) { return tenant_index.at(o.tenant); };
  auto by_segment = [&](const auto& o) { return segment_tenant.at(o.segment); };
  Distribute(state.segments, all.mutable_segments(), by_tenant, fresh,
             [](v1::State* s) { return s->add_segments(); });
  Distribute(state.endpoints, all.mutable_endpoints(), by_segment, fresh,
             [](v1::State* s) { return s->add_endpoints(); });
  Distribute(state.physical_hosts, all.mutable_physical_hosts(), by_segment, fresh,
             [](v1::State* s) { return s->add_physical_hosts(); });
  Distribute(state.routes, all.mutable_routes(), by_tenant, fresh,
             [](v1::State* s) { return s->add_routes(); });
  Distribute(state.routes6, all.mutable_routes6(), by_tenant, fresh,
             [](v1::State* s) { return s->add_routes6(); });
  Distribute(state.groups, all.mutable_groups(), by_tenant, fresh,
             [](v1::State* s) { return s->add_groups(); });
  Distribute(state.policies, all.mutable_policies(), by_tenant, fresh,
             [](v1::State* s) { return s->add_policies(); });
  Distribute(state.uplinks, all.mutable_uplinks(), by_tenant, fresh,
             [](v1::State* s) { return s->add_uplinks(); });

  auto nodes = std::make_shared<ViewPart>();
  *nodes->state.mutable_nodes() = std::move(*all.mutable_nodes());
  nodes_ = Keep(std::move(nodes), nodes_);

  std::vector<std::shared_ptr<const ViewPart>> tenants;
  for (size_t i = 0; i < fresh.size(); ++i) {
    auto old = tenant_index_.find(state.tenants[i].name);
    tenants.push_back(
        Keep(std::move(fresh[i]), old == tenant_index_.end() ? nullptr : tenants_[old->second]));
  }
  tenants_ = std::move(tenants);
  tenant_index_ = std::move(tenant_index);
  tenant_names_.clear();
  for (const Tenant& t : state.tenants) tenant_names_.push_back(t.name);
  tenant_features_.assign(state.tenants.size(), 0);
  auto add_features = [&](const auto& objects) {
    for (const auto& o : objects) tenant_features_[tenant_index_.at(o.tenant)] |= FeaturesOf(o);
  };
  add_features(state.segments);
  add_features(state.routes6);
  add_features(state.policies);

  std::map<std::string, std::vector<size_t>> node_tenants;
  auto add = [&](const std::string& node, size_t t) {
    std::vector<size_t>& list = node_tenants[node];
    if (std::find(list.begin(), list.end(), t) == list.end()) list.push_back(t);
  };
  for (const Endpoint& e : state.endpoints) add(e.node, segment_tenant.at(e.segment));
  for (const Uplink& u : state.uplinks) add(u.node, tenant_index_.at(u.tenant));
  // A bridge node, active or standby, serves the segment's tenant.
  for (const Segment& s : state.segments) {
    if (!s.vlan_bridge) continue;
    add(s.vlan_bridge->node, tenant_index_.at(s.tenant));
    if (!s.vlan_bridge->standby.empty()) add(s.vlan_bridge->standby, tenant_index_.at(s.tenant));
  }
  for (auto& [node, list] : node_tenants) std::sort(list.begin(), list.end());
  node_tenants_ = std::move(node_tenants);
}

void ViewBuilder::SetLearned(const std::map<std::string, std::vector<Route>>& by_tenant) {
  std::map<std::string, std::shared_ptr<const ViewPart>> learned;
  for (const auto& [tenant, routes] : by_tenant) {
    if (routes.empty()) continue;
    State only_routes;
    only_routes.routes = routes;
    auto fresh = std::make_shared<ViewPart>();
    fresh->state = ToProto(only_routes);
    fresh->state.clear_version();
    auto old = learned_.find(tenant);
    learned.emplace(tenant, Keep(std::move(fresh), old == learned_.end() ? nullptr : old->second));
  }
  learned_ = std::move(learned);
}

std::shared_ptr<NodeView> ViewBuilder::View(const std::string& node, uint64_t version) const {
  auto view = std::make_shared<NodeView>();
  view->version = version;
  if (nodes_ != nullptr) view->parts.push_back(nodes_);
  if (auto it = node_tenants_.find(node); it != node_tenants_.end()) {
    for (size_t t : it->second) {
      view->parts.push_back(tenants_[t]);
      view->features |= tenant_features_[t];
      if (auto learned = learned_.find(tenant_names_[t]); learned != learned_.end()) {
        view->parts.push_back(learned->second);
      }
    }
  }
  std::string part_digests;
  for (const auto& part : view->parts) {
    absl::StrAppend(&view->fingerprint, part->id, ",");
    part_digests += part->digest;
  }
  // A digest of digests: a view is a handful of parts, each hashed once
  // when it was built, whatever the count of views that hold it.
  view->digest = Sha256(part_digests);
  return view;
}

}  // namespace weft
