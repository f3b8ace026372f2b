// banger: the command-line client of bangerd. Parse and validate everything
// first (a usage error exits 2 without contacting anything), then connect over
// mutual TLS and run one command.
#include "tools/cli/args.hpp"
#include "tools/cli/client.hpp"
#include "tools/cli/commands.hpp"
#include "tools/cli/errors.hpp"

#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  using namespace banger::cli;
  std::vector<std::string> args(argv + 1, argv + argc);
  auto parsed = parse(args, std::getenv("BANGER_HOME"));
  switch (parsed.kind) {
    case ParseOutcome::Kind::help:
      std::cout << parsed.text;
      return exit_ok;
    case ParseOutcome::Kind::usage_error:
      std::cerr << parsed.text;
      return exit_usage;
    case ParseOutcome::Kind::run:
      break;
  }
  const auto& inv = parsed.invocation;
  if (auto problem = validate(inv); !problem.empty()) {
    // Refused before anything was contacted: invalid_argument, exit 2.
    if (inv.global.output == OutputFormat::json)
      return emit(Failure{"invalid_argument", problem, "", exit_usage}, inv.global.output);
    std::cerr << "error: " << problem << "\n" << usage_line(*inv.command) << "\n";
    return exit_usage;
  }
  if (!inv.command->run) // a table entry without a handler is a bug, not a usage error
    return emit(failure(banger::Errc::internal, "'" + inv.command->name + "' has no handler", ""),
                inv.global.output);
  Context ctx{inv, nullptr};
  if (inv.command->needs_daemon) {
    SessionError error;
    ctx.session = Session::open(inv.global, error);
    if (!ctx.session)
      return emit(error.failure(), inv.global.output);
  }
  int code = inv.command->run(ctx);
  std::cout.flush();
  std::cerr.flush();
  // Tearing the actor system down (closing the connection, joining the
  // scheduler and middleman threads) costs milliseconds and does nothing the
  // kernel will not do at exit; the daemon treats the closed socket like any
  // other disconnect.
  if (ctx.session)
    std::_Exit(code);
  return code;
}
