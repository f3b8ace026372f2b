// Reading QMP: the greeting, one answer per command, events skipped, errors
// named, garbage refused. Lines are what QEMU 7.2 sends.
#include "actors/qemu_driver.hpp"

#include <doctest/doctest.h>

using namespace banger;

namespace {

const std::string greeting =
  R"({"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}}, "capabilities": ["oob"]}})"
  "\r\n";

} // namespace

TEST_CASE("the request negotiates capabilities first, one command per line") {
  CHECK(qemu::qmp_request({qemu::system_powerdown}) ==
        "{\"execute\":\"qmp_capabilities\"}\n{\"execute\":\"system_powerdown\"}\n");
}

TEST_CASE("complete once every command is answered, events in between ignored") {
  std::string error;
  std::string data = greeting + "{\"return\": {}}\r\n";
  CHECK_FALSE(qemu::qmp_complete(data, 1, error));
  data += R"({"timestamp": {"seconds": 1, "microseconds": 2}, "event": "POWERDOWN"})" "\r\n";
  CHECK_FALSE(qemu::qmp_complete(data, 1, error));
  data += "{\"return\": {}}\r\n";
  CHECK(qemu::qmp_complete(data, 1, error));
  CHECK(error.empty());
  auto returns = qemu::qmp_returns(data, {qemu::system_powerdown});
  REQUIRE(returns.ok());
  CHECK(*returns == std::vector<std::string>{"{}"});
}

TEST_CASE("query-status gives the run state") {
  std::string data = greeting + "{\"return\": {}}\r\n"
                     + R"({"return": {"status": "running", "singlestep": false, "running": true}})"
                     + "\r\n";
  auto returns = qemu::qmp_returns(data, {qemu::query_status});
  REQUIRE(returns.ok());
  auto state = qemu::run_state(returns->front());
  REQUIRE(state.ok());
  CHECK(*state == "running");
  CHECK_FALSE(qemu::run_state("{}").ok());
}

TEST_CASE("a refused command becomes vmm_failed naming it and QEMU's reason") {
  std::string data = greeting + "{\"return\": {}}\r\n"
                     + R"({"error": {"class": "CommandNotFound", "desc": "The command nope has not been found"}})"
                     + "\r\n";
  auto returns = qemu::qmp_returns(data, {R"({"execute":"nope"})"});
  REQUIRE_FALSE(returns.ok());
  CHECK(returns.error().code == Errc::vmm_failed);
  CHECK(returns.error().message.find("CommandNotFound") != std::string::npos);
  CHECK(returns.error().message.find("nope") != std::string::npos);
}

TEST_CASE("something that is not QMP is refused at once") {
  std::string error;
  CHECK_FALSE(qemu::qmp_complete("HTTP/1.1 200 OK\r\n\r\n", 1, error));
  CHECK_FALSE(error.empty());
  error.clear();
  CHECK_FALSE(qemu::qmp_complete("{\"return\": {}}\n{\"return\": {}}\n", 1, error));
  CHECK(error.find("greeting") != std::string::npos);
  CHECK_FALSE(qemu::qmp_returns(greeting, {qemu::query_status}).ok()); // closed early
}

TEST_CASE("negotiation alone completes with the greeting and one answer") {
  std::string error;
  CHECK(qemu::qmp_request({}) == "{\"execute\":\"qmp_capabilities\"}\n");
  std::string data = greeting + "{\"return\": {}}\r\n";
  CHECK(qemu::qmp_complete(data, 0, error));
  auto returns = qemu::qmp_returns(data, {});
  REQUIRE(returns.ok());
  CHECK(returns->empty());
}

namespace {

/// The answers to negotiation plus `n` commands, all {}.
std::string answered(std::size_t n) {
  std::string out = greeting;
  for (std::size_t i = 0; i <= n; ++i)
    out += "{\"return\": {}}\r\n";
  return out;
}

std::string migration_event(const std::string& status) {
  return R"({"timestamp": {"seconds": 1, "microseconds": 2}, "event": "MIGRATION", "data": {"status": ")"
         + status + "\"}}\r\n";
}

} // namespace

TEST_CASE("a save stops the guest, takes the file's descriptor and streams to it uncapped") {
  auto commands = qemu::save_commands();
  REQUIRE(commands.size() == 5);
  CHECK(commands[0] == qemu::stop);
  CHECK(commands[1] == R"({"arguments":{"fdname":"banger-state"},"execute":"getfd"})");
  CHECK(commands[2]
        == R"({"arguments":{"capabilities":[{"capability":"events","state":true}]},)"
           R"("execute":"migrate-set-capabilities"})");
  CHECK(commands[3]
        == R"({"arguments":{"max-bandwidth":107374182400},"execute":"migrate-set-parameters"})");
  CHECK(commands[4] == R"({"arguments":{"uri":"fd:banger-state"},"execute":"migrate"})");
}

TEST_CASE("a load takes the file's descriptor and reads the stream from it") {
  auto commands = qemu::load_commands();
  REQUIRE(commands.size() == 3);
  CHECK(commands[0] == R"({"arguments":{"fdname":"banger-state"},"execute":"getfd"})");
  CHECK(commands[1].find("\"events\"") != std::string::npos);
  CHECK(commands[2] == R"({"arguments":{"uri":"fd:banger-state"},"execute":"migrate-incoming"})");
}

TEST_CASE("a migration exchange ends with the stream's final event, in whatever order it comes") {
  std::string error;
  // QEMU 7.2 sends "setup" before the answer to migrate.
  std::string data = answered(2) + migration_event("setup");
  CHECK_FALSE(qemu::qmp_complete_migration(data, 3, error));
  data += "{\"return\": {}}\r\n" + migration_event("active");
  CHECK_FALSE(qemu::qmp_complete_migration(data, 3, error));
  CHECK(qemu::migration_end(data).empty());
  data += R"({"timestamp": {"seconds": 1, "microseconds": 3}, "event": "MIGRATION_PASS", "data": {"pass": 2}})"
          "\r\n";
  CHECK_FALSE(qemu::qmp_complete_migration(data, 3, error));
  data += migration_event("completed");
  CHECK(qemu::qmp_complete_migration(data, 3, error));
  CHECK(error.empty());
  CHECK(qemu::migration_end(data) == "completed");
  // The final event before the last answer: still waits for the answer.
  CHECK_FALSE(qemu::qmp_complete_migration(answered(1) + migration_event("failed"), 3, error));
  CHECK(qemu::migration_end(answered(1) + migration_event("failed")) == "failed");
}

TEST_CASE("a refused migration command ends the exchange without waiting for an event") {
  std::string error;
  std::string data =
    answered(1) + R"({"error": {"class": "GenericError", "desc": "There's a migration process in progress"}})"
    + "\r\n";
  CHECK(qemu::qmp_complete_migration(data, 2, error));
  auto returns = qemu::qmp_returns(data, {qemu::stop, R"({"execute":"migrate"})"});
  REQUIRE_FALSE(returns.ok());
  CHECK(returns.error().message.find("migration process in progress") != std::string::npos);
}

TEST_CASE("query-migrate gives the status and QEMU's reason for a failure") {
  auto failed = qemu::migration(
    R"({"status": "failed", "error-desc": "Unable to write to file: No space left on device"})");
  REQUIRE(failed.ok());
  CHECK(failed->status == "failed");
  CHECK(failed->error_desc == "Unable to write to file: No space left on device");
  auto completed = qemu::migration(R"({"status": "completed", "total-time": 58})");
  REQUIRE(completed.ok());
  CHECK(completed->status == "completed");
  CHECK(completed->error_desc.empty());
  auto never = qemu::migration("{}");
  REQUIRE(never.ok());
  CHECK(never->status == "none");
  CHECK_FALSE(qemu::migration("[]").ok());
}

TEST_CASE("the migration timeout grows with the guest's memory") {
  CHECK(qemu::migration_timeout(256) == std::chrono::milliseconds(22800));
  CHECK(qemu::migration_timeout(1024) == std::chrono::milliseconds(61200));
  CHECK(qemu::migration_timeout(1024) > qemu::migration_timeout(256));
}
