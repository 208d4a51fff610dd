// libprotobuf logs an ERROR for every string field that is not UTF-8, and
// fuzz bytes make thousands a second: the targets that parse protos discard
// its log (a parse that fails is seen in its result).
#include "google/protobuf/stubs/logging.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}
