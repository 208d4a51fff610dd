#include "agent/router_adverts.h"

#include <linux/if_packet.h>
#include <linux/pkt_cls.h>
#include <net/ethernet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>

#include "absl/strings/str_cat.h"
#include "agent/datapath/bpf_error.h"
#include "agent/datapath/maps/entries.h"
#include "agent/datapath/prog_test_run.h"
#include "common/base/log.h"
#include "common/base/status.h"
#include "common/packet/builder.h"
#include "common/packet/parser.h"

namespace weft {
namespace {

constexpr uint8_t kRouterAdvert = 134;

// What a VM sends before it has an address: a router solicitation from ::
// (so without a link-layer option).
packet::Bytes SolicitationFrom(const uint8_t (&vm_mac)[6]) {
  packet::Mac src;
  std::memcpy(src.data(), vm_mac, src.size());
  return packet::RouterSolicitationFrame(src, {}, {});
}

}  // namespace

RouterAdverts::~RouterAdverts() {
  if (socket_ >= 0) close(socket_);
}

int RouterAdverts::Tick(const Datapath& dp, absl::Time now) {
  if (interval_ <= absl::ZeroDuration() || now < next_) return 0;
  next_ = now + interval_;
  absl::StatusOr<int> sent = AdvertiseAll(dp);
  if (!sent.ok()) {
    WEFT_LOG_WARN("router advertisements: %s", sent.status().ToString());
    ++failed_;
    return 0;
  }
  return *sent;
}

absl::StatusOr<int> RouterAdverts::AdvertiseAll(const Datapath& dp) {
  ASSIGN_OR_RETURN(const auto segments6, (ReadEntries<__u32, weft_segment6>(dp, Map::kSegments6)));
  if (segments6.empty()) return 0;
  std::set<uint32_t> vnis;
  for (const auto& [vni, segment] : segments6) vnis.insert(vni);
  ASSIGN_OR_RETURN(const auto bound, (ReadEntries<__u32, weft_endpoint>(dp, Map::kEpByIf)));
  int sent = 0;
  for (const auto& [ifindex, ep] : bound) {
    if (!vnis.contains(ep.vni)) continue;
    if (absl::Status s = Advertise(dp, ifindex, ep); !s.ok()) {
      WEFT_LOG_WARN("router advertisement on ifindex %u: %s", ifindex, s.ToString());
      ++failed_;
      continue;
    }
    ++sent;
    ++sent_;
  }
  return sent;
}

absl::Status RouterAdverts::Advertise(const Datapath& dp, uint32_t ifindex,
                                      const weft_endpoint& ep) {
  const packet::Bytes solicitation = SolicitationFrom(ep.mac);
  absl::StatusOr<ProgTestRunOutput> run;
  {
    absl::MutexLock lock(&dp.marked_runs_mu());
    run = ProgTestRun({.prog_fd = dp.VmProgramFd(),
                       .hook = Hook::kTc,
                       .ingress_ifindex = ifindex,
                       .mark = WEFT_TRACE_MARK,
                       .frame = solicitation});
  }
  if (!run.ok()) return run.status();
  const packet::Parsed advert = packet::Parse(run->frame);
  if (run->retval != TC_ACT_REDIRECT || !advert.icmp || advert.icmp->type != kRouterAdvert) {
    return absl::InternalError(
        absl::StrCat("the VM program answered no advertisement (verdict ", run->retval, ")"));
  }
  if (socket_ < 0) {
    socket_ = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);  // sends only: protocol 0
    if (socket_ < 0) return BpfError(errno, "opening a packet socket");
  }
  sockaddr_ll to{};
  to.sll_family = AF_PACKET;
  to.sll_ifindex = static_cast<int>(ifindex);
  to.sll_halen = ETH_ALEN;
  std::memcpy(to.sll_addr, ep.mac, ETH_ALEN);
  if (sendto(socket_, run->frame.data(), run->frame.size(), 0, reinterpret_cast<sockaddr*>(&to),
             sizeof to) < 0) {
    return BpfError(errno, "sending it");
  }
  return absl::OkStatus();
}

}  // namespace weft
