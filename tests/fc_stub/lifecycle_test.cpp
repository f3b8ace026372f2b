// The process as a launcher sees it: command line, exit codes, signals, the
// API socket's life and the log.
#include "tests/fc_stub/stub_harness.hpp"

#include <cstring>
#include <doctest/doctest.h>
#include <fstream>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace banger::fc_stub::test {
namespace {

std::string read_all_stdout(banger::test::Child& child) {
  std::string text;
  while (auto line = child.read_line(5s))
    text += *line + "\n";
  return text;
}

TEST_CASE("SendCtrlAltDel makes the process exit 0 and remove its socket") {
  Stub stub;
  stub.boot();
  Reply reply =
      stub.api().put("/actions", R"({"action_type": "SendCtrlAltDel"})");
  CHECK(reply.status == 204);
  auto status = stub.wait_exit();
  REQUIRE(status);
  CHECK(exit_code(*status) == 0);
  CHECK_FALSE(path_exists(stub.socket_path()));
  CHECK(contains(stub.log(), "Firecracker exiting successfully. exit_code=0"));
}

TEST_CASE("a paused guest shuts down only after it is resumed") {
  Stub stub({.arguments = {"--stub-shutdown-delay-ms", "0"}});
  stub.boot();
  CHECK(stub.api().patch("/vm", R"({"state": "Paused"})").status == 204);
  CHECK(stub.api()
            .put("/actions", R"({"action_type": "SendCtrlAltDel"})")
            .status == 204);
  // Still answering: the paused guest has not reacted to the keystroke.
  CHECK(stub.api().get("/").json()["state"] == "Paused");
  CHECK(stub.api().patch("/vm", R"({"state": "Resumed"})").status == 204);
  auto status = stub.wait_exit();
  REQUIRE(status);
  CHECK(exit_code(*status) == 0);
}

TEST_CASE("SIGTERM ends the process promptly and removes its socket") {
  for (int signal_number : {SIGTERM, SIGINT}) {
    Stub stub;
    stub.signal(signal_number);
    auto status = stub.wait_exit(2s);
    REQUIRE(status);
    CHECK(terminating_signal(*status) == signal_number);
    CHECK_FALSE(path_exists(stub.socket_path()));
  }
}

TEST_CASE("an existing socket path is refused like Firecracker's address in "
          "use") {
  banger::test::TempDir directory("fc-stub-busy");
  std::string socket_path = directory.path() + "/api.sock";
  std::ofstream(socket_path) << "";
  auto child = spawn_stub(
      {"--api-sock", socket_path, "--log-path", directory.path() + "/log"});
  auto status = child.wait(5s);
  REQUIRE(status);
  CHECK(exit_code(*status) == 1);
  // The file that was there is left alone.
  CHECK(path_exists(socket_path));
  std::ifstream log(directory.path() + "/log");
  std::string text((std::istreambuf_iterator<char>(log)), {});
  CHECK(contains(text, "Failed to open the API socket at: " + socket_path +
                           ". Check that it is not already used."));
}

TEST_CASE("an unknown command-line flag is refused with exit code 153") {
  auto child = spawn_stub({"--api-sock", "/nonexistent/api.sock", "--bogus"});
  std::string output = read_all_stdout(child);
  auto status = child.wait(5s);
  REQUIRE(status);
  CHECK(exit_code(*status) == 153);
  CHECK(contains(output, "Found argument 'bogus' which wasn't expected"));

  auto missing_value = spawn_stub({"--api-sock"});
  auto missing_status = missing_value.wait(5s);
  REQUIRE(missing_status);
  CHECK(exit_code(*missing_status) == 153);

  auto no_config = spawn_stub({"--no-api"});
  CHECK(contains(read_all_stdout(no_config),
                 "Argument 'config-file' required, but not found."));
}

TEST_CASE("--version prints the Firecracker version and the stub's "
          "identity") {
  auto child = spawn_stub({"--version"});
  std::string output = read_all_stdout(child);
  auto status = child.wait(5s);
  REQUIRE(status);
  CHECK(exit_code(*status) == 0);
  CHECK(output.rfind("Firecracker v1.16.1\n", 0) == 0);
  CHECK(contains(output, "fc-stub"));
}

TEST_CASE("--help lists Firecracker's arguments and the stub's faults") {
  auto child = spawn_stub({"--help"});
  std::string output = read_all_stdout(child);
  CHECK(exit_code(child.wait(5s).value_or(-1)) == 0);
  for (std::string_view argument :
       {"--api-sock <api-sock>", "--config-file", "--no-api", "--boot-timer",
        "--http-api-max-payload-size", "--stub-fail-endpoint",
        "--stub-response-delay-ms", "crash-after-boot-ms"})
    CHECK(contains(output, argument));
}

TEST_CASE("an invalid instance id aborts like Firecracker's panic") {
  auto child =
      spawn_stub({"--api-sock", "/nonexistent/api.sock", "--id", "bad_id"});
  auto status = child.wait(5s);
  REQUIRE(status);
  CHECK(terminating_signal(*status) == SIGABRT);
}

TEST_CASE("the log file records the instance start") {
  Stub stub({.arguments = {"--show-level"}});
  stub.boot();
  std::string log = stub.log();
  CHECK(contains(log, "[vm-under-test:main:INFO] Running Firecracker v1.16.1"));
  CHECK(contains(log, "Guest started: kernel " + stub.path("vmlinux")));
}

TEST_CASE("a logger configured through the API receives the log") {
  Stub stub;
  std::string api_log = stub.path("api.log");
  CHECK(stub.api()
            .put("/logger", R"({"log_path": ")" + api_log +
                                R"(", "level": "warning", "show_level": true})")
            .status == 204);
  stub.api().put("/actions", R"({"action_type": "SendCtrlAltDel"})");
  std::ifstream file(api_log);
  std::string text((std::istreambuf_iterator<char>(file)), {});
  CHECK(contains(text, ":ERROR] Received Error. Status code: 400"));
  CHECK_FALSE(contains(text, ":INFO]"));
}

} // namespace
} // namespace banger::fc_stub::test
