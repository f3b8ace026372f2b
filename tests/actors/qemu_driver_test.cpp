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
