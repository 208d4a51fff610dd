// What this agent can do, as it announces it in its Hello (capabilities),
// and what of a state it therefore does not realize.
#ifndef WEFT_AGENT_CAPABILITIES_H_
#define WEFT_AGENT_CAPABILITIES_H_

#include <string>
#include <vector>

#include "common/model/state.h"

namespace weft {

// The sync protocol's forms it takes ("sotw": whole views, "chunked": a
// view in chunks) and the state's features it realizes
// (common/model/features.h): none yet.
const std::vector<std::string>& AgentCapabilities();

// The features `state` uses that this agent does not realize.
std::vector<std::string> UnrealizedByThisAgent(const State& state);

}  // namespace weft

#endif  // WEFT_AGENT_CAPABILITIES_H_
