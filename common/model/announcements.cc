#include "common/model/announcements.h"

namespace weft {

std::vector<Announcement> Announcements(const State& state, absl::string_view tenant) {
  std::vector<Announcement> out;
  for (const Segment& seg : state.segments) {
    if (seg.tenant == tenant) out.push_back({seg.subnet, seg.name});
  }
  for (const Route& route : state.routes) {
    if (route.tenant == tenant && route.advertise) out.push_back({route.prefix, ""});
  }
  return out;
}

}  // namespace weft
