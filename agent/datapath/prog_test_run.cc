#include "agent/datapath/prog_test_run.h"

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include "agent/datapath/bpf_error.h"

namespace weft {
namespace {

// Room for what a program adds in front of a frame: VXLAN encapsulation (50
// bytes), or an ICMP error around it, encapsulated too.
constexpr size_t kOutputHeadroom = 256;

}  // namespace

absl::StatusOr<ProgTestRunOutput> ProgTestRun(const ProgTestRunInput& input) {
  ProgTestRunOutput out;
  out.frame.resize(input.frame.size() + kOutputHeadroom);
  LIBBPF_OPTS(bpf_test_run_opts, opts);
  opts.data_in = input.frame.data();
  opts.data_size_in = static_cast<__u32>(input.frame.size());
  opts.data_out = out.frame.data();
  opts.data_size_out = static_cast<__u32>(out.frame.size());
  opts.repeat = input.repeat;
  xdp_md md{};
  __sk_buff skb{};
  if (input.hook == Hook::kXdp) {
    md.data_end = static_cast<__u32>(input.frame.size());
    md.ingress_ifindex = input.ingress_ifindex;
    opts.ctx_in = &md;
    opts.ctx_size_in = sizeof md;
  } else {
    skb.ifindex = input.ingress_ifindex;
    skb.mark = input.mark;
    opts.ctx_in = &skb;
    opts.ctx_size_in = sizeof skb;
  }
  if (int err = bpf_prog_test_run_opts(input.prog_fd, &opts); err != 0) {
    return BpfError(err, "BPF_PROG_TEST_RUN");
  }
  out.retval = opts.retval;
  out.frame.resize(opts.data_size_out);
  out.duration_ns = opts.duration;
  return out;
}

}  // namespace weft
