// banger.conf as `banger init` writes it: --vmm, --port and --set applied
// through the settings table (messages/settings_table.hpp, which also
// renders the file), and init's own reader of an existing banger.conf, so a
// re-run with options merges them into the values already there.
#include "tools/cli/init_steps.hpp"

#include "messages/settings_table.hpp"

#include <optional>

namespace banger {

namespace {

using init::invalid;

std::string_view trim(std::string_view s) {
  auto first = s.find_first_not_of(" \t\r");
  if (first == std::string_view::npos)
    return {};
  auto last = s.find_last_not_of(" \t\r");
  return s.substr(first, last - first + 1);
}

// A quoted config value with \" and \\ escapes; nullopt if malformed.
std::optional<std::string> unquote(std::string_view text) {
  std::string out;
  std::size_t i = 1;
  for (; i < text.size() && text[i] != '"'; ++i) {
    if (text[i] == '\\') {
      if (++i == text.size())
        return std::nullopt;
    }
    out.push_back(text[i]);
  }
  if (i >= text.size())
    return std::nullopt;
  auto rest = trim(text.substr(i + 1));
  if (!rest.empty() && rest.front() != '#' && rest.front() != ';')
    return std::nullopt;
  return out;
}

} // namespace

Result<Settings> parse_config_text(std::string_view text, Settings base) {
  std::string section;
  std::size_t line_no = 0;
  while (!text.empty()) {
    auto nl = text.find('\n');
    auto line = trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    ++line_no;
    auto where = "line " + std::to_string(line_no) + ": ";
    if (line.empty() || line.front() == '#' || line.front() == ';')
      continue;
    if (line.front() == '[') {
      if (line.back() != ']')
        return invalid(where + "malformed section header");
      section = std::string(trim(line.substr(1, line.size() - 2)));
      continue;
    }
    auto eq = line.find('=');
    if (eq == std::string_view::npos)
      return invalid(where + "expected key=value");
    auto key = std::string(trim(line.substr(0, eq)));
    auto raw = trim(line.substr(eq + 1));
    std::string value;
    if (!raw.empty() && raw.front() == '"') {
      auto unquoted = unquote(raw);
      if (!unquoted)
        return invalid(where + "malformed quoted string");
      value = std::move(*unquoted);
    } else {
      value = std::string(raw);
    }
    auto full = section.empty() ? key : section + "." + key;
    if (auto st = apply_setting(base, full, value); !st)
      return invalid(where + st.error().message);
  }
  // The daemons refuse a file that breaks a rule across keys; so does init.
  if (auto st = check_settings(base); !st)
    return std::move(st).error();
  return base;
}

namespace init {

bool has_setting_options(const InitOptions& options) {
  return !options.vmm_kind.empty() || options.port != 0 || !options.sets.empty() ||
         !options.host_id.empty();
}

// Applies vmm_kind, port, then sets, in that order (a --set wins), then
// host_id as cluster.host-id.
Status apply_options(Settings& settings, const InitOptions& options) {
  if (!options.vmm_kind.empty())
    if (auto st = apply_setting(settings, "vmm.kind", options.vmm_kind); !st)
      return Error{Errc::invalid_argument, "--vmm: " + st.error().message};
  if (options.port != 0) {
    if (options.port == 65535)
      return invalid("--port 65535 leaves no port for the helper (port + 1)");
    settings.daemon_port = options.port;
    settings.helper_port = static_cast<std::uint16_t>(options.port + 1);
  }
  for (const auto& assignment : options.sets) {
    auto eq = assignment.find('=');
    if (eq == std::string::npos || eq == 0)
      return invalid("--set '" + assignment + "': expected KEY=VALUE");
    if (auto st = apply_setting(settings, std::string_view(assignment).substr(0, eq),
                                std::string_view(assignment).substr(eq + 1));
        !st)
      return Error{Errc::invalid_argument, "--set " + st.error().message};
  }
  if (!options.host_id.empty()) {
    for (const auto& assignment : options.sets)
      if (assignment.starts_with("cluster.host-id=") &&
          assignment != "cluster.host-id=" + options.host_id)
        return invalid("--host-id " + options.host_id + " and --set " + assignment +
                       " contradict each other (--host-id is enough)");
    settings.cluster_host_id = options.host_id; // checked by parse_init_args
    if (settings.cluster_hosts.empty())
      return invalid("--host-id " + options.host_id + ": cluster.hosts is not set; add --set "
                     "cluster.hosts=ID=IPV4:PORT,... naming every host, this one included");
  }
  return check_settings(settings);
}

Status init_config(Context& ctx, const InitOptions& options, const Settings& settings,
                   const std::optional<std::string>& existing) {
  auto path = ctx.layout.config_file();
  auto text = render_config(settings);
  if (existing && ((!ctx.force && !has_setting_options(options)) || *existing == text))
    return keep_file(ctx, path, 0644);
  if (auto st = write_atomic(path, 0644, no_group, text.data(), text.size()); !st)
    return st;
  if (!existing)
    ctx.record(path, InitAction::created, "mode 0644");
  else if (ctx.force)
    ctx.record(path, InitAction::replaced, "rewritten from defaults + options");
  else
    ctx.record(path, InitAction::updated, "options merged into the existing values");
  return {};
}

} // namespace init

} // namespace banger
