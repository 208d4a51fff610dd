#include "controller/metrics.h"

#include <map>

#include "common/serving/metric_families.h"

namespace weft {

std::vector<prometheus::MetricFamily> CollectControllerMetrics(const Controller& controller) {
  using Type = prometheus::MetricType;
  const v1::GetRealizationResponse r = controller.Realization(0);
  const std::map<std::string, uint64_t> nacks = controller.NackCounts();
  MetricFamilies w;
  w.Gauge("weft_controller_state_version", "Version of the desired state being served.",
          static_cast<double>(r.controller_version()));
  w.Counter("weft_controller_rejected_edits_total",
            "Desired states refused (bad state-file edit, invalid ApplyState); the last "
            "good state stays.",
            controller.rejected_edits());
  uint64_t connected = 0, enforcing = 0;
  for (const v1::NodeRealization& n : r.nodes()) {
    connected += n.connected();
    enforcing += n.enforced_version() >= r.controller_version();
  }
  w.Gauge("weft_controller_nodes", "Weft (non-foreign) nodes in the desired state.",
          static_cast<double>(r.nodes_size()));
  w.Gauge("weft_controller_agents_connected", "Nodes of the state with a Sync stream open.",
          static_cast<double>(connected));
  w.Gauge("weft_controller_nodes_enforcing_current",
          "Nodes whose datapath enforces the current version.", static_cast<double>(enforcing));
  w.Family("weft_controller_node_connected", Type::Gauge,
           "1 while the node's agent has a Sync stream open.");
  for (const v1::NodeRealization& n : r.nodes()) {
    w.Sample({{"node", n.node()}}, uint64_t{n.connected() ? 1u : 0u});
  }
  w.Family("weft_controller_node_acked_version", Type::Gauge,
           "Last version the node acknowledged (0: none).");
  for (const v1::NodeRealization& n : r.nodes()) w.Sample({{"node", n.node()}}, n.acked_version());
  w.Family("weft_controller_node_enforced_version", Type::Gauge,
           "Newest controller version the node's datapath matches.");
  for (const v1::NodeRealization& n : r.nodes()) {
    w.Sample({{"node", n.node()}}, n.enforced_version());
  }
  w.Family("weft_controller_node_unrealized", Type::Gauge,
           "1 for each feature the node's view uses that its agent does not realize "
           "(GetRealization's unrealized: ipv6-tenants, vlan-bridging).");
  for (const v1::NodeRealization& n : r.nodes()) {
    for (const std::string& feature : n.unrealized()) {
      w.Sample({{"node", n.node()}, {"feature", feature}}, uint64_t{1});
    }
  }
  w.Family("weft_controller_node_nacks_total", Type::Counter,
           "Updates the node refused (Nack) since the controller started.");
  for (const v1::NodeRealization& n : r.nodes()) {
    auto it = nacks.find(n.node());
    w.Sample({{"node", n.node()}}, it == nacks.end() ? uint64_t{0} : it->second);
  }
  return std::move(w).Take();
}

std::vector<prometheus::MetricFamily> CollectReplicaMetrics(const Replica& replica) {
  MetricFamilies w;
  w.Gauge("weft_controller_store_up",
          "1 while the state store (etcd) answers; 0: the last state read is served, writes "
          "are refused.",
          replica.store_up() ? 1.0 : 0.0);
  w.Gauge("weft_controller_store_revision", "The store revision this replica has read through.",
          static_cast<double>(replica.controller().revision()));
  w.Family("weft_controller_replica_info", prometheus::MetricType::Gauge,
           "1, labelled with this replica's name in the store (--replica_name).");
  w.Sample({{"replica", replica.name()}}, 1.0);
  return std::move(w).Take();
}

}  // namespace weft
