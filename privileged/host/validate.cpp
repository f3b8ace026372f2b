#include "privileged/host/validate.hpp"

#include "messages/home_layout.hpp"
#include "messages/vm_limits.hpp"
#include "privileged/host/errors.hpp"

#include <algorithm>
#include <cctype>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <unistd.h>

namespace banger::host {

namespace {

bool is_lower_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

bool is_name_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

long long read_pid_max() {
  // Kernel maximum on 64-bit hosts, used if /proc is unreadable.
  constexpr long long pid_max_limit = 4194304;
  std::ifstream in("/proc/sys/kernel/pid_max");
  long long value = 0;
  if (in >> value && value > 1 && value <= pid_max_limit)
    return value;
  return pid_max_limit;
}

} // namespace

Status validate_text(std::string_view field, std::string_view value,
                     std::size_t min_length, std::size_t max_length) {
  if (value.size() < min_length)
    return invalid_argument(std::string(field) + " is too short (" +
                            std::to_string(value.size()) + " < " +
                            std::to_string(min_length) + " characters)");
  if (value.size() > max_length)
    return invalid_argument(std::string(field) + " is too long (" +
                            std::to_string(value.size()) + " > " +
                            std::to_string(max_length) + " characters)");
  auto bad = std::find_if(value.begin(), value.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
  if (bad != value.end())
    return invalid_argument(std::string(field) + " " + printable(value) +
                            " contains a NUL or control character");
  return {};
}

Status validate_vm_id(std::string_view vm_id) {
  if (vm_id.size() != 16 ||
      !std::all_of(vm_id.begin(), vm_id.end(), is_lower_hex))
    return invalid_argument("vm id " + printable(vm_id) +
                            " is not 16 lowercase hex digits");
  return {};
}

Status validate_tap_name(std::string_view tap) {
  constexpr std::string_view prefix = "tap-fc-";
  if (tap.size() != prefix.size() + 8 ||
      tap.substr(0, prefix.size()) != prefix ||
      !std::all_of(tap.begin() + prefix.size(), tap.end(), is_lower_hex))
    return invalid_argument("tap name " + printable(tap) +
                            " is not tap-fc-<8 lowercase hex digits>");
  return {};
}

Status validate_tap_name_for(std::string_view tap, std::string_view vm_id) {
  if (auto st = validate_tap_name(tap); !st)
    return st;
  if (auto st = validate_vm_id(vm_id); !st)
    return st;
  if (tap != tap_name(vm_id))
    return refused("tap " + std::string(tap) + " does not belong to vm " +
                   std::string(vm_id) + " (expected " + tap_name(vm_id) + ")");
  return {};
}

Status validate_banger_name(std::string_view name) {
  if (name.empty() || name.size() > 63 || !is_name_start(name[0]) ||
      !std::all_of(name.begin(), name.end(), is_name_char))
    return invalid_argument("name " + printable(name) +
                            " does not match [a-z0-9][a-z0-9-]{0,62}");
  return {};
}

Result<int> parse_signal(std::string_view signal) {
  // One allow-list for the CLI, the daemon and the helper
  // (messages/vm_limits.hpp); only the helper refuses with helper_refused.
  auto parsed = parse_signal_text(signal);
  switch (parsed.problem) {
    case SignalProblem::none:
      return parsed.number;
    case SignalProblem::not_allowed:
      return refused(parsed.message);
    case SignalProblem::malformed:
      break;
  }
  return invalid_argument(parsed.message);
}

std::string_view allowed_signal_name(int signo) {
  for (const auto& allowed : allowed_signals)
    if (allowed.number == signo)
      return allowed.name;
  return {};
}

Result<pid_t> validate_pid(long long pid, std::optional<pid_t> caller_pid) {
  auto pid_max = read_pid_max();
  if (pid < 1 || pid > pid_max)
    return invalid_argument("pid " + std::to_string(pid) + " is outside [2, " +
                            std::to_string(pid_max) + "]");
  if (pid == 1)
    return refused("pid 1 is init, not a VMM");
  if (pid == ::getpid())
    return refused("pid " + std::to_string(pid) + " is banger-helper itself");
  if (caller_pid && pid == *caller_pid)
    return refused("pid " + std::to_string(pid) + " is the caller itself");
  return static_cast<pid_t>(pid);
}

std::string MacAddress::to_string() const {
  char buf[18];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", bytes[0],
                bytes[1], bytes[2], bytes[3], bytes[4], bytes[5]);
  return buf;
}

Result<MacAddress> parse_mac(std::string_view mac) {
  MacAddress out;
  bool well_formed = mac.size() == 17;
  for (std::size_t i = 0; well_formed && i < 6; ++i) {
    int high = hex_value(mac[i * 3]);
    int low = hex_value(mac[i * 3 + 1]);
    if (high < 0 || low < 0 || (i < 5 && mac[i * 3 + 2] != ':'))
      well_formed = false;
    else
      out.bytes[i] = static_cast<std::uint8_t>(high * 16 + low);
  }
  if (!well_formed)
    return invalid_argument("MAC address " + printable(mac) +
                            " is not xx:xx:xx:xx:xx:xx");
  if (out.bytes[0] & 0x01)
    return refused("MAC address " + out.to_string() + " is multicast");
  if (!(out.bytes[0] & 0x02))
    return refused("MAC address " + out.to_string() +
                   " is not locally administered");
  return out;
}

std::optional<std::uint32_t> parse_dotted_quad(std::string_view text) {
  // Four decimal octets without leading zeros: the text is its own
  // canonical form, so what is logged is what was acted on.
  std::uint32_t address = 0;
  int octets = 0;
  std::size_t i = 0;
  while (octets < 4) {
    std::size_t start = i;
    unsigned value = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9' && i - start < 3)
      value = value * 10 + static_cast<unsigned>(text[i++] - '0');
    bool digits = i > start && (i - start == 1 || text[start] != '0') && value <= 255;
    if (!digits)
      break;
    address = (address << 8) | value;
    ++octets;
    if (octets < 4) {
      if (i >= text.size() || text[i] != '.')
        break;
      ++i;
    }
  }
  if (octets != 4 || i != text.size())
    return std::nullopt;
  return address;
}

Result<PeerRoute> validate_peer_route(const Ipv4Subnet& own, std::string_view subnet,
                                      std::string_view gateway) {
  auto parsed = parse_ipv4_subnet(subnet);
  if (!parsed)
    return std::move(parsed).error();
  auto mask = std::min(parsed->netmask(), own.netmask());
  if ((parsed->network & mask) == (own.network & mask))
    return refused("peer subnet " + parsed->to_string() + " overlaps this host's guest subnet " +
                   own.to_string());
  auto quad = parse_dotted_quad(gateway);
  if (!quad)
    return invalid_argument("gateway " + printable(gateway) + " is not an IPv4 dotted quad");
  auto address = *quad;
  auto first = address >> 24;
  bool special = first == 0 || first == 127 || first >= 224 || (address >> 16) == 0xa9fe;
  if (special)
    return refused("gateway " + ipv4_to_string(address) +
                   " is not a unicast host address (0/8, loopback, link-local, multicast and "
                   "reserved ranges are refused)");
  if (parsed->contains(address) || own.contains(address))
    return refused("gateway " + ipv4_to_string(address) + " is inside a guest subnet (" +
                   (parsed->contains(address) ? parsed->to_string() : own.to_string()) +
                   "): it must be the peer's cluster address");
  return PeerRoute{*parsed, address};
}

} // namespace banger::host
