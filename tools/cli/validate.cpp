// The command-specific checks that need no daemon: names, op ids, and what a
// VM may ask for (vCPUs, memory, signals, published ports) with the very checks the daemon and
// the helper run (messages/vm_limits.hpp), so a value they would refuse is
// refused here, before anything is contacted (exit 2).
#include "tools/cli/commands.hpp"

#include "messages/cluster_hosts.hpp"
#include "messages/op_id.hpp"
#include "messages/published_ports.hpp"
#include "messages/vm_limits.hpp"

#include <algorithm>

namespace banger::cli {

namespace {

/// [a-z0-9][a-z0-9-]{0,62}, as the daemon checks names.
bool valid_name(const std::string& name) {
  if (name.empty() || name.size() > 63)
    return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (i > 0 && c == '-');
    if (!ok)
      return false;
  }
  return true;
}

/// "" when `list` is 1 to 100 comma-separated Debian package names
/// ([a-z0-9][a-z0-9+.-]+, at most 100 characters each), else why not. The
/// builder checks the same: the names end up in apt-get's argv in a chroot.
std::string check_package_list(const std::string& list) {
  constexpr std::size_t max_packages = 100, max_name = 100;
  std::size_t count = 0;
  for (std::size_t pos = 0; pos <= list.size();) {
    auto end = std::min(list.find(',', pos), list.size());
    auto word = list.substr(pos, end - pos);
    pos = end + 1;
    if (++count > max_packages)
      return "more than 100 packages";
    bool ok = word.size() >= 2 && word.size() <= max_name;
    for (std::size_t i = 0; ok && i < word.size(); ++i) {
      char c = word[i];
      ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
           || (i > 0 && (c == '+' || c == '.' || c == '-'));
    }
    if (!ok)
      return "'" + word + "' is not a Debian package name ([a-z0-9][a-z0-9+.-]+)";
  }
  return {};
}

/// "" when `status` is fine, else "--option VALUE: <the shared message>".
std::string problem(const Invocation& inv, std::string_view option, const Status& status) {
  if (status)
    return {};
  return std::string(option) + " " + inv.value(option) + ": " + status.error().message;
}

/// The option's value as a number; the parser already checked the syntax.
std::uint64_t number(const Invocation& inv, std::string_view option) {
  return parse_number(inv.value(option), 0xffffffffu).value_or(0);
}

} // namespace

std::string validate(const Invocation& inv) {
  const auto& name = inv.command->name;
  if (name == "op show" && !is_valid_op_id(inv.args[0]))
    return "'" + inv.args[0] + "' is not an op id (op- followed by 12 hex digits)";
  if ((name == "image add" || name == "image build") && !valid_name(inv.args[0]))
    return "invalid image name '" + inv.args[0] + "': use [a-z0-9][a-z0-9-]{0,62}";
  if (name == "image build" && inv.has("--size") && number(inv, "--size") < 32)
    return "--size must be at least 32 (MiB)";
  if (name == "vm exec" && inv.rest.empty())
    return "vm exec needs a command: banger vm exec REF -- CMD [ARG...]";
  if (name == "vm exec")
    for (const auto& e : inv.values("--env"))
      if (auto eq = e.find('='); eq == std::string::npos || eq == 0)
        return "--env " + e + ": use NAME=VALUE";
  if (name == "image build" && inv.has("--packages")) {
    if (inv.value("--distro") != "debian")
      return "--packages needs --distro debian (the minimal image has no package manager)";
    if (auto p = check_package_list(inv.value("--packages")); !p.empty())
      return "--packages: " + p;
  }
  if (name == "vm create" && inv.has("--name") && !valid_name(inv.value("--name")))
    return "invalid VM name '" + inv.value("--name") + "': use [a-z0-9][a-z0-9-]{0,62}";
  if (name == "vm create" && inv.has("--host") && !is_valid_host_id(inv.value("--host")))
    return "invalid host id '" + inv.value("--host") +
           "': use 1-32 of [a-z0-9-] starting with a letter or digit";
  if (name == "vm create" && inv.has("--publish")) {
    std::vector<PortMapping> ports;
    for (const auto& text : inv.values("--publish")) {
      auto parsed = parse_port_mapping(text);
      if (!parsed)
        return "--publish: " + parsed.error().message;
      ports.push_back(std::move(*parsed));
    }
    if (auto ok = check_port_mappings(ports); !ok)
      return "--publish: " + ok.error().message;
  }
  if (inv.has("--cpus"))
    if (auto p = problem(inv, "--cpus", check_cpus(number(inv, "--cpus"))); !p.empty())
      return p;
  if (inv.has("--memory"))
    if (auto p = problem(inv, "--memory", check_memory_mib(number(inv, "--memory"))); !p.empty())
      return p;
  if (inv.has("--signal"))
    if (auto p = problem(inv, "--signal", check_signal(inv.value("--signal"))); !p.empty())
      return p;
  if (name == "vm cp")
    return check_copy_operands(inv.args[0], inv.args[1]);
  if (name == "vm clone") {
    const auto& source = inv.args[0];
    auto at = source.find('@');
    if (at == 0)
      return "'" + source + "' names no VM: use VM or VM@SNAPSHOT";
    if (at != std::string::npos && !valid_name(source.substr(at + 1)))
      return "invalid snapshot name '" + source.substr(at + 1) + "' in '" + source
             + "': use [a-z0-9][a-z0-9-]{0,62}";
    if (inv.args.size() > 1 && !valid_name(inv.args[1]))
      return "invalid VM name '" + inv.args[1] + "': use [a-z0-9][a-z0-9-]{0,62}";
  }
  return {};
}

} // namespace banger::cli
