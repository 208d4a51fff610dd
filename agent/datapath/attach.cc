#include "agent/datapath/attach.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "agent/datapath/bpf_error.h"

namespace weft {
namespace {

// Weft's TC filter: a fixed slot so re-attaching replaces, never stacks.
constexpr uint32_t kTcHandle = 0xfe57;
constexpr uint32_t kTcPriority = 0x100;

bpf_tc_hook IngressHook(int ifindex) {
  bpf_tc_hook hook = {.sz = sizeof(bpf_tc_hook)};
  hook.ifindex = ifindex;
  hook.attach_point = BPF_TC_INGRESS;
  return hook;
}

// Asking about a filter on an interface without clsact is an expected "no",
// which libbpf would otherwise print as a kernel error.
class QuietLibbpf {
 public:
  QuietLibbpf() : previous_(libbpf_set_print(nullptr)) {}
  ~QuietLibbpf() { libbpf_set_print(previous_); }

 private:
  libbpf_print_fn_t previous_;
};

bpf_tc_opts WeftFilter() {
  bpf_tc_opts opts = {.sz = sizeof(bpf_tc_opts)};
  opts.handle = kTcHandle;
  opts.priority = kTcPriority;
  return opts;
}

}  // namespace

absl::Status AttachIngress(Hook hook, int ifindex, int prog_fd) {
  if (hook == Hook::kXdp) {
    if (int err = bpf_xdp_attach(ifindex, prog_fd, 0, nullptr)) {
      return BpfError(err, absl::StrCat("attaching XDP to ifindex ", ifindex));
    }
    return absl::OkStatus();
  }
  bpf_tc_hook tc_hook = IngressHook(ifindex);
  int err = bpf_tc_hook_create(&tc_hook);
  if (err && err != -EEXIST) {
    return BpfError(err, absl::StrCat("creating clsact on ifindex ", ifindex));
  }
  bpf_tc_opts opts = WeftFilter();
  opts.prog_fd = prog_fd;
  opts.flags = BPF_TC_F_REPLACE;
  if ((err = bpf_tc_attach(&tc_hook, &opts))) {
    return BpfError(err, absl::StrCat("attaching TC ingress to ifindex ", ifindex));
  }
  return absl::OkStatus();
}

absl::Status DetachIngress(Hook hook, int ifindex) {
  if (hook == Hook::kXdp) {
    int err = bpf_xdp_detach(ifindex, 0, nullptr);
    if (err && err != -ENODEV) {
      return BpfError(err, absl::StrCat("detaching XDP from ifindex ", ifindex));
    }
    return absl::OkStatus();
  }
  bpf_tc_hook tc_hook = IngressHook(ifindex);
  bpf_tc_opts opts = WeftFilter();
  int err = bpf_tc_detach(&tc_hook, &opts);
  if (err && err != -ENOENT && err != -ENODEV && err != -EINVAL) {
    return BpfError(err, absl::StrCat("detaching TC ingress from ifindex ", ifindex));
  }
  return absl::OkStatus();
}

absl::StatusOr<uint32_t> AttachedProgramId(Hook hook, int ifindex) {
  if (hook == Hook::kXdp) {
    uint32_t id = 0;
    if (int err = bpf_xdp_query_id(ifindex, 0, &id)) {
      return BpfError(err, absl::StrCat("querying XDP on ifindex ", ifindex));
    }
    return id;
  }
  bpf_tc_hook tc_hook = IngressHook(ifindex);
  bpf_tc_opts opts = WeftFilter();
  QuietLibbpf quiet;
  int err = bpf_tc_query(&tc_hook, &opts);
  if (err == -ENOENT || err == -EINVAL) return 0u;
  if (err) return BpfError(err, absl::StrCat("querying TC on ifindex ", ifindex));
  return opts.prog_id;
}

absl::StatusOr<uint32_t> ProgramId(int prog_fd) {
  bpf_prog_info info = {};
  uint32_t len = sizeof(info);
  if (int err = bpf_obj_get_info_by_fd(prog_fd, &info, &len)) {
    return BpfError(err, "reading program info");
  }
  return info.id;
}

}  // namespace weft
