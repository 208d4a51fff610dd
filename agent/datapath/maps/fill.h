// How full the keyed maps are (hash, LRU hash, LPM trie): arrays are always
// full and the ring buffer has no entries.
#ifndef WEFT_AGENT_DATAPATH_MAPS_FILL_H_
#define WEFT_AGENT_DATAPATH_MAPS_FILL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/datapath/datapath.h"

namespace weft {

struct MapFill {
  std::string name;
  uint64_t entries = 0;
  uint64_t capacity = 0;  // max_entries
};

// The keyed maps, in Map order.
std::vector<Map> KeyedMaps(const Datapath& dp);
absl::StatusOr<MapFill> ReadMapFill(const Datapath& dp, Map map);

}  // namespace weft

#endif  // WEFT_AGENT_DATAPATH_MAPS_FILL_H_
