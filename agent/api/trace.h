// `weftctl trace`: one synthetic packet through the real program, run by
// BPF_PROG_TEST_RUN (agent/datapath/prog_test_run.h) with skb->mark =
// WEFT_TRACE_MARK, so the program records in the weft_trace map what it
// decided and why (docs/ARCHITECTURE.md §6). Three steps: build the frame
// the request describes and find where it enters, run it, describe the
// verdict, the record and the frame that came out. The frame and its
// headers are trace_frame.h's.
#ifndef WEFT_AGENT_API_TRACE_H_
#define WEFT_AGENT_API_TRACE_H_

#include <cstdint>

#include "absl/status/status.h"
#include "agent/agent.h"
#include "agent/api/trace_frame.h"
#include "agent/datapath/datapath.h"
#include "weft/v1/agent_api.pb.h"

namespace weft::api {

// Runs the trace `req` asks for against the agent's state `view` and its
// datapath. weft_trace has one slot: the caller runs one trace at a time.
absl::Status RunTrace(const Agent::View& view, const Datapath& dp, const v1::TraceRequest& req,
                      v1::TraceResponse* out);

}  // namespace weft::api

#endif  // WEFT_AGENT_API_TRACE_H_
