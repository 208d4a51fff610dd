#include "common/store/learned_txn.h"

#include <vector>

#include "common/etcd/client.h"
#include "weft/v1/store.pb.h"

namespace weft {

etcdserverpb::TxnRequest PutLearnedTxn(const StoreKeys& keys, const std::string& edge,
                                       const std::string& stream, const LearnedSnapshot& routes,
                                       int64_t lease) {
  etcdserverpb::TxnRequest txn;
  auto* owner = txn.add_success()->mutable_request_put();
  owner->set_key(keys.LearnedOwner(edge));
  owner->set_value(stream);
  owner->set_lease(lease);
  // The sync stream's chunks are well under etcd's value limit.
  std::vector<v1::LearnedRoutesChunk> chunks = ChunkLearnedRoutes(routes, 0);
  for (size_t i = 0; i < chunks.size(); ++i) {
    v1::LearnedRecord record;
    record.set_stream(stream);
    record.mutable_uplinks()->Swap(chunks[i].mutable_uplinks());
    auto* put = txn.add_success()->mutable_request_put();
    put->set_key(keys.LearnedPart(edge, i));
    put->set_value(record.SerializeAsString());
    put->set_lease(lease);
  }
  // The parts past this report's end (etcd refuses a transaction whose
  // delete range covers a key it also puts).
  auto* stale = txn.add_success()->mutable_request_delete_range();
  stale->set_key(keys.LearnedPart(edge, chunks.size()));
  stale->set_range_end(etcd::PrefixEnd(keys.LearnedParts(edge)));
  return txn;
}

etcdserverpb::TxnRequest DeleteLearnedTxn(const StoreKeys& keys, const std::string& edge,
                                          const std::string& stream) {
  etcdserverpb::TxnRequest txn;
  auto* compare = txn.add_compare();
  compare->set_key(keys.LearnedOwner(edge));
  compare->set_target(etcdserverpb::Compare::VALUE);
  compare->set_result(etcdserverpb::Compare::EQUAL);
  compare->set_value(stream);
  auto* del = txn.add_success()->mutable_request_delete_range();
  del->set_key(keys.LearnedEdge(edge));
  del->set_range_end(etcd::PrefixEnd(keys.LearnedEdge(edge)));
  return txn;
}

}  // namespace weft
