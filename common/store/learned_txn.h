// The transactions that keep an edge's learned routes in etcd
// (learned/<edge>/owner and learned/<edge>/p/<index>, all under the writing
// replica's lease): a report replaces the edge's parts in one transaction;
// a removal happens only while the owner is still the stream removing.
#ifndef WEFT_COMMON_STORE_LEARNED_TXN_H_
#define WEFT_COMMON_STORE_LEARNED_TXN_H_

#include <cstdint>
#include <string>

#include "common/store/store_keys.h"
#include "common/wire/learned_chunk.h"
#include "etcd/etcdserver/etcdserverpb/rpc.pb.h"

namespace weft {

etcdserverpb::TxnRequest PutLearnedTxn(const StoreKeys& keys, const std::string& edge,
                                       const std::string& stream, const LearnedSnapshot& routes,
                                       int64_t lease);
etcdserverpb::TxnRequest DeleteLearnedTxn(const StoreKeys& keys, const std::string& edge,
                                          const std::string& stream);

}  // namespace weft

#endif  // WEFT_COMMON_STORE_LEARNED_TXN_H_
