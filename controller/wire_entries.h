// The list entries of a serialized message, counted on the wire before it
// is parsed: an empty entry is 2 bytes of the message and ~120 once parsed,
// so a 64 MiB ApplyState of empty entries cost ~3.8 GiB in gRPC's parse
// before the service could count them (issue #10).
#ifndef WEFT_CONTROLLER_WIRE_ENTRIES_H_
#define WEFT_CONTROLLER_WIRE_ENTRIES_H_

#include <cstddef>

#include "absl/status/statusor.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/io/zero_copy_stream.h"

namespace weft {

// The entries CountListEntries (common/wire/chunk.h) would count in the
// message of type `type` that `bytes` holds, read from tags and lengths
// only (nothing is allocated). Counting stops once past `stop_above` (the
// count returned is then more than it). A field occurring more than once
// counts each time, as parsing a repeated field does; a singular message
// field repeated on the wire (merged by the parser) is counted each time,
// which can only overcount. InvalidArgument when the bytes are no message.
absl::StatusOr<size_t> CountWireListEntries(const google::protobuf::Descriptor* type,
                                            google::protobuf::io::ZeroCopyInputStream* bytes,
                                            size_t stop_above);

}  // namespace weft

#endif  // WEFT_CONTROLLER_WIRE_ENTRIES_H_
