// Command-line parsing for `banger`: the table of commands, their options,
// help texts and handlers, and one parser that turns argv into an Invocation. CAF-free and
// side-effect free: everything is validated here, before any connection, so a
// usage error never reaches the daemon (exit 2).
#pragma once

#include "tools/cli/ssh_options.hpp"
#include "tools/cli/values.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace banger::cli {

/// Process exit codes; documented in docs/cli.md and `banger --help`.
enum ExitCode : int {
  exit_ok = 0,          ///< the command did what was asked
  exit_failed = 1,      ///< the daemon (or the local work) reported an error
  exit_usage = 2,       ///< bad command line; nothing was contacted
  exit_unreachable = 3, ///< bangerd could not be reached
  exit_credentials = 4, ///< TLS files or local configuration unusable
};

enum class OutputFormat { text, json };

/// Options accepted before or after any command word.
struct GlobalOptions {
  std::string home;           ///< --home, else $BANGER_HOME, else default_home
  std::string daemon;         ///< --daemon HOST:PORT ("" = from banger.conf)
  std::string cert, key, ca;  ///< explicit TLS files (with --daemon)
  OutputFormat output = OutputFormat::text;
  std::optional<std::chrono::milliseconds> timeout; ///< --timeout
};

/// A global option; every one takes a value (-h/--help aside).
struct GlobalSpec {
  std::string name;       ///< "--home"
  std::string short_name; ///< "-o" or ""
  std::string metavar;    ///< "DIR", "FILE"
  std::string help;
};

/// The global options the parser accepts (tools/cli/args.cpp).
const std::vector<GlobalSpec>& global_options();

/// What kind of value an option takes; checked by the parser.
enum class ValueKind { none, text, number, duration, choice, disk_size };

struct OptionSpec {
  std::string name;       ///< "--cpus"
  std::string short_name; ///< "-f" or ""
  ValueKind kind = ValueKind::none;
  std::string metavar;    ///< "N", "PATH"
  std::string help;
  bool required = false;
  bool repeatable = false;
  std::vector<std::string> choices; ///< for ValueKind::choice
};

struct Context; // tools/cli/commands.hpp

/// Runs one command and returns the process exit code.
using Handler = int (*)(Context&);

struct CommandSpec {
  std::string name;      ///< "vm create"
  std::string args;      ///< positional synopsis: "REF..."
  std::string summary;
  std::vector<OptionSpec> options;
  int min_args = 0;
  int max_args = 0;      ///< -1: unbounded
  bool passthrough = false; ///< accepts `-- CMD...`
  /// Options of this program that are not banger's go to Invocation::tool_args.
  ToolOptions tool_options = ToolOptions::none;
  bool needs_daemon = true;
  std::string example;
  std::string details;   ///< extra paragraph for --help
  Handler run = nullptr; ///< what the command does (tools/cli/commands.hpp)
};

/// Every command banger knows, in help order, with its handler: the one
/// list main() dispatches from (tools/cli/commands_table.cpp).
const std::vector<CommandSpec>& command_table();
const CommandSpec* find_command(std::string_view name);

struct Invocation {
  GlobalOptions global;
  const CommandSpec* command = nullptr;
  std::map<std::string, std::vector<std::string>> options; ///< by long name
  std::vector<std::string> args;
  std::vector<std::string> rest; ///< after `--`
  std::vector<std::string> tool_args; ///< ssh/scp options, in order (CommandSpec::tool_options)

  bool has(std::string_view option) const;
  /// Last value of `option`, or `fallback`.
  std::string value(std::string_view option, std::string fallback = {}) const;
  const std::vector<std::string>& values(std::string_view option) const;
};

struct ParseOutcome {
  enum class Kind { run, help, usage_error };
  Kind kind = Kind::run;
  Invocation invocation;
  std::string text; ///< help text (stdout) or error + short usage (stderr)
};

/// Parses argv without argv[0]. `env_home` is $BANGER_HOME (may be null).
ParseOutcome parse(const std::vector<std::string>& argv, const char* env_home);

/// Full help of one command; of a group ("vm"); of banger.
std::string command_help(const CommandSpec& spec);
std::string group_help(std::string_view group);
std::string main_help();
/// One line "usage: banger vm show REF [options]".
std::string usage_line(const CommandSpec& spec);

} // namespace banger::cli
