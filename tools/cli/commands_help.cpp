// Help texts, generated from the command table so they cannot drift from
// what the parser accepts.
#include "tools/cli/args.hpp"

#include <algorithm>
#include <sstream>

namespace banger::cli {

namespace {

constexpr const char* global_help =
  "Global options (anywhere on the command line):\n"
  "  --home DIR           installation directory (or $BANGER_HOME; default /var/lib/banger)\n"
  "  --daemon HOST:PORT   daemon address instead of the one in <home>/banger.conf\n"
  "  --cert FILE --key FILE --ca FILE\n"
  "                       client TLS files (default <home>/tls/client.pem, client.key, ca.pem)\n"
  "  -o, --output FORMAT  text (default) or json (schemas: docs/cli.md)\n"
  "  --timeout DURATION   per-request timeout: 30s, 500ms, 2m (default 30s;\n"
  "                       120s for vm stop, restart, kill and rm)\n"
  "  -h, --help           help for any command\n";

constexpr const char* see_main_help =
  "Global options (--home, --daemon, -o json, --timeout...) and exit codes: banger --help\n";

constexpr const char* exit_help =
  "Exit codes:\n"
  "  0  ok\n"
  "  1  the operation failed (the error names its op_id)\n"
  "  2  usage error (nothing was contacted)\n"
  "  3  bangerd unreachable\n"
  "  4  TLS credentials or local configuration unusable\n";

std::string option_synopsis(const OptionSpec& o) {
  std::string s = o.name;
  if (o.kind != ValueKind::none)
    s += " " + o.metavar;
  if (o.repeatable)
    s += "...";
  return o.required ? s : "[" + s + "]";
}

} // namespace

std::string usage_line(const CommandSpec& spec) {
  std::string out = "usage: banger " + spec.name;
  for (const auto& o : spec.options)
    if (o.required)
      out += " " + option_synopsis(o);
  if (!spec.args.empty())
    out += " " + spec.args;
  if (std::any_of(spec.options.begin(), spec.options.end(),
                  [](const OptionSpec& o) { return !o.required; }))
    out += " [options]";
  if (spec.tool_options != ToolOptions::none)
    out += spec.tool_options == ToolOptions::ssh ? " [SSH OPTIONS]" : " [SCP OPTIONS]";
  if (spec.passthrough)
    out += " [-- CMD...]";
  return out;
}

std::string command_help(const CommandSpec& spec) {
  std::ostringstream out;
  out << usage_line(spec) << "\n\n" << spec.summary << ".\n";
  if (!spec.details.empty())
    out << spec.details << "\n";
  if (!spec.options.empty()) {
    out << "\nOptions:\n";
    for (const auto& o : spec.options) {
      std::string left = "  ";
      if (!o.short_name.empty())
        left += o.short_name + ", ";
      left += o.name;
      if (o.kind != ValueKind::none)
        left += " " + o.metavar;
      if (left.size() < 24)
        left.resize(24, ' ');
      else
        left += "  ";
      out << left << o.help << (o.required ? " (required)" : "") << "\n";
    }
  }
  // The global options and exit codes are the same for every command:
  // shown once, under `banger --help`, not repeated here.
  out << "\nExample:\n  " << spec.example << "\n\n" << see_main_help;
  return out.str();
}

std::string group_help(std::string_view group) {
  std::ostringstream out;
  out << "usage: banger " << group << " COMMAND [options]\n\nCommands:\n";
  auto prefix = std::string(group) + " ";
  for (const auto& c : command_table()) {
    if (!c.name.starts_with(prefix))
      continue;
    std::string left = "  " + c.name.substr(prefix.size());
    if (!c.args.empty())
      left += " " + c.args;
    if (left.size() < 22)
      left.resize(22, ' ');
    else
      left += "  ";
    out << left << c.summary << "\n";
  }
  out << "\nRun 'banger " << group << " COMMAND --help' for a command's options.\n"
      << see_main_help;
  return out.str();
}

std::string main_help() {
  std::ostringstream out;
  out << "banger: drive microVMs through bangerd.\n\n"
         "usage: banger [global options] COMMAND [options]\n\nCommands:\n";
  for (const auto& c : command_table()) {
    std::string left = "  " + c.name;
    if (!c.args.empty())
      left += " " + c.args;
    if (left.size() < 24)
      left.resize(24, ' ');
    else
      left += "  ";
    out << left << c.summary << "\n";
  }
  out << "\nExample:\n  banger vm create --image debian --name web1 --start\n\n"
      << global_help << "\n" << exit_help
      << "\nRun 'banger COMMAND --help' for a command's options and an example.\n";
  return out.str();
}

} // namespace banger::cli
