// What a VM may ask for is checked by the CLI before it contacts anything,
// with the checks the daemon and the helper run (messages/vm_limits.hpp):
// with no daemon at all, a bad --cpus, --memory, --signal or --publish is a usage error
// naming the limit, never a connection error.
#include "messages/vm_limits.hpp"
#include "tests/cli/cli_run.hpp"
#include "tests/support/process.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

using namespace banger;
using banger::test::run_banger;

namespace {

struct Case {
  std::vector<std::string> args;
  std::string message; ///< the shared check's own words
};

std::vector<Case> bad_values() {
  auto cpus = check_cpus(max_cpus + 1).error().message;
  auto memory = check_memory_mib(max_memory_mib + 1).error().message;
  return {
    {{"vm", "create", "--image", "x", "--cpus", "0"}, cpus},
    {{"vm", "create", "--image", "x", "--cpus", std::to_string(max_cpus + 1)}, cpus},
    {{"vm", "create", "--image", "x", "--memory", std::to_string(min_memory_mib - 1)}, memory},
    {{"vm", "create", "--image", "x", "--memory", "102400000"}, memory},
    {{"vm", "kill", "--signal", "STOP", "web1"}, "is not one of HUP INT QUIT KILL"},
    {{"vm", "create", "--image", "x", "-p", "8080"}, "(use HOSTPORT:GUESTPORT[/tcp|udp])"},
    {{"vm", "create", "--image", "x", "-p", "0:80"}, "has a host port that is not 1-65535"},
    {{"vm", "create", "--image", "x", "--publish", "80:80/sctp"}, "protocol other than tcp or udp"},
    {{"vm", "create", "--image", "x", "-p", "80:80", "-p", "80:81/tcp"},
     "host port 80/tcp is published twice"},
    {{"vm", "kill", "--signal", "TE RM", "web1"}, "is not a signal name or number"},
    {{"vm", "exec", "web1"}, "vm exec needs a command"},
    {{"vm", "exec", "-e", "NOVALUE", "web1", "--", "env"}, "use NAME=VALUE"},
  };
}

} // namespace

TEST_CASE("bad cpus, memory, signals and published ports are refused before any daemon is contacted") {
  // Nothing runs in this home, and nothing listens on port 1: contacting
  // anything would be exit 3 ("cannot reach bangerd").
  test::TempDir home;
  for (const auto& c : bad_values()) {
    CAPTURE(c.args);
    std::vector<std::string> argv{"--home", home.path(), "--daemon", "127.0.0.1:1"};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    auto text = run_banger(argv);
    CHECK(text.exit_code == 2);
    CHECK(text.err.find(c.message) != std::string::npos);
    CHECK(text.err.find("usage: banger") != std::string::npos);
    CHECK(text.err.find("cannot reach") == std::string::npos);

    argv.insert(argv.begin(), {"-o", "json"});
    auto json = run_banger(argv);
    CHECK(json.exit_code == 2);
    REQUIRE_MESSAGE(!json.out.empty(), json.err);
    auto error = nlohmann::json::parse(json.out)["error"];
    CHECK(error["code"] == "invalid_argument");
    CHECK(error["op_id"] == "");
    CHECK(error["message"].get<std::string>().find(c.message) != std::string::npos);
  }
}

TEST_CASE("the shared checks accept what a VM may have and refuse the rest") {
  CHECK(check_cpus(1));
  CHECK(check_cpus(max_cpus));
  CHECK_FALSE(check_cpus(0));
  CHECK(check_memory_mib(min_memory_mib));
  CHECK(check_memory_mib(max_memory_mib));
  CHECK_FALSE(check_memory_mib(max_memory_mib + 1));
  for (auto* good : {"TERM", "sigkill", "9", "Hup", "USR2"})
    CHECK(check_signal(good));
  for (auto* bad : {"", "STOP", "19", "-9", "TERM;", "SIG"})
    CHECK_FALSE(check_signal(bad));
}

TEST_CASE("image build refuses bad --packages and --distro before any daemon is contacted") {
  test::TempDir home;
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases{
    {{"--distro", "debian", "--packages", "curl,;rm"}, "';rm' is not a Debian package name"},
    {{"--distro", "debian", "--packages", "curl,,less"}, "'' is not a Debian package name"},
    {{"--distro", "debian", "--packages", "Curl"}, "'Curl' is not a Debian package name"},
    {{"--packages", "curl"}, "--packages needs --distro debian"},
    {{"--distro", "alpine"}, "alpine"},
  };
  for (const auto& [options, message] : cases) {
    CAPTURE(options);
    std::vector<std::string> argv{"--home", home.path(), "--daemon", "127.0.0.1:1",
                                  "image", "build", "img"};
    argv.insert(argv.end(), options.begin(), options.end());
    auto r = run_banger(argv);
    CHECK(r.exit_code == 2);
    CHECK_MESSAGE(r.err.find(message) != std::string::npos, r.err);
    CHECK(r.err.find("cannot reach") == std::string::npos);
  }
  std::string many = "p0";
  for (int i = 1; i <= 100; ++i)
    many += ",p" + std::to_string(i);
  auto r = run_banger({"--home", home.path(), "--daemon", "127.0.0.1:1", "image", "build", "img",
                       "--distro", "debian", "--packages", many});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("more than 100 packages") != std::string::npos);
}
