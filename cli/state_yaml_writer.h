// The desired state as the YAML the state reader (common/model/state_yaml.h)
// reads back, field for field: what `weftctl store export` writes, so a
// store's state can go back to a file (migration from etcd to the file
// mode, or a reviewed edit before `weftctl store seed`).
#ifndef WEFT_CLI_STATE_YAML_WRITER_H_
#define WEFT_CLI_STATE_YAML_WRITER_H_

#include <string>

#include "common/model/state.h"

namespace weft::cli {

// Names and other text double-quoted (JSON escapes, which YAML's
// double-quoted style reads the same), numbers plain; fields at their
// default value left out, as a hand-written file would. `header` (may be
// empty) is written first as comment lines. state.version is not written:
// a store's version is its revision, which a file does not carry.
std::string StateToYaml(const State& state, const std::string& header);

}  // namespace weft::cli

#endif  // WEFT_CLI_STATE_YAML_WRITER_H_
