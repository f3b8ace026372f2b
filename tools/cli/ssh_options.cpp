#include "tools/cli/ssh_options.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <string_view>

namespace banger::cli {

namespace {

// Letters that take no value, and letters whose value is attached or the
// next word; per tool. Anything else is refused.
struct Letters {
  std::string_view flags;
  std::string_view valued;
};

Letters letters(ToolOptions tool) {
  switch (tool) {
    case ToolOptions::ssh:
      return {"46AaCgKkNnqTtvXxY", "bcDEeLmRWo"};
    case ToolOptions::scp:
      return {"46Cpqv", "clo"};
    case ToolOptions::none:
      break;
  }
  return {"", ""};
}

// Why an option that does exist is not passed through. The first group
// would change how the guest is authenticated or which key is used, which
// banger pins; the rest conflict with how banger runs the tool.
std::string refusal(ToolOptions tool, char letter) {
  // Built by appending: GCC 12 misreads `rvalue + literal` chains here
  // (-Warray-bounds).
  std::string out{'-', letter};
  const char* pinned = " is not passed through: banger connects as root with its own key "
                       "and checks the guest's pinned host key";
  switch (letter) {
    case 'i': return out.append(pinned);
    case 'F': return out.append(pinned).append(" (a config file could change both)");
    case 'J': return out.append(pinned).append(" (a jump host would be checked elsewhere)");
    case 'l': return tool == ToolOptions::ssh ? out.append(pinned) : std::string();
    case 'p': return tool == ToolOptions::ssh ? out.append(pinned).append(" (port 22)")
                                              : std::string();
    case 'P': return out.append(pinned).append(" (port 22)");
    case 'S': return out.append(" is not passed through: banger runs ssh itself");
    case 'f':
      return out.append(" is not passed through: banger waits for ssh; run `banger vm ssh VM "
                        "-N -L ...` in the background instead");
    case 'M':
    case 'O':
      return out.append(" is not passed through: a shared control connection would skip the "
                        "pinned host key check");
    case 's':
      return out.append(" is not passed through: banger picks SFTP or the scp protocol itself");
    default: return {};
  }
}

// -o keys that change neither authentication nor host key checking, and do
// not reuse another connection. Lowercase, as ssh compares them.
constexpr std::array<std::string_view, 33> allowed_config_keys{
  "addressfamily", "batchmode", "bindaddress", "bindinterface", "ciphers",
  "clearallforwardings", "compression", "connectionattempts", "connecttimeout",
  "dynamicforward", "escapechar", "exitonforwardfailure", "forwardagent", "forwardx11",
  "forwardx11timeout", "forwardx11trusted", "gatewayports", "ipqos", "kexalgorithms",
  "localforward", "macs", "permitremoteopen", "remoteforward", "requesttty", "sendenv",
  "serveralivecountmax", "serveraliveinterval", "sessiontype", "setenv",
  "streamlocalbindmask", "streamlocalbindunlink", "tcpkeepalive", "stdinnull"};

// Keys whose refusal says what banger pins, rather than "not allowed".
constexpr std::array<std::string_view, 20> pinned_config_keys{
  "stricthostkeychecking", "userknownhostsfile", "globalknownhostsfile", "hostkeyalias",
  "knownhostscommand", "verifyhostkeydns", "updatehostkeys", "hashknownhosts",
  "checkhostip", "hostkeyalgorithms", "identityfile", "identitiesonly", "identityagent",
  "certificatefile", "user", "port", "hostname", "proxycommand", "proxyjump", "controlpath"};

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// ssh's -o syntax: "Key=Value", "Key Value" or "Key = Value"; "" when fine.
std::string check_config_option(const std::string& value) {
  auto end = value.find_first_of("= \t");
  auto key = lower(value.substr(0, end));
  if (key.empty() || end == std::string::npos)
    return "-o expects KEY=VALUE, got '" + value + "'";
  auto has = [&](const auto& list) {
    return std::find(list.begin(), list.end(), key) != list.end();
  };
  if (has(allowed_config_keys))
    return {};
  auto name = value.substr(0, end);
  if (has(pinned_config_keys))
    return "-o " + name + " is not passed through: banger connects as root with its own key "
           "and checks the guest's pinned host key";
  if (key == "loglevel")
    return "-o LogLevel is not passed through: use -v (more) or -q (less)";
  return "-o " + name + " is not passed through (see --help for the keys that are)";
}

} // namespace

ToolOptionTake take_tool_option(ToolOptions tool, const std::vector<std::string>& argv,
                                std::size_t i, std::vector<std::string>& out) {
  const std::string& word = argv[i];
  if (tool == ToolOptions::none || word.size() < 2 || word[0] != '-' || word[1] == '-')
    return {};
  auto [flags, valued] = letters(tool);
  std::vector<std::string> taken;
  std::size_t consumed = 1;
  for (std::size_t k = 1; k < word.size(); ++k) {
    char c = word[k];
    if (flags.find(c) != std::string_view::npos) {
      taken.push_back(std::string("-") + c);
      continue;
    }
    if (valued.find(c) != std::string_view::npos) {
      std::string value = word.substr(k + 1);
      if (value.empty()) {
        if (i + 1 >= argv.size())
          return {1, std::string("-") + c + " needs a value"};
        value = argv[i + 1];
        consumed = 2;
      }
      if (c == 'o')
        if (auto err = check_config_option(value); !err.empty())
          return {1, err};
      taken.push_back(std::string("-") + c);
      taken.push_back(value);
      break; // the value ends the word
    }
    if (auto why = refusal(tool, c); !why.empty())
      return {1, why};
    if (k == 1)
      return {}; // not an option of the tool at all: banger's parser says so
    return {1, std::string("-") + c + " (in " + word + ") is not passed through"};
  }
  out.insert(out.end(), taken.begin(), taken.end());
  return {consumed, {}};
}

std::string tool_options_help(ToolOptions tool) {
  std::string keys;
  for (auto k : allowed_config_keys)
    keys += (keys.empty() ? "" : " ") + std::string(k);
  auto [flags, valued] = letters(tool);
  std::string list;
  for (char c : flags)
    list += std::string(list.empty() ? "" : " ") + "-" + c;
  for (char c : valued)
    list += std::string(" -") + c + " X";
  std::string out(tool == ToolOptions::ssh ? "ssh" : "scp");
  out.append(" options passed through: ").append(list);
  out.append(". -o takes only these keys (case does not matter): ").append(keys);
  out.append(". `-o text` and `-o json` stay banger's --output. Options that would change the "
             "key, the user, the port or the host key check (-i -F -J -l -p, -o "
             "StrictHostKeyChecking=...) are refused: banger's own come first and ssh keeps "
             "the first value of each.");
  return out;
}

std::vector<std::string> pinned_options(const SshPins& pins) {
  std::vector<std::string> out{"-i", pins.key,
                               "-o", "IdentitiesOnly=yes", // not the user's agent keys: banger's key only
                               "-o", "UserKnownHostsFile=" + pins.known_hosts,
                               "-o", "StrictHostKeyChecking=accept-new",
                               "-o", "HashKnownHosts=no", // banger's own file: readable pins
                               "-o", "LogLevel=ERROR"};
  if (!pins.host_key_alias.empty())
    out.insert(out.end(), {"-o", "HostKeyAlias=" + pins.host_key_alias});
  return out;
}

std::vector<std::string> ssh_command(const SshPins& pins, const std::vector<std::string>& user,
                                     const std::string& ip,
                                     const std::vector<std::string>& command) {
  std::vector<std::string> argv{"ssh"};
  auto pinned = pinned_options(pins);
  argv.insert(argv.end(), pinned.begin(), pinned.end());
  argv.insert(argv.end(), user.begin(), user.end());
  argv.push_back("--");
  argv.push_back("root@" + ip);
  argv.insert(argv.end(), command.begin(), command.end());
  return argv;
}

std::vector<std::string> scp_command(const SshPins& pins, bool legacy, bool recursive,
                                     const std::vector<std::string>& user,
                                     const std::string& from, const std::string& to) {
  std::vector<std::string> argv{"scp"};
  auto pinned = pinned_options(pins);
  argv.insert(argv.end(), pinned.begin(), pinned.end());
  if (legacy)
    argv.push_back("-O");
  if (recursive)
    argv.push_back("-r");
  argv.insert(argv.end(), user.begin(), user.end());
  argv.insert(argv.end(), {"--", from, to});
  return argv;
}

CopyEndpoint parse_copy_endpoint(const std::string& operand) {
  auto colon = operand.find(':');
  auto slash = operand.find('/');
  if (colon == std::string::npos || colon == 0 || (slash != std::string::npos && slash < colon))
    return {"", operand};
  return {operand.substr(0, colon), operand.substr(colon + 1)};
}

std::string check_copy_operands(const std::string& src, const std::string& dst) {
  auto from = parse_copy_endpoint(src);
  auto to = parse_copy_endpoint(dst);
  if (from.vm.empty() && to.vm.empty())
    return "one of SRC and DST must be VM:PATH (e.g. web1:/root/file)";
  if (!from.vm.empty() && !to.vm.empty())
    return "only one of SRC and DST may be in a VM; copy through the host";
  if (from.vm.empty() ? from.path.empty() : to.path.empty())
    return "the local path must not be empty";
  return {};
}

} // namespace banger::cli
