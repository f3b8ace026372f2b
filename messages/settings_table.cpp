#include "messages/settings_table.hpp"

#include "messages/cluster_hosts.hpp"
#include "messages/numbers.hpp"

#include "messages/guest_dns.hpp"
#include "messages/host_network.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>
#include <sstream>

namespace banger {

namespace {

using std::chrono::milliseconds;

// The reason a value is refused, quoting it; apply_setting puts the key's
// name in front.
Error bad(std::string_view value, std::string_view why) {
  return Error{Errc::invalid_argument, "'" + std::string(value) + "' " + std::string(why)};
}

template <std::size_t N>
Status one_of(std::string_view value, const std::array<std::string_view, N>& allowed,
              std::string& out) {
  for (auto candidate : allowed)
    if (value == candidate) {
      out = std::string(value);
      return {};
    }
  std::string list;
  for (auto candidate : allowed)
    list += (list.empty() ? "" : ", ") + std::string(candidate);
  return bad(value, "is not one of " + list);
}

Status port(std::string_view value, std::uint16_t& out) {
  auto n = parse_uint(value, 65535);
  if (!n || *n == 0)
    return bad(value, "is not a port number (1-65535)");
  out = static_cast<std::uint16_t>(*n);
  return {};
}

Status path(std::string_view value, bool may_be_empty, std::string& out) {
  if (value.empty() && may_be_empty) {
    out.clear();
    return {};
  }
  if (value.empty() || value.front() != '/')
    return bad(value, "is not an absolute path");
  out = std::string(value);
  return {};
}

Status duration(std::string_view value, milliseconds& out) {
  auto parsed = parse_setting_duration(value);
  if (!parsed)
    return std::move(parsed).error();
  out = *parsed;
  return {};
}

Status ip_address(std::string_view value, std::string& out) {
  unsigned char buf[sizeof(in6_addr)];
  std::string text(value);
  if (inet_pton(AF_INET, text.c_str(), buf) != 1 && inet_pton(AF_INET6, text.c_str(), buf) != 1)
    return bad(value, "is not an IPv4 or IPv6 address");
  out = text;
  return {};
}

Status user(std::string_view value, std::string& out) {
  bool ok = value.size() <= 32;
  for (char c : value)
    ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_');
  if (!ok)
    return bad(value, "is not a user name or uid");
  out = std::string(value);
  return {};
}

// The shared rule sets keep their own messages (they quote the value);
// here they only become invalid_argument, whatever the helper would call a
// refusal: to a configuration, both are a bad value.
template <class T>
Status shared_rule(const Result<T>& checked) {
  if (!checked)
    return Error{Errc::invalid_argument, checked.error().message};
  return {};
}

std::string ms_text(milliseconds ms) {
  return std::to_string(ms.count()) + "ms";
}

std::string bool_text(bool b) {
  return b ? "true" : "false";
}

using S = Settings;
using V = std::string_view;
using SX = SettingSyntax;

const SettingKey table[] = {
  {"daemon", "listen", SX::string, "IPv4 or IPv6 address", {},
   "address the control actor listens on",
   [](S& s, V v) { return ip_address(v, s.daemon_listen); },
   [](const S& s) { return s.daemon_listen; }},
  {"daemon", "port", SX::integer, "port number 1-65535", {}, "port of the control actor",
   [](S& s, V v) { return port(v, s.daemon_port); },
   [](const S& s) { return std::to_string(s.daemon_port); }},
  {"daemon", "log-level", SX::string, "", choices::log_level, "least severe level logged",
   [](S& s, V v) { return one_of(v, choices::log_level, s.daemon_log_level); },
   [](const S& s) { return s.daemon_log_level; }},
  {"daemon", "vm-queue", SX::integer, "count 1-1000000", {},
   "pending lifecycle requests per VM (past it: busy)",
   [](S& s, V v) -> Status {
     auto n = parse_uint(v, 1'000'000);
     if (!n || *n == 0)
       return bad(v, "is not a count (1-1000000)");
     s.daemon_vm_queue = static_cast<std::uint32_t>(*n);
     return {};
   },
   [](const S& s) { return std::to_string(s.daemon_vm_queue); }},
  {"daemon", "event-buffer", SX::integer, "count 16-1000000", {},
   "events kept for readers of banger events and /v1/events (older ones are reported missed)",
   [](S& s, V v) -> Status {
     auto n = parse_uint(v, 1'000'000);
     if (!n || *n < 16)
       return bad(v, "is not a count (16-1000000)");
     s.daemon_event_buffer = static_cast<std::uint32_t>(*n);
     return {};
   },
   [](const S& s) { return std::to_string(s.daemon_event_buffer); }},
  {"api", "port", SX::integer, "port number 0-65535", {},
   "port of the HTTP/JSON API, mutual TLS (docs/api.md); 0: no HTTP API",
   [](S& s, V v) -> Status {
     auto n = parse_uint(v, 65535);
     if (!n)
       return bad(v, "is not a port number (0-65535)");
     s.api_port = static_cast<std::uint16_t>(*n);
     return {};
   },
   [](const S& s) { return std::to_string(s.api_port); }},
  {"api", "listen", SX::string, "IPv4 or IPv6 address", {},
   "address the HTTP API listens on",
   [](S& s, V v) { return ip_address(v, s.api_listen); },
   [](const S& s) { return s.api_listen; }},
  {"api", "max-connections", SX::integer, "count 1-4096", {},
   "HTTP connections open at once (more are closed at accept)",
   [](S& s, V v) -> Status {
     auto n = parse_uint(v, 4096);
     if (!n || *n == 0)
       return bad(v, "is not a count (1-4096)");
     s.api_max_connections = static_cast<std::uint32_t>(*n);
     return {};
   },
   [](const S& s) { return std::to_string(s.api_max_connections); }},
  {"api", "max-body", SX::integer, "bytes 1024-16777216", {},
   "largest HTTP request body (larger: 413)",
   [](S& s, V v) -> Status {
     auto n = parse_uint(v, 16'777'216);
     if (!n || *n < 1024)
       return bad(v, "is not a size in bytes (1024-16777216)");
     s.api_max_body = static_cast<std::uint32_t>(*n);
     return {};
   },
   [](const S& s) { return std::to_string(s.api_max_body); }},
  {"api", "timeout", SX::duration, "duration 100ms-10m", {},
   "an HTTP client silent (or not reading) this long is dropped",
   [](S& s, V v) -> Status {
     if (auto st = duration(v, s.api_timeout); !st)
       return st;
     if (s.api_timeout < milliseconds(100) || s.api_timeout > milliseconds(600000))
       return bad(v, "is not between 100ms and 10m");
     return {};
   },
   [](const S& s) { return ms_text(s.api_timeout); }},
  {"helper", "port", SX::integer, "port number 1-65535", {},
   "loopback port of banger-helper",
   [](S& s, V v) { return port(v, s.helper_port); },
   [](const S& s) { return std::to_string(s.helper_port); }},
  {"vmm", "kind", SX::string, "", choices::vmm_kind, "the VMM every VM runs under",
   [](S& s, V v) { return one_of(v, choices::vmm_kind, s.vmm_kind); },
   [](const S& s) { return s.vmm_kind; }},
  {"vmm", "firecracker-bin", SX::string, "absolute path", {}, "firecracker binary",
   [](S& s, V v) { return path(v, false, s.vmm_firecracker_bin); },
   [](const S& s) { return s.vmm_firecracker_bin; }},
  {"vmm", "jailer-bin", SX::string, "absolute path or empty", {},
   "jailer binary (empty: firecracker runs without the jailer)",
   [](S& s, V v) { return path(v, true, s.vmm_jailer_bin); },
   [](const S& s) { return s.vmm_jailer_bin; }},
  {"vmm", "qemu-bin", SX::string, "absolute path", {}, "qemu-system-x86_64 binary",
   [](S& s, V v) { return path(v, false, s.vmm_qemu_bin); },
   [](const S& s) { return s.vmm_qemu_bin; }},
  {"vmm", "accel", SX::string, "", choices::vmm_accel, "qemu acceleration",
   [](S& s, V v) { return one_of(v, choices::vmm_accel, s.vmm_accel); },
   [](const S& s) { return s.vmm_accel; }},
  {"vmm", "user", SX::string, "user name, uid or empty", {},
   "user VMMs run as (empty: the helper's)",
   [](S& s, V v) { return user(v, s.vmm_user); }, [](const S& s) { return s.vmm_user; }},
  {"vmm", "stop-grace", SX::duration, "duration 0ms-24h (ms, s, min, h)", {},
   "graceful stop timeout",
   [](S& s, V v) { return duration(v, s.vmm_stop_grace); },
   [](const S& s) { return ms_text(s.vmm_stop_grace); }},
  {"vmm", "kill-grace", SX::duration, "duration 0ms-24h (ms, s, min, h)", {},
   "wait for exit after a signal",
   [](S& s, V v) { return duration(v, s.vmm_kill_grace); },
   [](const S& s) { return ms_text(s.vmm_kill_grace); }},
  {"vmm", "boot-timeout", SX::duration, "duration 0ms-24h (ms, s, min, h)", {},
   "wait for a guest's SSH port (start --wait)",
   [](S& s, V v) { return duration(v, s.vmm_boot_timeout); },
   [](const S& s) { return ms_text(s.vmm_boot_timeout); }},
  {"vmm", "cpu-overcommit", SX::boolean, "true or false", {},
   "allow a VM more vCPUs than the host has CPUs",
   [](S& s, V v) -> Status {
     if (v != "true" && v != "false")
       return bad(v, "is not true or false");
     s.vmm_cpu_overcommit = v == "true";
     return {};
   },
   [](const S& s) { return bool_text(s.vmm_cpu_overcommit); }},
  {"network", "bridge", SX::string, "1-15 of [a-z0-9-], starting with a letter or digit", {},
   "bridge the VM taps attach to",
   [](S& s, V v) -> Status {
     if (auto st = shared_rule(validate_bridge_name(v)); !st)
       return st;
     s.network_bridge = std::string(v);
     return {};
   },
   [](const S& s) { return s.network_bridge; }},
  {"network", "subnet", SX::string, "IPv4 network a.b.c.d/8 to /30, not reserved", {},
   "guest subnet; the gateway (on the bridge) is its first host",
   [](S& s, V v) -> Status {
     if (auto st = shared_rule(parse_ipv4_subnet(v)); !st)
       return st;
     s.network_subnet = std::string(v);
     return {};
   },
   [](const S& s) { return s.network_subnet; }},
  {"network", "nat", SX::boolean, "true or false", {},
   "masquerade traffic from the subnet leaving the host (the guests' way out)",
   [](S& s, V v) -> Status {
     if (v != "true" && v != "false")
       return bad(v, "is not true or false");
     s.network_nat = v == "true";
     return {};
   },
   [](const S& s) { return bool_text(s.network_nat); }},
  {"network", "dns", SX::string, "auto, none, or one or two IPv4 addresses (a,b)", {},
   "guests' DNS servers; auto: the host's non-loopback resolvers (docs/images.md)",
   [](S& s, V v) -> Status {
     if (auto st = validate_dns_setting(v); !st)
       return st;
     s.network_dns = std::string(v);
     return {};
   },
   [](const S& s) { return s.network_dns; }},
  {"rootfs", "strategy", SX::string, "", choices::rootfs_strategy,
   "how a VM's writable rootfs is made from its image",
   [](S& s, V v) { return one_of(v, choices::rootfs_strategy, s.rootfs_strategy); },
   [](const S& s) { return s.rootfs_strategy; }},
  {"cluster", "host-id", SX::string, "empty, or 1-32 of [a-z0-9-] starting with a letter or digit", {},
   "this host's id in cluster.hosts; empty: not in a cluster",
   [](S& s, V v) -> Status {
     if (!v.empty() && !is_valid_host_id(v))
       return bad(v, "is not 1-32 of [a-z0-9-] starting with a letter or digit");
     s.cluster_host_id = std::string(v);
     return {};
   },
   [](const S& s) { return s.cluster_host_id; }},
  {"cluster", "hosts", SX::string, "empty, or ID=IPV4:PORT,... (two or more hosts)", {},
   "every member of the cluster and the address its host link listens on (docs/cluster.md)",
   [](S& s, V v) -> Status {
     if (auto st = shared_rule(parse_cluster_hosts(v)); !st)
       return st;
     s.cluster_hosts = std::string(v);
     return {};
   },
   [](const S& s) { return s.cluster_hosts; }},
  {"cluster", "link-timeout", SX::duration, "duration 1s-60s (ms, s, min, h)", {},
   "a host link silent this long (heartbeats every 1s) is down",
   [](S& s, V v) -> Status {
     milliseconds ms{};
     if (auto st = duration(v, ms); !st)
       return st;
     if (ms < std::chrono::seconds(1) || ms > std::chrono::seconds(60))
       return bad(v, "is not between 1s and 60s");
     s.cluster_link_timeout = ms;
     return {};
   },
   [](const S& s) { return ms_text(s.cluster_link_timeout); }},
};

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\')
      out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

} // namespace

std::string SettingKey::accepted() const {
  if (choices.empty())
    return accepts;
  std::string out;
  for (auto c : choices)
    out += (out.empty() ? "" : ", ") + std::string(c);
  return "one of " + out;
}

std::span<const SettingKey> settings_table() {
  return table;
}

const SettingKey* find_setting(std::string_view name) {
  for (const auto& entry : table)
    if (name == entry.name())
      return &entry;
  return nullptr;
}

Status apply_setting(Settings& settings, std::string_view name, std::string_view value) {
  for (char c : value)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      return Error{Errc::invalid_argument,
                   std::string(name) + ": control characters are not allowed in values"};
  const auto* entry = find_setting(name);
  if (!entry) {
    std::string known;
    for (const auto& e : table)
      known += (known.empty() ? "" : ", ") + e.name();
    return Error{Errc::invalid_argument,
                 "unknown setting '" + std::string(name) + "' (known: " + known + ")"};
  }
  if (auto st = entry->apply(settings, value); !st)
    return Error{Errc::invalid_argument, std::string(name) + ": " + st.error().message};
  return {};
}

std::vector<std::string> setting_keys() {
  std::vector<std::string> out;
  for (const auto& entry : table)
    out.push_back(entry.name());
  return out;
}

Status check_settings(const Settings& s) {
  if (s.daemon_port == s.helper_port)
    return Error{Errc::invalid_argument,
                 "daemon.port and helper.port are both " + std::to_string(s.daemon_port)};
  if (s.cluster_host_id.empty() != s.cluster_hosts.empty())
    return Error{Errc::invalid_argument, s.cluster_host_id.empty()
                                           ? "cluster.hosts is set but cluster.host-id is not"
                                           : "cluster.host-id is set but cluster.hosts is not"};
  if (!s.cluster_hosts.empty()) {
    auto hosts = parse_cluster_hosts(s.cluster_hosts);
    if (!hosts)
      return Error{Errc::invalid_argument, "cluster.hosts: " + hosts.error().message};
    auto self = std::find_if(hosts->begin(), hosts->end(),
                             [&](const ClusterHost& h) { return h.id == s.cluster_host_id; });
    if (self == hosts->end())
      return Error{Errc::invalid_argument,
                   "cluster.host-id " + s.cluster_host_id + " is not one of cluster.hosts"};
    for (const auto& h : *hosts)
      if (h.address == s.daemon_listen && (h.port == s.daemon_port || h.port == s.helper_port))
        return Error{Errc::invalid_argument, "host " + h.id + "'s link port " + std::to_string(h.port)
                                               + " is daemon.port or helper.port"};
  }
  return {};
}

Result<milliseconds> parse_setting_duration(std::string_view value) {
  auto digits = value.find_first_not_of("0123456789");
  if (digits == 0 || digits == std::string_view::npos)
    return bad(value, "is not a duration such as 500ms, 30s, 2min or 1h");
  auto unit = value.substr(digits);
  std::uint64_t scale = 0;
  if (unit == "ms")
    scale = 1;
  else if (unit == "s")
    scale = 1000;
  else if (unit == "min")
    scale = 60'000;
  else if (unit == "h")
    scale = 3'600'000;
  constexpr std::uint64_t day_ms = 86'400'000;
  auto n = parse_uint(value.substr(0, digits), day_ms);
  if (scale == 0 || !n || *n * scale > day_ms)
    return bad(value, "is not a duration between 0ms and 24h (units: ms, s, min, h)");
  return milliseconds(static_cast<std::int64_t>(*n * scale));
}

std::string render_config(const Settings& s) {
  std::ostringstream out;
  out << "; banger configuration (CAF config format). Every key can also be\n"
         "; given on the command line as --KEY=VALUE.\n";
  std::string_view section;
  for (const auto& entry : table) {
    if (section != entry.section) {
      section = entry.section;
      out << "\n[" << section << "]\n";
    }
    auto value = entry.value(s);
    out << entry.key << "="
        << (entry.syntax == SettingSyntax::string ? quoted(value) : value) << "\n";
  }
  return out.str();
}

std::string render_settings_doc() {
  Settings defaults;
  std::string out = "| key | default | accepts | meaning |\n|---|---|---|---|\n";
  auto cell = [](std::string text) {
    std::string escaped;
    for (char c : text)
      escaped += c == '|' ? std::string("\\|") : std::string(1, c);
    return escaped;
  };
  for (const auto& entry : table) {
    auto value = entry.value(defaults);
    out += "| `" + entry.name() + "` | " + (value.empty() ? "(empty)" : "`" + value + "`") +
           " | " + cell(entry.accepted()) + " | " + cell(entry.help) + " |\n";
  }
  return out;
}

} // namespace banger
