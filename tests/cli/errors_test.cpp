// How the CLI shows errors: one Failure per error, one text form and one
// JSON form, whatever produced it.
#include "messages/error.hpp"
#include "tools/cli/args.hpp"
#include "tools/cli/commands.hpp"
#include "tools/cli/errors.hpp"

#include <caf/sec.hpp>
#include <doctest/doctest.h>
#include <iostream>
#include <set>
#include <sstream>

using namespace banger;
using namespace banger::cli;

namespace {

// What emit() writes to stdout and stderr.
struct Captured {
  std::string out, err;
  int exit_code = 0;
};

Captured capture_emit(const Failure& f, OutputFormat format) {
  std::ostringstream out, err;
  auto* old_out = std::cout.rdbuf(out.rdbuf());
  auto* old_err = std::cerr.rdbuf(err.rdbuf());
  int code = emit(f, format);
  std::cout.rdbuf(old_out);
  std::cerr.rdbuf(old_err);
  return {out.str(), err.str(), code};
}

} // namespace

TEST_CASE("the CLI renders an error as its message followed by the op_id") {
  auto uut =
      make_error(Errc::not_found, "no VM named 'web'", "op-3f9a0c12d4e1");
  CHECK(render_text(failure_of(uut)) ==
        "error: no VM named 'web' (op-3f9a0c12d4e1)");
}

TEST_CASE("an error without op_id renders without the parenthesis") {
  auto uut = make_error(Errc::invalid_argument, "bad name", "");
  CHECK(render_text(failure_of(uut)) == "error: bad name");
}

TEST_CASE(
    "an error message with quotes and newlines is valid JSON with -o json") {
  Failure uut{code_daemon_unreachable,
              "cannot reach \"bangerd\"\nat\t[::1]:7420 \\ retry", "",
              exit_unreachable};
  auto shown = capture_emit(uut, OutputFormat::json);
  CHECK(shown.exit_code == exit_unreachable);
  CHECK(shown.err.empty());
  auto parsed = nlohmann::json::parse(shown.out); // throws on invalid JSON
  CHECK(parsed["error"]["code"] == "daemon_unreachable");
  CHECK(parsed["error"]["message"] == uut.message);
  CHECK(parsed["error"]["op_id"] == "");
}

TEST_CASE("a text error goes to stderr only") {
  auto shown = capture_emit(
      failure(Errc::busy, "queue full", "op-0123456789ab"), OutputFormat::text);
  CHECK(shown.out.empty());
  CHECK(shown.err == "error: queue full (op-0123456789ab)\n");
  CHECK(shown.exit_code == exit_failed);
}

TEST_CASE("a lost connection is daemon_unreachable, exit 3, with the caller's "
          "op_id") {
  auto uut = failure_of(caf::make_error(caf::sec::request_receiver_down),
                        "op-0123456789ab");
  CHECK(uut.code == "daemon_unreachable");
  CHECK(uut.exit_code == exit_unreachable);
  CHECK(uut.op_id == "op-0123456789ab");
  CHECK(uut.message.starts_with("lost the connection to bangerd"));
}

TEST_CASE("CAF's request timeout points at --timeout; the daemon's own timeout "
          "keeps its words") {
  auto caf_timeout = failure_of(caf::make_error(caf::sec::request_timeout));
  CHECK(caf_timeout.code == "timeout");
  CHECK(caf_timeout.exit_code == exit_failed);
  CHECK(caf_timeout.message.find("--timeout") != std::string::npos);
  auto daemon_timeout = failure_of(
      make_error(Errc::timeout, "guest not ready", "op-aaaaaaaaaaaa"));
  CHECK(daemon_timeout.message == "guest not ready");
  CHECK(daemon_timeout.op_id == "op-aaaaaaaaaaaa");
}

TEST_CASE("every command in the table has a handler and each lifecycle action "
          "its own") {
  std::set<Handler> actions;
  for (const auto& spec : command_table()) {
    CAPTURE(spec.name);
    CHECK(static_cast<bool>(spec.run));
  }
  for (auto name : {"vm start", "vm stop", "vm restart", "vm rm", "vm kill"}) {
    auto* spec = find_command(name);
    REQUIRE(spec);
    actions.insert(spec->run);
  }
  // One shared handler would have to map the command's name back to an
  // action, where an unlisted name could fall through to a removal.
  CHECK(actions.size() == 5);
}

TEST_CASE("an unknown vm action is a usage error, never a removal") {
  auto uut = parse({"vm", "frobnicate", "web1"}, nullptr);
  CHECK(uut.kind == ParseOutcome::Kind::usage_error);
  CHECK(find_command("vm frobnicate") == nullptr);
}
