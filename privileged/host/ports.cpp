#include "privileged/host/ports.hpp"

#include "messages/published_ports.hpp"
#include "privileged/host/errors.hpp"
#include "privileged/host/nft.hpp"
#include "privileged/host/route.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <mutex>
#include <set>

namespace banger::host {

namespace {

/// Publishes are read, check, write: the conflict check must see every
/// other VM's rules, and the helper's workers run requests of different VMs
/// at once. One lock for the process (a home has one helper).
std::mutex table_lock;

constexpr std::string_view rule_tag = "vm:";

/// One mapping's rule as the table holds it.
struct PublishedRule {
  std::string vm_id;
  std::uint64_t handle = 0;
  std::string protocol;
  std::uint16_t host_port = 0;
};

/// What the table holds, as far as publishing needs to know.
struct TableState {
  bool present = false;
  std::map<std::string, std::size_t> rules_in; ///< by chain, every chain listed
  std::vector<PublishedRule> published;
};

std::string table_of(std::string_view bridge) {
  return "ip " + ports_table_name(bridge);
}

/// The (protocol, destination port) a rule matches, from nft's JSON form
/// {"match": {"left": {"payload": {"protocol": "tcp", "field": "dport"}},
/// "right": 18080}}; false when it has none.
bool matched_port(const nlohmann::json& expressions, PublishedRule& rule) {
  if (!expressions.is_array())
    return false;
  for (const auto& e : expressions) {
    if (!e.is_object() || !e.contains("match"))
      continue;
    const auto& match = e["match"];
    if (!match.is_object() || !match.contains("left") || !match.contains("right"))
      continue;
    const auto& left = match["left"];
    if (!left.is_object() || !left.contains("payload") || !left["payload"].is_object())
      continue;
    const auto& payload = left["payload"];
    auto protocol = payload.value("protocol", std::string());
    if ((protocol != "tcp" && protocol != "udp") || payload.value("field", std::string()) != "dport")
      continue;
    const auto& right = match["right"];
    if (!right.is_number_unsigned() || right.get<std::uint64_t>() > 65535)
      continue;
    rule.protocol = protocol;
    rule.host_port = static_cast<std::uint16_t>(right.get<std::uint64_t>());
    return true;
  }
  return false;
}

Result<TableState> read_table(std::string_view bridge) {
  if (auto ok = validate_bridge_name(bridge); !ok)
    return std::move(ok).error();
  auto table = table_of(bridge);
  auto run = run_nft("list table " + table + "\n", /*json=*/true);
  if (!run)
    return std::move(run).error();
  TableState state;
  if (nft_no_such_table(*run))
    return state;
  if (!run->ok)
    return Error{Errc::system, "nft list table " + table + ": " + run->errors};
  state.present = true;
  auto listing = nlohmann::json::parse(run->output, nullptr, /*allow_exceptions=*/false);
  if (listing.is_discarded() || !listing.is_object() || !listing.contains("nftables")
      || !listing["nftables"].is_array())
    return Error{Errc::system, "nft list table " + table + ": output is not nft's JSON"};
  for (const auto& item : listing["nftables"]) {
    if (!item.is_object())
      continue;
    if (item.contains("chain") && item["chain"].is_object()) {
      state.rules_in.emplace(item["chain"].value("name", std::string()), 0);
      continue;
    }
    if (!item.contains("rule") || !item["rule"].is_object())
      continue;
    const auto& rule = item["rule"];
    auto chain = rule.value("chain", std::string());
    ++state.rules_in[chain];
    auto comment = rule.value("comment", std::string());
    if (chain != "published" || comment.compare(0, rule_tag.size(), rule_tag) != 0)
      continue;
    PublishedRule published;
    published.vm_id = comment.substr(rule_tag.size());
    if (!validate_vm_id(published.vm_id) || !rule.contains("handle")
        || !rule["handle"].is_number_unsigned())
      continue;
    published.handle = rule["handle"].get<std::uint64_t>();
    if (!rule.contains("expr") || !matched_port(rule["expr"], published))
      published.host_port = 0; // still the VM's: removed with its others
    state.published.push_back(std::move(published));
  }
  return state;
}

/// The table's fixed part, for whatever of it is missing (a first publish,
/// or chains someone flushed or deleted). `add chain` of an existing chain
/// is a no-op; rules are added only to chains without any.
std::string skeleton(std::string_view bridge, const Ipv4Subnet& subnet, const TableState& state) {
  auto table = table_of(bridge);
  struct Chain {
    const char* name;
    const char* definition; // empty: a regular chain
    std::string rule;       // empty: none of its own
  };
  // The regular chain first: the base chains' rules jump to it.
  const Chain chains[] = {
    {"published", "", ""},
    {"prerouting", " { type nat hook prerouting priority dstnat; policy accept; }",
     "fib daddr type local jump published"},
    // -100 is dstnat; spelled as a number because older nft versions know
    // the name only at the prerouting hook.
    {"output", " { type nat hook output priority -100; policy accept; }",
     "ip daddr != 127.0.0.0/8 fib daddr type local jump published"},
    {"postrouting", " { type nat hook postrouting priority srcnat; policy accept; }",
     "oifname \"" + std::string(bridge) + "\" ip saddr " + subnet.to_string()
       + " ct status dnat masquerade"},
  };
  std::string script = "add table " + table + "\n";
  for (const auto& chain : chains) {
    script += "add chain " + table + " " + chain.name + chain.definition + "\n";
    auto it = state.rules_in.find(chain.name);
    if (!chain.rule.empty() && (it == state.rules_in.end() || it->second == 0))
      script += "add rule " + table + " " + chain.name + " " + chain.rule + "\n";
  }
  return script;
}

std::string removal_of(std::string_view bridge, const TableState& state, std::string_view vm_id) {
  std::string script;
  for (const auto& rule : state.published)
    if (rule.vm_id == vm_id)
      script += "delete rule " + table_of(bridge) + " published handle "
                + std::to_string(rule.handle) + "\n";
  return script;
}

} // namespace

std::string ports_table_name(std::string_view bridge) {
  return "banger_ports_" + std::string(bridge);
}

Result<PortsSpec> validate_ports(const Ipv4Subnet& subnet, std::string_view vm_id,
                                 std::string_view guest_ip, const std::vector<PortMapping>& ports) {
  if (auto ok = validate_vm_id(vm_id); !ok)
    return std::move(ok).error();
  auto address = parse_dotted_quad(guest_ip);
  if (!address)
    return invalid_argument("guest IP " + printable(guest_ip) + " is not an IPv4 dotted quad");
  auto broadcast = subnet.network | ~subnet.netmask();
  if (!subnet.contains(*address) || *address == subnet.network || *address == subnet.gateway()
      || *address == broadcast)
    return refused("guest IP " + ipv4_to_string(*address) + " is not a guest address of "
                   + subnet.to_string());
  if (auto ok = check_port_mappings(ports); !ok)
    return std::move(ok).error();
  return PortsSpec{std::string(vm_id), *address, ports};
}

Status publish_ports(std::string_view bridge, const Ipv4Subnet& subnet, const PortsSpec& spec) {
  std::lock_guard lock(table_lock);
  auto state = read_table(bridge);
  if (!state)
    return std::move(state).error();
  for (const auto& mapping : spec.ports)
    for (const auto& rule : state->published)
      if (rule.vm_id != spec.vm_id && rule.protocol == mapping.protocol
          && rule.host_port == mapping.host_port)
        return conflict("host port " + std::to_string(mapping.host_port) + "/" + mapping.protocol
                        + " is already published by VM " + rule.vm_id);
  auto removal = removal_of(bridge, *state, spec.vm_id);
  if (spec.ports.empty()) {
    if (removal.empty())
      return {};
    return run_nft_checked(removal, table_of(bridge));
  }
  // One transaction: the VM's old rules go and its new ones come at once,
  // so a republish never leaves a moment with neither, nor with both.
  auto script = skeleton(bridge, subnet, *state) + removal;
  auto guest = ipv4_to_string(spec.guest_ip);
  for (const auto& mapping : spec.ports)
    script += "add rule " + table_of(bridge) + " published " + mapping.protocol + " dport "
              + std::to_string(mapping.host_port) + " dnat to " + guest + ":"
              + std::to_string(mapping.guest_port) + " comment \"" + std::string(rule_tag)
              + spec.vm_id + "\"\n";
  if (auto ok = run_nft_checked(script, table_of(bridge)); !ok)
    return ok;
  // Connections from other hosts are forwarded to the bridge.
  return enable_ipv4_forwarding();
}

Status unpublish_ports(std::string_view bridge, std::string_view vm_id) {
  if (auto ok = validate_vm_id(vm_id); !ok)
    return ok;
  std::lock_guard lock(table_lock);
  auto state = read_table(bridge);
  if (!state)
    return std::move(state).error();
  auto removal = removal_of(bridge, *state, vm_id);
  if (removal.empty())
    return {};
  return run_nft_checked(removal, table_of(bridge));
}

Result<std::vector<std::string>> published_vms(std::string_view bridge) {
  std::lock_guard lock(table_lock);
  auto state = read_table(bridge);
  if (!state)
    return std::move(state).error();
  std::set<std::string> ids;
  for (const auto& rule : state->published)
    ids.insert(rule.vm_id);
  return std::vector<std::string>(ids.begin(), ids.end());
}

Status remove_ports_table(std::string_view bridge) {
  std::lock_guard lock(table_lock);
  auto state = read_table(bridge);
  if (!state)
    return std::move(state).error();
  if (!state->present)
    return not_found("nftables table " + table_of(bridge) + " does not exist");
  return run_nft_checked("delete table " + table_of(bridge) + "\n", table_of(bridge));
}

} // namespace banger::host
