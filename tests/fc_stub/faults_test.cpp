// Fault injection through flags, environment and the faults file, and the
// request log daemon tests rely on.
#include "tests/fc_stub/stub_harness.hpp"

#include <chrono>
#include <doctest/doctest.h>
#include <fstream>
#include <signal.h>

namespace banger::fc_stub::test {
namespace {

using Clock = std::chrono::steady_clock;

std::int64_t elapsed_ms(Clock::time_point since) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() -
                                                               since)
      .count();
}

TEST_CASE("a failing endpoint given as a flag answers 400 with an injected "
          "fault") {
  Stub stub({.arguments = {"--stub-fail-endpoint", "PUT:/drives/rootfs"}});
  std::string rootfs = stub.create_file("rootfs");
  std::string body = R"({"drive_id": "rootfs", "path_on_host": ")" + rootfs +
                     R"(", "is_root_device": true})";
  Reply failed = stub.api().put("/drives/rootfs", body);
  CHECK(failed.status == 400);
  CHECK(failed.fault() == "injected fault: PUT:/drives/rootfs");
  // Other drives and validation errors are unaffected.
  CHECK(stub.api()
            .put("/drives/data", R"({"drive_id": "data", "path_on_host": ")" +
                                     rootfs + R"(", "is_root_device": false})")
            .status == 204);
  CHECK(stub.api().put("/drives/rootfs", "{}").fault().find("missing field") !=
        std::string::npos);
}

TEST_CASE("an action fault fails only that action type") {
  Stub stub(
      {.arguments = {"--stub-fail-endpoint", "PUT:/actions:InstanceStart"}});
  stub.configure();
  Reply start =
      stub.api().put("/actions", R"({"action_type": "InstanceStart"})");
  CHECK(start.fault() == "injected fault: PUT:/actions:InstanceStart");
  CHECK(stub.api().get("/").json()["state"] == "Not started");
  // A different action on the same path reaches the VMM.
  Reply flush =
      stub.api().put("/actions", R"({"action_type": "FlushMetrics"})");
  CHECK(flush.fault() == "The requested operation is not supported before "
                         "starting the microVM.");
}

TEST_CASE("faults in the environment apply and glob patterns match") {
  Stub stub({.environment = {"FC_STUB_FAIL_ENDPOINT=GET:/machine-*, "
                             "PATCH:/vm:Paused"}});
  CHECK(stub.api().get("/machine-config").fault() ==
        "injected fault: GET:/machine-*");
  CHECK(stub.api().get("/").status == 200);
  stub.boot();
  CHECK(stub.api().patch("/vm", R"({"state": "Paused"})").fault() ==
        "injected fault: PATCH:/vm:Paused");
  CHECK(stub.api().patch("/vm", R"({"state": "Resumed"})").status == 204);
}

TEST_CASE("the faults file applies lines for this VM id and for * only") {
  banger::test::TempDir directory("fc-stub-faults");
  std::string faults = directory.path() + "/faults";
  std::ofstream(faults) << "# faults for the daemon test\n"
                           "vm-under-test fail-endpoint PUT:/boot-source\n"
                           "other-vm      fail-endpoint GET:/\n"
                           "*             fail-endpoint GET:/version  # all\n"
                           "*             shutdown-delay-ms 5000\n"
                           "vm-under-test shutdown-delay-ms 0\n";
  Stub stub({.environment = {"FC_STUB_FAULTS=" + faults}});
  CHECK(
      stub.api().put("/boot-source", R"({"kernel_image_path": "x"})").fault() ==
      "injected fault: PUT:/boot-source");
  CHECK(stub.api().get("/").status == 200);
  CHECK(stub.api().get("/version").fault() == "injected fault: GET:/version");

  Stub other({.environment = {"FC_STUB_FAULTS=" + faults}, .id = "other-vm"});
  CHECK(other.api().get("/").fault() == "injected fault: GET:/");
}

TEST_CASE("a malformed faults file stops the stub before it serves") {
  banger::test::TempDir directory("fc-stub-faults");
  std::string faults = directory.path() + "/faults";
  std::ofstream(faults) << "* explode-now\n";
  std::string socket = directory.path() + "/api.sock";
  auto child = spawn_stub({"--api-sock", socket}, {"FC_STUB_FAULTS=" + faults});
  auto status = child.wait(5s);
  REQUIRE(status);
  CHECK(exit_code(*status) == 2);
  CHECK_FALSE(path_exists(socket));
}

TEST_CASE("ignore-ctrl-alt-del accepts the keystroke but keeps running") {
  Stub stub({.environment = {"FC_STUB_IGNORE_CTRL_ALT_DEL=1"}});
  stub.boot();
  CHECK(stub.api()
            .put("/actions", R"({"action_type": "SendCtrlAltDel"})")
            .status == 204);
  // Requests keep being served well past the default 20 ms shutdown delay.
  auto since = Clock::now();
  while (elapsed_ms(since) < 100)
    REQUIRE(stub.api().get("/").json()["state"] == "Running");
  stub.signal(SIGTERM);
  auto status = stub.wait_exit();
  REQUIRE(status);
  CHECK(terminating_signal(*status) == SIGTERM);
}

TEST_CASE("shutdown-delay-ms postpones the exit after SendCtrlAltDel") {
  Stub stub({.arguments = {"--stub-shutdown-delay-ms", "300"}});
  stub.boot();
  auto sent = Clock::now();
  CHECK(stub.api()
            .put("/actions", R"({"action_type": "SendCtrlAltDel"})")
            .status == 204);
  auto status = stub.wait_exit();
  REQUIRE(status);
  CHECK(exit_code(*status) == 0);
  CHECK(elapsed_ms(sent) >= 300);
}

TEST_CASE("crash-after-boot-ms kills the process after InstanceStart") {
  Stub stub({.environment = {"FC_STUB_CRASH_AFTER_BOOT_MS=50"}});
  stub.boot();
  auto status = stub.wait_exit();
  REQUIRE(status);
  CHECK(terminating_signal(*status) == SIGKILL);
  // A crashed process cleans nothing up: the socket file stays behind.
  CHECK(path_exists(stub.socket_path()));
}

TEST_CASE("exit-on-start logs an error line and exits mid-InstanceStart") {
  Stub stub({.environment = {"FC_STUB_EXIT_ON_START=4"}});
  stub.configure();
  // No answer: the process is gone before it writes one.
  CHECK_THROWS(stub.api().put("/actions", R"({"action_type": "InstanceStart"})"));
  auto status = stub.wait_exit();
  REQUIRE(status);
  CHECK(exit_code(*status) == 4);
  CHECK(contains(stub.log(), "Cannot allocate memory"));
}

TEST_CASE("poweroff-after-boot-ms ends the process like a guest power-off") {
  Stub stub({.arguments = {"--stub-poweroff-after-boot-ms", "50"}});
  stub.boot();
  auto status = stub.wait_exit();
  REQUIRE(status);
  CHECK(exit_code(*status) == 0);
  CHECK_FALSE(path_exists(stub.socket_path()));
}

TEST_CASE("socket-delay-ms postpones the API socket") {
  auto spawned = Clock::now();
  Stub stub({.arguments = {"--stub-socket-delay-ms", "200"}});
  CHECK(elapsed_ms(spawned) >= 200);
  CHECK(stub.api().get("/").status == 200);
}

TEST_CASE("exit-before-socket exits with the given code and no socket") {
  banger::test::TempDir directory("fc-stub-exit");
  std::string socket = directory.path() + "/api.sock";
  auto child =
      spawn_stub({"--api-sock", socket}, {"FC_STUB_EXIT_BEFORE_SOCKET=7"});
  auto status = child.wait(5s);
  REQUIRE(status);
  CHECK(exit_code(*status) == 7);
  CHECK_FALSE(path_exists(socket));
}

TEST_CASE("flags beat the environment for the same fault") {
  banger::test::TempDir directory("fc-stub-exit");
  auto child = spawn_stub({"--api-sock", directory.path() + "/api.sock",
                           "--stub-exit-before-socket", "3"},
                          {"FC_STUB_EXIT_BEFORE_SOCKET=9"});
  CHECK(exit_code(child.wait(5s).value_or(-1)) == 3);
}

TEST_CASE("the request log has one JSON line per request with sane "
          "timestamps") {
  banger::test::TempDir directory("fc-stub-log");
  std::string request_log = directory.path() + "/requests.jsonl";
  auto before = std::chrono::duration_cast<std::chrono::nanoseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  {
    Stub stub({.environment = {"FC_STUB_REQUEST_LOG=" + request_log}});
    stub.boot();
    stub.api().get("/");
  }
  auto after = std::chrono::duration_cast<std::chrono::nanoseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
  auto lines = read_request_log(request_log);
  REQUIRE(lines.size() == 7);
  CHECK(lines[0]["method"] == "PUT");
  CHECK(lines[0]["path"] == "/machine-config");
  CHECK(lines[0]["status"] == 204);
  CHECK(lines[0]["id"] == "vm-under-test");
  CHECK(lines[5]["path"] == "/actions");
  CHECK(lines[5]["action"] == "InstanceStart");
  CHECK(lines[6]["status"] == 200);
  CHECK_FALSE(lines[6].contains("action"));
  std::int64_t previous_end = 0;
  for (const auto& line : lines) {
    CHECK(line["pid"].get<int>() > 0);
    std::int64_t start = line["start_ns"];
    std::int64_t end = line["end_ns"];
    CHECK(start >= before);
    CHECK(end <= after);
    CHECK(start <= end);
    // One client, one request at a time: intervals never overlap.
    CHECK(start >= previous_end);
    previous_end = end;
  }
}

TEST_CASE("response-delay-ms delays responses without blocking other "
          "connections") {
  banger::test::TempDir directory("fc-stub-delay");
  std::string request_log = directory.path() + "/requests.jsonl";
  {
    Stub stub({.arguments = {"--stub-response-delay-ms", "400",
                             "--stub-request-log", request_log}});
    ApiClient first = stub.connect();
    ApiClient second = stub.connect();
    auto sent = Clock::now();
    first.send_raw("GET / HTTP/1.1\r\n\r\n");
    second.send_raw("GET /version HTTP/1.1\r\n\r\n");
    CHECK(first.read_reply().status == 200);
    CHECK(second.read_reply().status == 200);
    CHECK(elapsed_ms(sent) >= 400);
  }
  auto lines = read_request_log(request_log);
  REQUIRE(lines.size() == 2);
  // The second request was read while the first was still being delayed.
  std::int64_t first_end = lines[0]["end_ns"];
  std::int64_t second_start = lines[1]["start_ns"];
  if (lines[0]["path"] != "/") {
    first_end = lines[1]["end_ns"];
    second_start = lines[0]["start_ns"];
  }
  CHECK(second_start < first_end);
  for (const auto& line : lines)
    CHECK(line["end_ns"].get<std::int64_t>() -
              line["start_ns"].get<std::int64_t>() >=
          400'000'000);
}

TEST_CASE("several stubs append whole lines to one request log") {
  banger::test::TempDir directory("fc-stub-shared-log");
  std::string request_log = directory.path() + "/requests.jsonl";
  {
    Stub first({.environment = {"FC_STUB_REQUEST_LOG=" + request_log},
                .id = "vm-one"});
    Stub second({.environment = {"FC_STUB_REQUEST_LOG=" + request_log},
                 .id = "vm-two"});
    for (int round = 0; round < 20; ++round) {
      first.api().get("/");
      second.api().get("/");
    }
  }
  auto lines = read_request_log(request_log);
  CHECK(lines.size() == 40);
  int from_first = 0;
  for (const auto& line : lines)
    from_first += line["id"] == "vm-one" ? 1 : 0;
  CHECK(from_first == 20);
}

} // namespace
} // namespace banger::fc_stub::test
