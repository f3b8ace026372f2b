// The ssh and scp options `vm ssh` and `vm cp` pass through, and the
// `VM:PATH` operands of `vm cp`. CAF-free and side-effect free, like the
// parser that calls it (tools/cli/args.cpp).
//
// banger connects with its own key and a known_hosts file that pins each
// guest's host key (docs/cli.md). Those settings come first on ssh's
// command line, and ssh keeps the first value it sees of each setting, so
// nothing later could change them anyway; options that would try (-i, -F,
// -J, -p, -l, -o StrictHostKeyChecking=...) are refused with a usage error
// instead of being silently ignored. Everything else is an allowlist: an
// option banger does not know is refused, not guessed at.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace banger::cli {

/// Which program the options are for: `vm ssh` runs ssh, `vm cp` runs scp.
enum class ToolOptions { none, ssh, scp };

struct ToolOptionTake {
  std::size_t consumed = 0; ///< words of argv used; 0: not one of the tool's options
  std::string error;        ///< a refused option: why, for the usage error
};

/// Looks at argv[i] (starts with '-', is not one of banger's own options)
/// and, when it is an option `tool` accepts, appends it to `out` as
/// separate words ("-L", "8080:localhost:80"), splitting grouped flags
/// ("-tt", "-NL8080:x:80"). Values may be attached or the next word.
ToolOptionTake take_tool_option(ToolOptions tool, const std::vector<std::string>& argv,
                                std::size_t i, std::vector<std::string>& out);

/// The help paragraph that lists what `tool` passes through.
std::string tool_options_help(ToolOptions tool);

/// Where banger's client key and known_hosts are (<home>/state/ssh/...).
struct SshPins {
  std::string key;
  std::string known_hosts;
  /// The name the guest's host key is pinned under (HostKeyAlias); empty:
  /// its IP. A VM of another cluster host is pinned under its id: that
  /// host's `vm rm` removes only its own home's pins, and a later VM there
  /// may get the same IP with another host key.
  std::string host_key_alias;
};

/// banger's own settings, first on the command line: ssh and scp keep the
/// first value of each setting, so nothing after them can loosen them.
std::vector<std::string> pinned_options(const SshPins& pins);

/// ssh PINS USER_OPTIONS -- root@IP COMMAND...: "--" before the
/// destination, so nothing after it is read as an option.
std::vector<std::string> ssh_command(const SshPins& pins, const std::vector<std::string>& user,
                                     const std::string& ip,
                                     const std::vector<std::string>& command);

/// scp PINS [-O] [-r] USER_OPTIONS -- FROM TO; `legacy` is scp's own
/// protocol (-O) instead of SFTP.
std::vector<std::string> scp_command(const SshPins& pins, bool legacy, bool recursive,
                                     const std::vector<std::string>& user,
                                     const std::string& from, const std::string& to);

/// One operand of `vm cp`: `VM:PATH` (scp's rule: a ':' before any '/';
/// an empty PATH is root's home) or a local path.
struct CopyEndpoint {
  std::string vm; ///< empty: local
  std::string path;
};
CopyEndpoint parse_copy_endpoint(const std::string& operand);

/// `vm cp SRC DST` needs exactly one side in a VM; "" when fine.
std::string check_copy_operands(const std::string& src, const std::string& dst);

} // namespace banger::cli
