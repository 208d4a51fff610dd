#include "cli/store_command.h"

#include <cstdio>
#include <memory>
#include <optional>

#include "absl/strings/str_cat.h"
#include "cli/state_yaml_writer.h"
#include "common/base/status.h"
#include "common/model/state_yaml.h"
#include "common/store/etcd_state_store.h"
#include "common/store/store_options.h"

namespace weft::cli {
namespace {

std::string Option(const Args& args, const std::string& name) {
  auto it = args.options.find(name);
  return it == args.options.end() ? "" : it->second;
}

absl::StatusOr<EtcdStoreOptions> StoreOptionsFrom(const Args& args) {
  ASSIGN_OR_RETURN(EtcdStoreOptions options, ParseStoreUrl(Option(args, "--store")));
  options.ca = Option(args, "--store-ca");
  options.cert = Option(args, "--store-cert");
  options.key = Option(args, "--store-key");
  if (const std::string prefix = Option(args, "--store-prefix"); !prefix.empty()) {
    options.prefix = prefix;
  }
  options.replica = "weftctl";
  RETURN_IF_ERROR(CheckStoreTransport(options, "--store-ca/--store-cert/--store-key"));
  return options;
}

// The whole text, or nothing: written beside `path`, then renamed over it.
absl::Status WriteFileAtomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "w");
  if (f == nullptr) return absl::UnavailableError(absl::StrCat(tmp, ": cannot create"));
  const bool written = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  if (std::fclose(f) != 0 || !written || std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return absl::UnavailableError(absl::StrCat(path, ": cannot write"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> RunStore(const Args& args) {
  const bool seed = args.operands[0] == "seed";
  // A refused file is refused before the store is dialled.
  std::optional<State> state;
  if (seed) {
    ASSIGN_OR_RETURN(state, LoadStateFile(args.options.at("-f")));
  }
  ASSIGN_OR_RETURN(const EtcdStoreOptions options, StoreOptionsFrom(args));
  const std::string url = Option(args, "--store");
  ASSIGN_OR_RETURN(std::unique_ptr<EtcdStateStore> store, EtcdStateStore::Connect(options));
  if (seed) {
    StoreWriteOptions write;
    ASSIGN_OR_RETURN(write.if_version, IfVersionFrom(args));
    write.source = absl::StrCat("weftctl store seed -f ", args.options.at("-f"));
    // The store's errors name it when it does not answer; a conflict names
    // the versions.
    ASSIGN_OR_RETURN(const uint64_t version, store->WriteState(*state, write));
    return absl::StrCat("seeded: store version ", version, "\n");
  }
  ASSIGN_OR_RETURN(const State read, store->ReadState());
  const std::string text =
      StateToYaml(read, absl::StrCat("the desired state in ", url, " (prefix ", options.prefix,
                                     ")\nat version ", read.version, " (the store's revision)"));
  if (const std::string out = Option(args, "-o"); !out.empty()) {
    RETURN_IF_ERROR(WriteFileAtomically(out, text));
    return absl::StrCat("exported version ", read.version, " to ", out, "\n");
  }
  return text;
}

}  // namespace weft::cli
