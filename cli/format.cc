#include "cli/format.h"

#include <algorithm>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/base/status.h"
#include "google/protobuf/util/json_util.h"

namespace weft::cli {
namespace {

// Options each command takes; "!" marks a flag without a value.
const std::map<std::string, std::set<std::string>>& Commands() {
  static const auto* kCommands = new std::map<std::string, std::set<std::string>>{
      {"status", {}},
      {"endpoints", {"--tenant"}},
      {"routes", {"--tenant"}},
      {"conntrack", {"--tenant", "--addr", "--port"}},
      {"counters", {"!--all"}},
      {"policy", {}},
      {"trace",
       {"--ingress-iface", "!--from-underlay", "--tenant", "--src", "--dst", "--proto", "--sport",
        "--dport", "--tcp-flags", "--dst-mac", "--src-mac", "--ttl", "--src-vtep", "--vni"}},
      {"monitor", {"--reason", "--tenant", "--type", "--count", "--timeout"}},
      {"apply", {"-f", "--if-version"}},
      {"get", {}},
      {"store",
       {"--store", "-f", "-o", "--if-version", "--store-ca", "--store-cert", "--store-key",
        "--store-prefix"}},
  };
  return *kCommands;
}

// The length of the UTF-8 sequence `text` starts with, 0 when it does not
// start with one (a stray continuation byte, an overlong form, a surrogate,
// beyond U+10FFFF, cut short); *code_point gets what it encodes.
size_t Utf8Sequence(absl::string_view text, uint32_t* code_point) {
  const uint8_t lead = text[0];
  if (lead < 0x80) {
    *code_point = lead;
    return 1;
  }
  const size_t length = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 0;
  if (length == 0 || lead > 0xf4 || text.size() < length) return 0;
  static constexpr uint32_t kSmallest[] = {0, 0, 0x80, 0x800, 0x10000};
  uint32_t cp = lead & (0x7f >> length);
  for (size_t i = 1; i < length; ++i) {
    const uint8_t b = text[i];
    if ((b & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3f);
  }
  if (cp < kSmallest[length] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  *code_point = cp;
  return length;
}

// An option's value, a number in 0..max; 0 when the option is absent.
absl::StatusOr<uint32_t> Number(const Args& a, const std::string& opt, uint32_t max) {
  auto it = a.options.find(opt);
  if (it == a.options.end()) return 0;
  uint32_t v = 0;
  if (!absl::SimpleAtoi(it->second, &v) || v > max) {
    return absl::InvalidArgumentError(
        absl::StrCat(opt, " ", it->second, ": not a number in 0..", max));
  }
  return v;
}

std::string Opt(const Args& a, const std::string& opt) {
  auto it = a.options.find(opt);
  return it == a.options.end() ? "" : it->second;
}

// "ip:port" for TCP and UDP ("[ip]:port" for IPv6), else the address.
std::string Endpoint(const std::string& ip, uint32_t port, const std::string& proto) {
  if (proto != "tcp" && proto != "udp") return ip;
  return absl::StrContains(ip, ':') ? absl::StrCat("[", ip, "]:", port)
                                    : absl::StrCat(ip, ":", port);
}

std::string Headers(const v1::PacketHeaders& h) {
  std::string s = absl::StrCat(h.src_mac(), " > ", h.dst_mac());
  if (h.ethertype() != "ipv4" && h.ethertype() != "ipv6") {
    return absl::StrCat(s, " ", h.ethertype());
  }
  absl::StrAppend(&s, ", ", Endpoint(h.src(), h.sport(), h.protocol()), " > ",
                  Endpoint(h.dst(), h.dport(), h.protocol()), " ", h.protocol());
  if (h.protocol() == "tcp") absl::StrAppend(&s, " [", h.tcp_flags(), "]");
  if (h.protocol() == "icmp" || h.protocol() == "icmpv6") {
    absl::StrAppend(&s, " type ", h.icmp_type(), " code ", h.icmp_code());
  }
  absl::StrAppend(&s, " ttl ", h.ttl(), ", ", h.length(), " bytes");
  return s;
}

std::string Rule(const std::string& policy, uint32_t number, uint32_t index) {
  if (index == 0xffffffffu) return "default";
  if (policy.empty()) return absl::StrCat("#", index);
  return absl::StrCat(policy, "/", number, " (#", index, ")");
}

// The choices after `get` and `store`.
constexpr char kGetObjects[] = "get state | get realization [VERSION] | get uplinks | get routes";
constexpr char kStoreActions[] = "store seed -f FILE | store export [-o FILE]";

// `store seed|export`: the store itself, neither the agent nor a controller.
absl::Status CheckStore(const Args& args, bool tls_given) {
  if (!args.controller.empty() || tls_given || !args.socket.empty()) {
    return absl::InvalidArgumentError(
        "store talks to etcd itself: --controller, --socket and their TLS options are not "
        "for it (--store_ca, --store_cert, --store_key are)");
  }
  if (args.operands.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("store needs an action: ", kStoreActions));
  }
  const std::string& action = args.operands[0];
  if (action != "seed" && action != "export") {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown action \"", action, "\" (", kStoreActions, ")"));
  }
  if (args.operands.size() > 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("unexpected argument \"", args.operands.back(), "\" (", kStoreActions, ")"));
  }
  if (!args.options.contains("--store")) {
    return absl::InvalidArgumentError(
        absl::StrCat("store ", action, " needs --store etcd://HOST:PORT[,HOST:PORT...]"));
  }
  const bool seed = action == "seed";
  if (seed && !args.options.contains("-f")) {
    return absl::InvalidArgumentError("store seed needs -f FILE");
  }
  for (const char* option :
       seed ? std::vector<const char*>{"-o"} : std::vector<const char*>{"-f", "--if-version"}) {
    if (args.options.contains(option)) {
      return absl::InvalidArgumentError(
          absl::StrCat("store ", action, " takes no option ", option));
    }
  }
  return absl::OkStatus();
}

// What ParseArgs cannot check option by option: the pairing of a command
// with where it goes, and what the command needs.
absl::Status CheckTarget(const Args& args) {
  const bool tls_given = !args.tls.cert.empty() || !args.tls.key.empty() || !args.tls.ca.empty() ||
                         !args.tls_server_name.empty() || args.tls.insecure;
  if (args.command == "store") return CheckStore(args, tls_given);
  if (!ForController(args.command)) {
    if (!args.controller.empty() || tls_given) {
      return absl::InvalidArgumentError(absl::StrCat(
          args.command, " asks the agent: --controller and its TLS options are for apply and get"));
    }
    return absl::OkStatus();
  }
  if (args.controller.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(args.command, " asks the controller: give --controller ADDR"));
  }
  if (!args.socket.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--socket is the agent's; ", args.command, " asks the controller"));
  }
  // Only that a choice was made: ClientCredentials (agent/sync/credentials.h)
  // refuses an incomplete set of files, or files with --insecure.
  if (!args.tls.insecure && args.tls.cert.empty() && args.tls.key.empty() && args.tls.ca.empty()) {
    return absl::InvalidArgumentError(
        "--controller needs --tls_cert, --tls_key and --tls_ca (mutual TLS), or --insecure");
  }
  if (args.command == "apply" && !args.options.contains("-f")) {
    return absl::InvalidArgumentError("apply needs -f FILE");
  }
  if (args.command == "get") {
    if (args.operands.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("get needs an object: ", kGetObjects));
    }
    const std::string& object = args.operands[0];
    if (object != "state" && object != "realization" && object != "uplinks" && object != "routes") {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown object \"", object, "\" (", kGetObjects, ")"));
    }
    if (args.operands.size() > (object == "realization" ? 2u : 1u)) {
      return absl::InvalidArgumentError(
          absl::StrCat("unexpected argument \"", args.operands.back(), "\" (", kGetObjects, ")"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

bool ForController(const std::string& command) { return command == "apply" || command == "get"; }

std::string Printable(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    uint32_t cp = 0;
    const size_t length = Utf8Sequence(text.substr(i), &cp);
    const bool control = cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
    if (length != 0 && !control) {
      out.append(text.data() + i, length);
      i += length;
      continue;
    }
    // Each byte of a control character, or the one byte that is not UTF-8.
    for (const size_t end = i + std::max<size_t>(length, 1); i < end; ++i) {
      absl::StrAppendFormat(&out, "\\x%02x", static_cast<uint8_t>(text[i]));
    }
  }
  return out;
}

std::string Usage() {
  return "usage: weftctl [--socket PATH] [--json] COMMAND [options]\n"
         "  status\n"
         "  endpoints [--tenant N]\n"
         "  routes [--tenant N]\n"
         "  conntrack [--tenant N] [--addr A] [--port P]\n"
         "  counters [--all]\n"
         "  policy\n"
         "  trace (--ingress-iface IFACE | --tenant N [--from-underlay]) --src IP --dst IP (v4 or "
         "v6)\n"
         "        [--proto tcp|udp|icmp] [--sport P] [--dport P] [--tcp-flags S|SA|A|FA|R]\n"
         "        [--dst-mac MAC] [--src-mac MAC] [--ttl N] [--src-vtep IP] [--vni N]\n"
         "  monitor [--reason R] [--tenant N] [--type drop|rule_hit] [--count N] [--timeout S]\n"
         "The socket defaults to the only one in /run/weft.\n"
         "\n"
         "       weftctl --controller ADDR (--tls_cert F --tls_key F --tls_ca F [--tls_server_name "
         "N]\n"
         "                                  | --insecure) [--json] COMMAND\n"
         "  apply -f FILE [--if-version N]\n"
         "                              validate FILE, then install it as the desired state\n"
         "                              (with --if-version: only if the state is still at\n"
         "                              version N, else a conflict and nothing written)\n"
         "  get state                   the controller's desired state\n"
         "  get realization [VERSION]   per node: connected, acked, enforced version, last NACK\n"
         "  get uplinks                 the edges' uplinks and what each tenant announces "
         "upstream\n"
         "  get routes                  each tenant's routes: the state's and those learned "
         "upstream\n"
         "ADDR is the controller's --admin_listen.\n"
         "\n"
         "       weftctl store --store etcd://HOST:PORT[,HOST:PORT...]\n"
         "                     [--store_ca F --store_cert F --store_key F] [--store_prefix P] "
         "ACTION\n"
         "  seed -f FILE [--if-version N]\n"
         "                              validate FILE, then write it into the store directly\n"
         "                              (migration, before any replica runs)\n"
         "  export [-o FILE]            the store's desired state as YAML (stdout by default)\n";
}

absl::StatusOr<Args> ParseArgs(const std::vector<std::string>& argv) {
  Args args;
  for (size_t i = 0; i < argv.size(); ++i) {
    std::string a = argv[i];
    std::string value;
    bool has_value = false;
    if (a.starts_with("--")) {
      if (size_t eq = a.find('='); eq != std::string::npos) {
        value = a.substr(eq + 1);
        a = a.substr(0, eq);
        has_value = true;
      }
      // --ingress_iface is --ingress-iface
      std::replace(a.begin() + 2, a.end(), '_', '-');
    }
    auto take = [&]() -> absl::StatusOr<std::string> {
      if (has_value) return value;
      if (i + 1 >= argv.size()) return absl::InvalidArgumentError(a + " needs a value");
      return argv[++i];
    };
    if (a == "--json") {
      args.json = true;
    } else if (a == "--insecure") {
      args.tls.insecure = true;
    } else if (std::string* global = a == "--socket"            ? &args.socket
                                     : a == "--controller"      ? &args.controller
                                     : a == "--tls-cert"        ? &args.tls.cert
                                     : a == "--tls-key"         ? &args.tls.key
                                     : a == "--tls-ca"          ? &args.tls.ca
                                     : a == "--tls-server-name" ? &args.tls_server_name
                                                                : nullptr) {
      ASSIGN_OR_RETURN(*global, take());
    } else if (a == "-h" || a == "--help" || a == "help") {
      args.command = "help";
    } else if (!a.starts_with("-")) {
      if (args.command == "get" || args.command == "store") {
        args.operands.push_back(a);
        continue;
      }
      if (!args.command.empty()) {
        return absl::InvalidArgumentError(absl::StrCat("unexpected argument \"", a, "\""));
      }
      if (!Commands().contains(a)) {
        return absl::InvalidArgumentError(absl::StrCat("unknown command \"", a, "\""));
      }
      args.command = a;
    } else {
      if (args.command.empty()) {
        return absl::InvalidArgumentError(absl::StrCat("option ", a, " before the command"));
      }
      const auto& allowed = Commands().at(args.command);
      if (allowed.contains("!" + a)) {
        args.options[a] = "true";
      } else if (allowed.contains(a)) {
        ASSIGN_OR_RETURN(args.options[a], take());
      } else {
        return absl::InvalidArgumentError(absl::StrCat(args.command, " takes no option ", a));
      }
    }
  }
  if (args.command.empty()) return absl::InvalidArgumentError("no command");
  if (args.command == "help") return args;
  RETURN_IF_ERROR(CheckTarget(args));
  return args;
}

absl::StatusOr<uint32_t> TenantFrom(const Args& args) {
  return Number(args, "--tenant", 0xffffffffu);
}

absl::StatusOr<v1::GetRealizationRequest> RealizationRequestFrom(const Args& args) {
  v1::GetRealizationRequest req;
  if (args.operands.size() < 2) return req;
  uint64_t version = 0;
  if (!absl::SimpleAtoi(args.operands[1], &version)) {
    return absl::InvalidArgumentError(
        absl::StrCat("get realization ", args.operands[1], ": not a version number"));
  }
  req.set_version(version);
  return req;
}

absl::StatusOr<std::optional<uint64_t>> IfVersionFrom(const Args& args) {
  auto it = args.options.find("--if-version");
  if (it == args.options.end()) return std::nullopt;
  uint64_t version = 0;
  if (!absl::SimpleAtoi(it->second, &version) || absl::StrCat(version) != it->second) {
    return absl::InvalidArgumentError(
        absl::StrCat("--if-version ", it->second, ": not a version number"));
  }
  return version;
}

absl::StatusOr<v1::ConntrackRequest> ConntrackRequestFrom(const Args& args) {
  v1::ConntrackRequest req;
  ASSIGN_OR_RETURN(const uint32_t tenant, TenantFrom(args));
  ASSIGN_OR_RETURN(const uint32_t port, Number(args, "--port", 65535));
  req.set_tenant_id(tenant);
  req.set_port(port);
  req.set_address(Opt(args, "--addr"));
  return req;
}

absl::StatusOr<v1::TraceRequest> TraceRequestFrom(const Args& args) {
  v1::TraceRequest req;
  req.set_ingress_iface(Opt(args, "--ingress-iface"));
  req.set_from_underlay(args.options.contains("--from-underlay"));
  ASSIGN_OR_RETURN(const uint32_t tenant, TenantFrom(args));
  req.set_tenant_id(tenant);
  if (req.ingress_iface().empty() && !tenant) {
    return absl::InvalidArgumentError("trace needs --ingress-iface, or --tenant");
  }
  if (!req.ingress_iface().empty() && req.from_underlay()) {
    return absl::InvalidArgumentError("--ingress-iface and --from-underlay exclude each other");
  }
  req.set_src(Opt(args, "--src"));
  req.set_dst(Opt(args, "--dst"));
  if (req.src().empty() || req.dst().empty()) {
    return absl::InvalidArgumentError("trace needs --src and --dst");
  }
  req.set_protocol(Opt(args, "--proto"));
  if (!req.protocol().empty() && req.protocol() != "tcp" && req.protocol() != "udp" &&
      req.protocol() != "icmp") {
    return absl::InvalidArgumentError("--proto must be tcp, udp or icmp");
  }
  for (auto [opt, set] : {std::pair{"--sport", &v1::TraceRequest::set_sport},
                          std::pair{"--dport", &v1::TraceRequest::set_dport}}) {
    ASSIGN_OR_RETURN(const uint32_t port, Number(args, opt, 65535));
    (req.*set)(port);
  }
  if ((req.protocol() == "tcp" || req.protocol() == "udp") && req.dport() == 0) {
    return absl::InvalidArgumentError("--dport is needed for tcp and udp");
  }
  ASSIGN_OR_RETURN(const uint32_t ttl, Number(args, "--ttl", 255));
  req.set_ttl(ttl);
  ASSIGN_OR_RETURN(const uint32_t vni, Number(args, "--vni", 0xffffff));
  req.set_vni(vni);
  req.set_tcp_flags(Opt(args, "--tcp-flags"));
  req.set_dst_mac(Opt(args, "--dst-mac"));
  req.set_src_mac(Opt(args, "--src-mac"));
  req.set_src_vtep(Opt(args, "--src-vtep"));
  return req;
}

absl::StatusOr<v1::MonitorRequest> MonitorRequestFrom(const Args& args) {
  v1::MonitorRequest req;
  ASSIGN_OR_RETURN(const uint32_t tenant, TenantFrom(args));
  req.set_tenant_id(tenant);
  req.set_reason(Opt(args, "--reason"));
  req.set_type(Opt(args, "--type"));
  if (!req.type().empty() && req.type() != "drop" && req.type() != "rule_hit") {
    return absl::InvalidArgumentError("--type must be drop or rule_hit");
  }
  return req;
}

absl::StatusOr<MonitorLimits> MonitorLimitsFrom(const Args& args) {
  // Long enough for any watch; short enough that milliseconds stay exact.
  constexpr double kMaxTimeoutSeconds = 1e6;
  MonitorLimits limits;
  ASSIGN_OR_RETURN(limits.count, Number(args, "--count", 0xffffffffu));
  if (auto it = args.options.find("--timeout"); it != args.options.end()) {
    double seconds = 0;
    if (!absl::SimpleAtod(it->second, &seconds) || !(seconds > 0) || seconds > kMaxTimeoutSeconds) {
      return absl::InvalidArgumentError(absl::StrCat("--timeout ", it->second,
                                                     ": not a number of seconds above 0, up to ",
                                                     kMaxTimeoutSeconds));
    }
    limits.timeout = absl::Milliseconds(static_cast<int64_t>(seconds * 1000));
  }
  return limits;
}

absl::Status CheckOptions(const Args& args) {
  const std::string& command = args.command;
  if (command == "endpoints" || command == "routes") return TenantFrom(args).status();
  if (command == "conntrack") return ConntrackRequestFrom(args).status();
  if (command == "trace") return TraceRequestFrom(args).status();
  if (command == "monitor") {
    RETURN_IF_ERROR(MonitorRequestFrom(args).status());
    return MonitorLimitsFrom(args).status();
  }
  if (command == "get" && args.operands[0] == "realization") {
    return RealizationRequestFrom(args).status();
  }
  if (command == "apply" || command == "store") return IfVersionFrom(args).status();
  return absl::OkStatus();
}

std::string OrDash(const std::string& s) { return s.empty() ? "-" : s; }

std::string BothFamilies(const std::string& v4, const std::string& v6) {
  return v6.empty() ? OrDash(v4) : absl::StrCat(OrDash(v4), " ", v6);
}

std::string FormatTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::vector<std::string>> printable;
  printable.reserve(rows.size());
  for (const auto& row : rows) {
    std::vector<std::string>& cells = printable.emplace_back();
    for (const std::string& cell : row) cells.push_back(Printable(cell));
  }
  std::vector<size_t> width(header.size());
  for (size_t i = 0; i < header.size(); ++i) width[i] = header[i].size();
  for (const auto& row : printable) {
    for (size_t i = 0; i < row.size() && i < width.size(); ++i) {
      width[i] = std::max(width[i], row[i].size());
    }
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string s;
    for (size_t i = 0; i < width.size(); ++i) {
      const std::string& c = i < cells.size() ? cells[i] : "";
      if (i + 1 == width.size()) {
        s += c;
      } else {
        s += c + std::string(width[i] - c.size() + 2, ' ');
      }
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    return s + "\n";
  };
  std::string out = line(header);
  for (const auto& row : printable) out += line(row);
  return out;
}

std::string FormatStatus(const v1::StatusResponse& s) {
  std::string out = absl::StrCat("node:              ", Printable(s.node()), "\n");
  absl::StrAppend(&out, "mode:              ", Printable(s.mode()));
  if (s.mode() == "controller") {
    absl::StrAppend(&out, " (", Printable(s.controller()), ", ",
                    s.controller_connected() ? "connected" : "NOT connected", ")");
  }
  absl::StrAppend(&out, "\n", "applied version:   ", s.applied_version(),
                  s.has_state() ? "" : " (no state yet)", "\n");
  absl::StrAppend(&out, "pins:              ", Printable(s.pin_dir()), "\n");
  if (s.unrealized_size() > 0) {
    absl::StrAppend(&out, "not realized:      ", Printable(absl::StrJoin(s.unrealized(), ", ")),
                    " (in the state, not in the datapath)\n");
  }
  if (s.bgp_sessions() > 0) {
    absl::StrAppend(&out, "bgp:               ", s.bgp_sessions_established(), "/",
                    s.bgp_sessions(), " sessions up, ", s.bgp_learned_prefixes(),
                    " learned prefixes\n");
  }
  if (s.policy_maps()) {
    absl::StrAppend(&out, "policy:            slot ", s.policy_slot(), ", generation ",
                    s.policy_generation(), ", ", s.policy_rules(), " rules\n");
  } else {
    absl::StrAppend(&out, "policy:            not enforced (objects without firewall maps)\n");
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& p : s.programs()) {
    rows.push_back({p.interface(), absl::StrCat(p.ifindex()), p.hook(), p.program(),
                    p.prog_id() ? absl::StrCat(p.prog_id()) : "NOT ATTACHED"});
  }
  absl::StrAppend(&out, "\n",
                  FormatTable({"INTERFACE", "IFINDEX", "HOOK", "PROGRAM", "PROG ID"}, rows));
  return out;
}

std::string FormatEndpoints(const v1::EndpointsResponse& r) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& e : r.endpoints()) {
    std::string where = e.local() ? absl::StrCat(e.interface(), " (", e.ifindex(), ")")
                                  : absl::StrCat("vtep ", e.vtep());
    rows.push_back({absl::StrCat(e.tenant(), "(", e.tenant_id(), ")"), OrDash(e.name()),
                    e.segment(), absl::StrCat(e.vni()), BothFamilies(e.ip(), e.ip6()), e.mac(),
                    OrDash(e.node()), where, absl::StrJoin(e.groups(), ",")});
  }
  return FormatTable(
      {"TENANT", "NAME", "SEGMENT", "VNI", "IP", "MAC", "NODE", "LOCATION", "GROUPS"}, rows);
}

std::string FormatRoutes(const v1::RoutesResponse& r) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& x : r.routes()) {
    std::string via;
    if (x.kind() == "connected") via = absl::StrCat("segment ", x.segment());
    if (x.kind() == "remote") {
      via = absl::StrCat("vtep ", absl::StrJoin(x.next_hops(), ","), " vni ", x.vni());
    }
    rows.push_back({absl::StrCat(x.tenant(), "(", x.tenant_id(), ")"), x.prefix(), x.kind(),
                    x.kind() == "blackhole" ? "-" : absl::StrCat(x.vni()), via});
  }
  return FormatTable({"TENANT", "PREFIX", "KIND", "VNI", "VIA"}, rows);
}

std::string FormatConntrack(const v1::ConntrackResponse& r) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& e : r.entries()) {
    // An echo flow's ports hold its identifier, of either family.
    const bool echo = e.protocol() == "icmp" || e.protocol() == "icmpv6";
    rows.push_back(
        {absl::StrCat(e.tenant_id()), e.protocol(), Endpoint(e.src(), e.sport(), e.protocol()),
         Endpoint(e.dst(), e.dport(), e.protocol()), echo ? absl::StrCat("id ", e.sport()) : "",
         e.state(), absl::StrJoin(e.flags(), ","),
         absl::StrCat(e.packets_orig(), "/", e.bytes_orig()),
         absl::StrCat(e.packets_reply(), "/", e.bytes_reply()),
         absl::StrFormat("%.1fs", e.age_seconds()), absl::StrCat(e.policy_generation()),
         Rule(e.policy(), e.rule_number(), e.rule_index())});
  }
  return FormatTable({"TENANT", "PROTO", "SOURCE", "DESTINATION", "", "STATE", "JUDGED",
                      "ORIG PKTS/BYTES", "REPLY PKTS/BYTES", "IDLE", "GEN", "RULE"},
                     rows) +
         absl::StrCat(r.entries_size(), " of ", r.total(), " entries\n");
}

std::string FormatCounters(const v1::CountersResponse& r, bool all) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& c : r.counters()) {
    if (!all && c.packets() == 0) continue;
    rows.push_back({c.reason(), c.drop() ? "drop" : "pass", absl::StrCat(c.packets()),
                    absl::StrCat(c.bytes())});
  }
  std::string out = FormatTable({"REASON", "VERDICT", "PACKETS", "BYTES"}, rows);
  std::vector<std::vector<std::string>> ct;
  for (const auto& s : r.ct_stats()) {
    if (!all && s.count() == 0) continue;
    ct.push_back({s.name(), absl::StrCat(s.count())});
  }
  if (!r.ct_stats().empty()) absl::StrAppend(&out, "\n", FormatTable({"CONNTRACK", "COUNT"}, ct));
  return out;
}

std::string FormatPolicy(const v1::PolicyResponse& r) {
  std::string out = absl::StrCat("active slot ", r.slot(), ", generation ", r.generation(), "\n\n");
  std::vector<std::vector<std::string>> rows;
  for (const auto& x : r.rules()) {
    rows.push_back(
        {absl::StrCat(x.index()), x.tenant(), absl::StrCat(x.policy(), "/", x.rule_number()),
         x.direction(), x.peers().empty() ? "any" : absl::StrJoin(x.peers(), ","), x.protocol(),
         x.ports().empty() ? "-" : x.ports(), x.action() + (x.in_map() ? "" : " (NOT IN MAP)"),
         x.log() ? "log" : "", absl::StrJoin(x.applied_to(), ",")});
  }
  absl::StrAppend(&out, FormatTable({"#", "TENANT", "POLICY/RULE", "DIR", "PEER", "PROTO", "PORTS",
                                     "ACTION", "LOG", "APPLIED TO"},
                                    rows));
  std::vector<std::vector<std::string>> defaults;
  for (const auto& d : r.defaults()) {
    defaults.push_back({absl::StrCat(d.tenant(), "(", d.tenant_id(), ")"), d.action()});
  }
  absl::StrAppend(&out, "\n", FormatTable({"TENANT", "DEFAULT"}, defaults));
  return out;
}

std::string FormatTrace(const v1::TraceResponse& r) {
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"verdict:", r.summary()});
  rows.push_back({"program:", absl::StrCat(r.program(), " (id ", r.prog_id(), ") on ",
                                           r.ingress_iface(), " (", r.ingress_ifindex(), ")")});
  rows.push_back({"input:", Headers(r.input())});
  rows.push_back({"reason:", absl::StrCat(r.reason(), r.dropped() ? " (drop)" : "", ", tc action ",
                                          r.tc_action())});
  std::string ct = r.conntrack();
  if (!r.ct_state().empty()) absl::StrAppend(&ct, " (", r.ct_state(), ")");
  rows.push_back({"conntrack:", ct});
  if (r.policy_judged() || r.conntrack() == "hit") {
    std::string p = r.policy_judged() ? absl::StrCat(r.policy_action(), " by ", r.direction(), " ")
                                      : "admitted by ";
    absl::StrAppend(&p,
                    r.rule_index() == 0xffffffffu
                        ? "tenant default"
                        : "rule " + Rule(r.policy(), r.rule_number(), r.rule_index()),
                    ", generation ", r.policy_generation());
    rows.push_back({"policy:", p});
  }
  if (!r.route().empty()) {
    std::string route = absl::StrCat(r.route(), ", vni ", r.vni());
    if (!r.vtep().empty()) absl::StrAppend(&route, ", vtep ", r.vtep());
    rows.push_back({"route:", route});
  }
  if (r.egress_ifindex()) {
    rows.push_back({"egress:", absl::StrCat(r.egress_iface(), " (", r.egress_ifindex(), ")")});
  }
  if (r.encapsulated()) {
    rows.push_back({"output outer:", absl::StrCat(Headers(r.outer()), ", vni ", r.outer_vni())});
    rows.push_back({"output inner:", Headers(r.output())});
  } else if (!r.output().src_mac().empty()) {
    rows.push_back({"output:", Headers(r.output())});
  }
  std::string out;
  for (const auto& row : rows) out += absl::StrFormat("%-14s%s\n", row[0], Printable(row[1]));
  return out;
}

std::string FormatEvent(const v1::Event& e) {
  std::string s = absl::StrCat(e.type(), " ", e.reason(), " tenant ", e.tenant_id());
  if (!e.tenant().empty()) absl::StrAppend(&s, "(", e.tenant(), ")");
  absl::StrAppend(&s, " ", e.protocol(), " ", Endpoint(e.src(), e.sport(), e.protocol()), " > ",
                  Endpoint(e.dst(), e.dport(), e.protocol()));
  if (!e.interface().empty() || e.ifindex()) {
    absl::StrAppend(&s, " on ", e.interface().empty() ? absl::StrCat(e.ifindex()) : e.interface());
  }
  if (e.type() == "rule_hit") {
    absl::StrAppend(&s, " ", e.direction(), " ", e.action(), " rule ",
                    Rule(e.policy(), e.rule_number(), e.rule_index()), " gen ",
                    e.policy_generation());
  }
  return Printable(s);
}

std::string ToJson(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::util::JsonPrintOptions opts;
  opts.preserve_proto_field_names = true;
  opts.always_print_primitive_fields = true;
  (void)google::protobuf::util::MessageToJsonString(m, &out, opts);
  return out + "\n";
}

}  // namespace weft::cli
