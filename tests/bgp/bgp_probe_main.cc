// weft-bgp-probe: drives agent/bgp/ for tests/netns/test_bgp_speaker.py (not
// shipped). Starts gobgpd as its child, the speaker and one uplink peer from
// flags, then obeys one command per stdin line, answering one line each:
//   announce <prefix>...   -> "ok" or "error <message>"
//   withdraw <prefix>...   -> "ok" or "error <message>"
//   announce_other <prefix>... -> announce in --other_vrf, a tenant with no peer here
//   learned                -> "learned <prefix>via<next hop> ..." or "error ..."
// End of input stops the speaker and gobgpd.
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "agent/bgp/gobgp_client.h"
#include "agent/bgp/gobgpd_process.h"
#include "common/base/status.h"
#include "common/model/net_format.h"

ABSL_FLAG(std::string, gobgpd, "gobgpd", "gobgpd binary");
ABSL_FLAG(uint16_t, api_port, 50051, "gobgpd API port on 127.0.0.1");
ABSL_FLAG(std::string, gobgpd_log, "", "gobgpd's log file");
ABSL_FLAG(uint32_t, asn, 65001, "our AS");
ABSL_FLAG(std::string, router_id, "", "our router id (IPv4)");
ABSL_FLAG(std::string, vrf, "tenant", "the uplink's tenant VRF");
ABSL_FLAG(uint32_t, vrf_number, 1, "the tenant's id (RD and RT)");
ABSL_FLAG(std::string, peer, "", "the uplink peer's address");
ABSL_FLAG(uint32_t, peer_asn, 65000, "the uplink peer's AS");
ABSL_FLAG(std::string, other_vrf, "other-tenant", "a second tenant's VRF, without a peer");
ABSL_FLAG(uint32_t, other_vrf_number, 2, "the second tenant's id");
ABSL_FLAG(std::string, next_hop, "", "next hop of what we announce");

namespace weft::bgp {
namespace {

absl::StatusOr<std::vector<Ipv4Prefix>> ParsePrefixes(const std::vector<std::string>& words) {
  std::vector<Ipv4Prefix> prefixes;
  for (size_t i = 1; i < words.size(); ++i) {
    ASSIGN_OR_RETURN(Ipv4Prefix prefix, ParseIpv4Prefix(words[i]));
    prefixes.push_back(prefix);
  }
  return prefixes;
}

absl::StatusOr<std::string> Obey(GobgpClient& client, const UplinkPeer& uplink, uint32_t next_hop,
                                 const std::string& line) {
  const std::vector<std::string> words = absl::StrSplit(line, ' ', absl::SkipEmpty());
  if (words.empty()) return absl::InvalidArgumentError("empty command");
  if (words[0] == "announce" || words[0] == "withdraw") {
    ASSIGN_OR_RETURN(std::vector<Ipv4Prefix> prefixes, ParsePrefixes(words));
    RETURN_IF_ERROR(words[0] == "announce" ? client.Announce(uplink.vrf, prefixes, next_hop)
                                           : client.Withdraw(uplink.vrf, prefixes, next_hop));
    return std::string("ok");
  }
  if (words[0] == "announce_other") {
    ASSIGN_OR_RETURN(std::vector<Ipv4Prefix> prefixes, ParsePrefixes(words));
    RETURN_IF_ERROR(client.Announce(absl::GetFlag(FLAGS_other_vrf), prefixes, next_hop));
    return std::string("ok");
  }
  if (words[0] == "learned") {
    ASSIGN_OR_RETURN(std::vector<LearnedRoute> routes, client.LearnedRoutes(uplink.peer_address));
    std::string answer = "learned";
    for (const LearnedRoute& route : routes) {
      absl::StrAppend(&answer, " ", FormatIpv4Prefix(route.prefix), "via",
                      FormatIpv4(route.next_hop));
    }
    return answer;
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown command ", words[0]));
}

absl::Status Run() {
  UplinkPeer uplink;
  uplink.vrf = absl::GetFlag(FLAGS_vrf);
  uplink.vrf_number = absl::GetFlag(FLAGS_vrf_number);
  uplink.peer_asn = absl::GetFlag(FLAGS_peer_asn);
  ASSIGN_OR_RETURN(uplink.peer_address, ParseIpv4(absl::GetFlag(FLAGS_peer)));
  ASSIGN_OR_RETURN(uint32_t router_id, ParseIpv4(absl::GetFlag(FLAGS_router_id)));
  ASSIGN_OR_RETURN(uint32_t next_hop, ParseIpv4(absl::GetFlag(FLAGS_next_hop)));

  GobgpdOptions options;
  options.binary = absl::GetFlag(FLAGS_gobgpd);
  options.api_port = absl::GetFlag(FLAGS_api_port);
  options.log_path = absl::GetFlag(FLAGS_gobgpd_log);
  ASSIGN_OR_RETURN(std::unique_ptr<GobgpdProcess> daemon, GobgpdProcess::Start(options));
  std::unique_ptr<GobgpClient> client = GobgpClient::Connect(daemon->api_address());
  RETURN_IF_ERROR(client->StartBgp(absl::GetFlag(FLAGS_asn), router_id));
  RETURN_IF_ERROR(client->AddUplink(uplink));
  RETURN_IF_ERROR(
      client->AddTenantVrf(absl::GetFlag(FLAGS_other_vrf), absl::GetFlag(FLAGS_other_vrf_number)));
  std::cout << "ready" << std::endl;

  std::string line;
  while (std::getline(std::cin, line)) {
    RETURN_IF_ERROR(WithContext(daemon->Alive(), "before command"));
    absl::StatusOr<std::string> answer = Obey(*client, uplink, next_hop, line);
    std::cout << (answer.ok() ? *answer : absl::StrCat("error ", answer.status().ToString()))
              << std::endl;
  }
  RETURN_IF_ERROR(client->StopBgp());
  daemon->Stop();
  return absl::OkStatus();
}

}  // namespace
}  // namespace weft::bgp

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  if (absl::Status status = weft::bgp::Run(); !status.ok()) {
    std::cerr << "weft-bgp-probe: " << status << std::endl;
    return 1;
  }
  return 0;
}
