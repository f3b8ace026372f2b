// A restart after SIGKILL: the dead process's TCP connections linger in the
// kernel (FIN_WAIT_2 while the peer keeps its end open, then TIME_WAIT, a
// minute or more) and used to keep the new process from binding its port.
// bangerd and banger-helper publish with SO_REUSEADDR, so they serve again at
// once; a second process on a port that is really in use still fails, and says
// why.
#include "tests/integration/helpers.hpp"
#include "tests/support/raw_tls.hpp"

#include <chrono>
#include <csignal>
#include <string>

using namespace banger;
using namespace banger::test;
using namespace std::chrono_literals;

namespace {

using Clock = std::chrono::steady_clock;

bool logged(const std::vector<std::string>& lines, const std::string& text) {
  for (const auto& line : lines)
    if (line.find(text) != std::string::npos)
      return true;
  return false;
}

/// How long until `log` says `serving`, or nullopt if the process exited or
/// took longer than the liveness bound.
template <class Log, class Running>
std::optional<std::chrono::milliseconds>
time_to_serve(Clock::time_point started, Log log, Running running,
              const std::string& serving) {
  std::optional<std::chrono::milliseconds> out;
  eventually(
      [&] {
        if (logged(log(), serving)) {
          out = std::chrono::duration_cast<std::chrono::milliseconds>(
              Clock::now() - started);
          return true;
        }
        return !running();
      },
      10s, 5ms);
  return out;
}

void show_log(const std::vector<std::string>& lines) {
  for (const auto& line : lines)
    if (line.find("cannot listen") != std::string::npos)
      MESSAGE(line);
}

} // namespace

TEST_CASE("bangerd killed with a client connected serves again within a second "
          "of its restart") {
  BANGER_REQUIRE_ROOT();
  Host host;
  host.start_helper();
  host.start_daemon();
  host.wait_ready(); // a client connection is open, and the helper link
  auto client_files = tls_files(HomeLayout{host.home()}, TlsRole::client);
  for (int round = 0; round < 2; ++round) {
    INFO("restart " << round + 1);
    // A client that keeps its connection open and never reacts to the
    // daemon's death: the daemon's end stays in FIN_WAIT_2.
    RawTls held(client_files, host.daemon_port());
    REQUIRE(held.greeted_within(5s)); // the daemon has taken it: nothing unread
    host.stop_daemon(SIGKILL);
    auto lines_before = host.daemon_log().size();
    auto started = Clock::now();
    host.start_daemon();
    auto serving = time_to_serve(
        started,
        [&] {
          auto lines = host.daemon_log();
          return std::vector<std::string>(
              lines.begin() +
                  static_cast<long>(std::min(lines_before, lines.size())),
              lines.end());
        },
        [&] { return host.daemon_running(); }, "\"bangerd serving\"");
    if (!serving)
      show_log(host.daemon_log());
    REQUIRE_MESSAGE(serving, "bangerd did not serve after its restart");
    MESSAGE("bangerd serving " << serving->count() << " ms after its start");
    CHECK(*serving < 1s);
    auto status = host.ask<DaemonStatus>(DaemonStatusRequest{}, 5s);
    CHECK_MESSAGE(status.ok(), (status.ok() ? "" : status.error().message));
  }
}

TEST_CASE("banger-helper killed under a connected daemon serves again within a "
          "second") {
  BANGER_REQUIRE_ROOT();
  Host host;
  host.start_helper();
  host.start_daemon();
  host.wait_ready(); // the daemon's link to the helper is up
  RawTls held(tls_files(HomeLayout{host.home()}, TlsRole::client),
              host.helper_port());
  REQUIRE(held.greeted_within(5s));
  host.stop_helper(SIGKILL);
  auto lines_before = host.helper_log().size();
  auto started = Clock::now();
  host.start_helper();
  auto serving = time_to_serve(
      started,
      [&] {
        auto lines = host.helper_log();
        return std::vector<std::string>(
            lines.begin() +
                static_cast<long>(std::min(lines_before, lines.size())),
            lines.end());
      },
      [&] { return host.helper_running(); }, "\"banger-helper serving\"");
  if (!serving)
    show_log(host.helper_log());
  REQUIRE_MESSAGE(serving, "banger-helper did not serve after its restart");
  MESSAGE("banger-helper serving " << serving->count()
                                   << " ms after its start");
  CHECK(*serving < 1s);
  host.wait_ready(); // and the daemon reaches it again
}

TEST_CASE(
    "a second bangerd on a port in use fails and says the port is taken") {
  BANGER_REQUIRE_ROOT();
  Host host;
  host.start_helper();
  host.start_daemon();
  host.wait_ready();
  auto second = Child::spawn({BANGERD_BIN, "--home", host.home()}, {},
                             host.path("logs/second.log"));
  auto status = second.wait(20s);
  REQUIRE_MESSAGE(status, "the second bangerd kept running on a port in use");
  CHECK(WIFEXITED(*status));
  CHECK(WEXITSTATUS(*status) != 0);
  std::ifstream in(host.path("logs/second.log"));
  std::string text((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  CHECK_MESSAGE(text.find("cannot listen") != std::string::npos, text);
  // The first one is untouched.
  auto reply = host.ask<DaemonStatus>(DaemonStatusRequest{}, 5s);
  CHECK(reply.ok());
}
