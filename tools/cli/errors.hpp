// How banger shows an error. Whatever went wrong (a daemon reply, a lost
// connection, an operation that failed, a session that could not be opened)
// becomes one Failure, and one renderer prints it: `error: <message>
// (op-...)` on stderr, or with `-o json` the object of docs/cli.md on stdout.
#pragma once

#include "messages/errc.hpp"
#include "tools/cli/args.hpp"

#include <caf/fwd.hpp>
#include <nlohmann/json.hpp>
#include <string>

namespace banger::cli {

/// The CLI's own codes, for errors that are not the daemon's (docs/cli.md).
inline constexpr const char* code_daemon_unreachable =
    "daemon_unreachable";                                      // exit 3
inline constexpr const char* code_credentials = "credentials"; // exit 4

struct Failure {
  std::string code; ///< an Errc name, or one of the CLI's own codes above
  std::string message;
  std::string op_id; ///< "" when no operation ran
  int exit_code = exit_failed;
};

/// A daemon error code with its message (exit 1).
Failure failure(Errc code, std::string message, std::string op_id);

/// A reply's error, op_id `op_id` when the error names none. CAF's own
/// errors are worded for a person: a lost connection is daemon_unreachable
/// (exit 3), a request timeout says which option to raise.
Failure failure_of(const caf::error& error, const std::string& op_id = {});

/// {"error": {"code", "message", "op_id"}}
nlohmann::json error_json(const Failure& failure);

/// `error: <message> (op-...)`, without the parenthesis when no op ran.
std::string render_text(const Failure& failure);

/// The failure as `format` asks: text plus newline to stderr, JSON to
/// stdout; both flushed. Returns failure.exit_code.
int emit(const Failure& failure, OutputFormat format);

} // namespace banger::cli
