#include "tools/cli/args.hpp"

#include "messages/disk_size.hpp"
#include "messages/settings.hpp"

#include <algorithm>
#include <sstream>

namespace banger::cli {

namespace {

const std::vector<std::string> no_values;

} // namespace

const std::vector<GlobalSpec>& global_options() {
  static const std::vector<GlobalSpec> specs{
    {"--home", "", "DIR", "installation directory (or $BANGER_HOME; default /var/lib/banger)"},
    {"--daemon", "", "HOST:PORT", "daemon address instead of the one in <home>/banger.conf"},
    {"--cert", "", "FILE", "client certificate (default <home>/tls/client.pem)"},
    {"--key", "", "FILE", "client key (default <home>/tls/client.key)"},
    {"--ca", "", "FILE", "CA certificate (default <home>/tls/ca.pem)"},
    {"--output", "-o", "FORMAT", "text (default) or json"},
    {"--timeout", "", "DURATION", "per-request timeout, e.g. 30s, 500ms, 2m (default 30s; "
                                  "120s for stop, restart, kill, rm)"},
  };
  return specs;
}

namespace {

const GlobalSpec* find_global(std::string_view name) {
  for (const auto& g : global_options())
    if (g.name == name || (!g.short_name.empty() && g.short_name == name))
      return &g;
  return nullptr;
}

const OptionSpec* find_option(const CommandSpec& spec, std::string_view name) {
  for (const auto& o : spec.options)
    if (o.name == name || (!o.short_name.empty() && o.short_name == name))
      return &o;
  return nullptr;
}

bool is_group(std::string_view prefix) {
  auto with_space = std::string(prefix) + " ";
  return std::any_of(command_table().begin(), command_table().end(),
                     [&](const CommandSpec& c) { return c.name.starts_with(with_space); });
}

std::string join(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words)
    out += (out.empty() ? "" : " ") + w;
  return out;
}

// Validates a global option's value and stores it; "" on success.
std::string apply_global(GlobalOptions& g, const GlobalSpec& spec, const std::string& value,
                         bool& home_given) {
  if (spec.name == "--home") {
    if (value.empty())
      return "--home needs a directory";
    g.home = value;
    home_given = true;
  } else if (spec.name == "--daemon") {
    if (!parse_host_port(value))
      return "--daemon expects HOST:PORT, got '" + value + "'";
    g.daemon = value;
  } else if (spec.name == "--cert") {
    g.cert = value;
  } else if (spec.name == "--key") {
    g.key = value;
  } else if (spec.name == "--ca") {
    g.ca = value;
  } else if (spec.name == "--output") {
    if (value == "json")
      g.output = OutputFormat::json;
    else if (value == "text")
      g.output = OutputFormat::text;
    else
      return "--output expects text or json, got '" + value + "'";
  } else if (spec.name == "--timeout") {
    auto d = parse_duration(value);
    if (!d || d->count() == 0)
      return "--timeout expects a duration like 30s, 500ms or 2m, got '" + value + "'";
    g.timeout = d;
  }
  return {};
}

std::string check_value(const OptionSpec& spec, const std::string& value) {
  switch (spec.kind) {
    case ValueKind::number:
      if (!parse_number(value, 0xffffffffu))
        return spec.name + " expects a number, got '" + value + "'";
      break;
    case ValueKind::duration:
      if (!parse_duration(value))
        return spec.name + " expects a duration, got '" + value + "'";
      break;
    case ValueKind::choice:
      if (std::find(spec.choices.begin(), spec.choices.end(), value) == spec.choices.end())
        return spec.name + " expects one of " + join(spec.choices) + ", got '" + value + "'";
      break;
    case ValueKind::disk_size:
      if (auto size = parse_disk_size(value); !size)
        return spec.name + ": " + size.error().message;
      break;
    case ValueKind::text:
      if (value.empty())
        return spec.name + " needs a non-empty " + spec.metavar;
      break;
    case ValueKind::none:
      break;
  }
  return {};
}

ParseOutcome usage_error(std::string message, const CommandSpec* spec,
                         const std::vector<std::string>& words) {
  ParseOutcome out;
  out.kind = ParseOutcome::Kind::usage_error;
  out.text = "error: " + message + "\n";
  if (spec) {
    out.text += usage_line(*spec) + "\n";
    out.text += "Run 'banger " + spec->name + " --help' for details.\n";
  } else if (!words.empty() && is_group(words.front())) {
    out.text += "usage: banger " + words.front() + " COMMAND [options]\n";
    out.text += "Run 'banger " + words.front() + " --help' for its commands.\n";
  } else {
    out.text += "usage: banger [global options] COMMAND [options]\n";
    out.text += "Run 'banger --help' for the list of commands.\n";
  }
  return out;
}

} // namespace

bool Invocation::has(std::string_view option) const {
  return options.find(std::string(option)) != options.end();
}

std::string Invocation::value(std::string_view option, std::string fallback) const {
  auto it = options.find(std::string(option));
  return it == options.end() || it->second.empty() ? fallback : it->second.back();
}

const std::vector<std::string>& Invocation::values(std::string_view option) const {
  auto it = options.find(std::string(option));
  return it == options.end() ? no_values : it->second;
}

ParseOutcome parse(const std::vector<std::string>& argv, const char* env_home) {
  Invocation inv;
  std::vector<std::string> words;
  bool help = false;
  bool home_given = false;
  bool rest_mode = false;

  for (std::size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (rest_mode) {
      inv.rest.push_back(a);
      continue;
    }
    if (a == "--") {
      if (!inv.command || !inv.command->passthrough)
        return usage_error("unexpected '--'", inv.command, words);
      rest_mode = true;
      continue;
    }
    if (a.size() > 1 && a[0] == '-') {
      std::string name = a;
      std::optional<std::string> inline_value;
      if (auto eq = a.find('='); a.starts_with("--") && eq != std::string::npos) {
        name = a.substr(0, eq);
        inline_value = a.substr(eq + 1);
      }
      if (name == "--help" || name == "-h") {
        help = true;
        continue;
      }
      // ssh's -o shares its letter with banger's -o FORMAT: text and json
      // are banger's, any other value is ssh's.
      auto tool = inv.command ? inv.command->tool_options : ToolOptions::none;
      bool banger_output = name == "-o" && i + 1 < argv.size()
                           && (argv[i + 1] == "text" || argv[i + 1] == "json");
      if (tool != ToolOptions::none && !banger_output && !find_option(*inv.command, name)) {
        auto taken = take_tool_option(tool, argv, i, inv.tool_args);
        if (!taken.error.empty())
          return usage_error(taken.error, inv.command, words);
        if (taken.consumed > 0) {
          i += taken.consumed - 1;
          continue;
        }
      }
      auto next_value = [&](const std::string& opt) -> std::optional<std::string> {
        if (inline_value)
          return inline_value;
        if (i + 1 >= argv.size())
          return std::nullopt;
        (void)opt;
        return argv[++i];
      };
      if (auto* g = find_global(name)) {
        auto v = next_value(name);
        if (!v)
          return usage_error(g->name + " needs a value (" + g->metavar + ")", inv.command, words);
        if (auto err = apply_global(inv.global, *g, *v, home_given); !err.empty())
          return usage_error(err, inv.command, words);
        continue;
      }
      if (!inv.command) {
        if (help)
          continue;
        return usage_error(words.empty() ? "unknown option '" + name + "'"
                                         : "unknown command '" + join(words) + "'",
                           nullptr, words);
      }
      auto* opt = find_option(*inv.command, name);
      if (!opt)
        return usage_error("unknown option '" + name + "' for 'banger " + inv.command->name + "'",
                           inv.command, words);
      std::string value;
      if (opt->kind == ValueKind::none) {
        if (inline_value)
          return usage_error(opt->name + " takes no value", inv.command, words);
      } else {
        auto v = next_value(name);
        if (!v)
          return usage_error(opt->name + " needs a value (" + opt->metavar + ")", inv.command,
                             words);
        value = *v;
        if (auto err = check_value(*opt, value); !err.empty())
          return usage_error(err, inv.command, words);
      }
      auto& slot = inv.options[opt->name];
      if (!slot.empty() && !opt->repeatable && opt->kind != ValueKind::none)
        return usage_error(opt->name + " given twice", inv.command, words);
      slot.push_back(value);
      continue;
    }
    if (inv.command) {
      inv.args.push_back(a);
      continue;
    }
    if (words.empty() && a == "help") {
      help = true;
      continue;
    }
    words.push_back(a);
    auto joined = join(words);
    if (auto* spec = find_command(joined)) {
      inv.command = spec;
    } else if (!is_group(joined)) {
      if (help)
        break; // `banger help nonsense`: show the main help
      return usage_error("unknown command '" + joined + "'", nullptr, words);
    }
  }

  if (!home_given)
    inv.global.home = env_home && *env_home ? env_home : default_home;

  if (help) {
    ParseOutcome out;
    out.kind = ParseOutcome::Kind::help;
    if (inv.command)
      out.text = command_help(*inv.command);
    else if (!words.empty() && is_group(join(words)))
      out.text = group_help(join(words));
    else
      out.text = main_help();
    return out;
  }
  if (!inv.command) {
    if (words.empty())
      return usage_error("missing command", nullptr, words);
    return usage_error("'" + join(words) + "' needs a subcommand", nullptr, words);
  }
  const auto& spec = *inv.command;
  auto n = static_cast<int>(inv.args.size());
  if (n < spec.min_args)
    return usage_error("missing " + spec.args, &spec, words);
  if (spec.max_args >= 0 && n > spec.max_args)
    return usage_error("unexpected argument '" + inv.args[spec.max_args] + "'", &spec, words);
  for (const auto& o : spec.options)
    if (o.required && !inv.has(o.name))
      return usage_error("missing " + o.name + " " + o.metavar, &spec, words);
  if (spec.name == "vm create" && inv.has("--wait") && !inv.has("--start"))
    return usage_error("--wait needs --start", &spec, words);
  if (inv.has("--wait") && inv.has("--no-wait"))
    return usage_error("--wait and --no-wait contradict each other", &spec, words);
  if (!inv.global.daemon.empty() || !inv.global.cert.empty() || !inv.global.key.empty()
      || !inv.global.ca.empty()) {
    int given = !inv.global.cert.empty() + !inv.global.key.empty() + !inv.global.ca.empty();
    if (given != 0 && given != 3)
      return usage_error("--cert, --key and --ca go together", &spec, words);
  }
  ParseOutcome out;
  out.invocation = std::move(inv);
  return out;
}

} // namespace banger::cli
