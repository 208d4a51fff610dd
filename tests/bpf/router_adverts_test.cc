// The agent's unsolicited router advertisements (agent/router_adverts.h)
// on the fixture's datapath: one to each VM whose segment has an IPv6
// subnet, the datapath's own advertisement, sent out of the VM's interface,
// with nothing counted.
#include "agent/router_adverts.h"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>

#include "agent/datapath/maps/counters.h"
#include "common/packet/parser.h"
#include "tests/bpf/fixture.h"

namespace weft::testing {
namespace {

uint64_t TotalPackets(const Datapath& dp) {
  absl::StatusOr<Counters> counters = ReadCounters(dp);
  EXPECT_TRUE(counters.ok()) << counters.status();
  uint64_t total = 0;
  if (counters.ok())
    for (const weft_counter& c : *counters) total += c.packets;
  return total;
}

// What arrives at the VM's end of `ifname`'s pair within a second.
class FarEnd {
 public:
  explicit FarEnd(const std::string& ifname) {
    fd_ = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_IPV6));
    sockaddr_ll at{};
    at.sll_family = AF_PACKET;
    at.sll_protocol = htons(ETH_P_IPV6);
    at.sll_ifindex = static_cast<int>(if_nametoindex((ifname + "p").c_str()));
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&at), sizeof at), 0) << std::strerror(errno);
  }
  ~FarEnd() { close(fd_); }

  // The next frame that is ICMPv6 type `type`, or nothing.
  std::optional<Parsed> Next(uint8_t type) {
    pollfd p{.fd = fd_, .events = POLLIN};
    while (poll(&p, 1, 1000) == 1) {
      Bytes frame(2048);
      const ssize_t n = recv(fd_, frame.data(), frame.size(), 0);
      if (n <= 0) break;
      frame.resize(n);
      Parsed parsed = Parse(frame);
      if (parsed.icmp && parsed.icmp->type == type) return parsed;
    }
    return std::nullopt;
  }

 private:
  int fd_ = -1;
};

class RouterAdvertsTest : public BpfTest {};

TEST_F(RouterAdvertsTest, OneToEachIpv6SegmentsVmEveryIntervalAndNothingCounted) {
  FarEnd vm1("vm1");
  FarEnd vm2("vm2");
  const uint64_t counted = TotalPackets(dp());
  RouterAdverts adverts(absl::Seconds(600));
  const absl::Time now = absl::Now();

  // vm1 and vm4 (blue-a), vm3 (red-a); not vm2 (blue-b has no subnet6).
  EXPECT_EQ(adverts.Tick(dp(), now), 3);
  std::optional<Parsed> advert = vm1.Next(134);
  ASSERT_TRUE(advert) << "no router advertisement reached vm1's VM";
  EXPECT_EQ(advert->eth->dst, kVm1Mac);
  EXPECT_EQ(advert->eth->src, kBlueGwMac);
  EXPECT_EQ(advert->ipv6->src, LinkLocalOf(kBlueGwMac));
  EXPECT_EQ(advert->ipv6->dst, Ip6("ff02::1"));
  EXPECT_TRUE(advert->icmp->checksum_ok);
  EXPECT_FALSE(vm2.Next(134)) << "an advertisement for a segment without IPv6";
  EXPECT_EQ(TotalPackets(dp()), counted) << "an unsolicited advertisement was counted";

  EXPECT_EQ(adverts.Tick(dp(), now + absl::Seconds(599)), 0) << "before the interval";
  EXPECT_EQ(adverts.Tick(dp(), now + absl::Seconds(600)), 3);
  EXPECT_EQ(adverts.Counts().sent, 6u);
  EXPECT_EQ(adverts.Counts().failed, 0u);
  EXPECT_EQ(RouterAdverts(absl::ZeroDuration()).Tick(dp(), now), 0) << "0: none";
}

}  // namespace
}  // namespace weft::testing
