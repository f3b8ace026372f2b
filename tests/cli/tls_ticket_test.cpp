// The CLI keeps its TLS ticket between calls (messages/tls_resume.hpp)
// against a real bangerd: where the ticket goes and who may read it, that
// the next connection resumes with it, and that a damaged or stale ticket,
// or none, never costs more than a full handshake.
#include "messages/home_layout.hpp"
#include "messages/tls.hpp"
#include "tests/cli/cli_run.hpp"
#include "tests/support/process.hpp"
#include "tests/support/raw_tls.hpp"
#include "tests/support/skip.hpp"

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>

using namespace banger;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

#if defined(BANGERD_BIN)
constexpr bool have_daemon = true;
const char* const daemon_bin = BANGERD_BIN;
#else
constexpr bool have_daemon = false;
const char* const daemon_bin = "";
#endif

// A port nothing listens on now (the kernel's pick for a bind to port 0).
std::uint16_t unused_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  ::close(fd);
  return ntohs(addr.sin_port);
}

struct Daemon {
  test::TempDir dir{"banger-ticket"};
  fs::path home = fs::path(dir.path()) / "home";
  fs::path runtime = fs::path(dir.path()) / "run"; // the CLI's XDG_RUNTIME_DIR
  std::uint16_t port = 0;
  std::optional<test::Child> process;

  Daemon() {
    port = unused_port();
    auto init = test::run_banger({"init", "--home", home.string(), "--port",
                                  std::to_string(port), "--set",
                                  "helper.port=" + std::to_string(unused_port())});
    REQUIRE_MESSAGE(init.exit_code == 0, init.err);
    fs::create_directories(runtime);
    fs::permissions(runtime, fs::perms::owner_all);
    start();
  }
  void start() {
    process.emplace(test::Child::spawn({daemon_bin, "--home", home.string()}, {},
                                       (home / "logs" / "daemon.stderr").string()));
    // Serving is enough: no helper runs here.
    bool up = test::eventually([&] { return call().exit_code == 0; }, 30s, 50ms);
    REQUIRE_MESSAGE(up, "bangerd did not serve");
  }
  void restart() {
    process->signal(SIGTERM);
    REQUIRE(process->wait(10s).has_value());
    start();
  }
  test::RunResult call(std::vector<std::string> env = {}) const {
    env.push_back("XDG_RUNTIME_DIR=" + runtime.string());
    return test::run_banger({"--home", home.string(), "daemon", "status"}, env);
  }
  std::vector<fs::path> tickets() const {
    std::vector<fs::path> out;
    if (fs::exists(runtime / "banger" / "tls"))
      for (const auto& entry : fs::directory_iterator(runtime / "banger" / "tls"))
        out.push_back(entry.path());
    return out;
  }
  /// Whether a connection offering `ticket` resumes.
  bool resumes_with(const fs::path& ticket) const {
    std::ifstream in(ticket, std::ios::binary);
    std::string der((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto* p = reinterpret_cast<const unsigned char*>(der.data());
    SSL_SESSION* session = d2i_SSL_SESSION(nullptr, &p, static_cast<long>(der.size()));
    if (session == nullptr)
      return false;
    test::RawTls conn(tls_files(HomeLayout{home}, TlsRole::client), port, session);
    SSL_SESSION_free(session);
    return conn.resumed() && conn.greeted_within(5s);
  }
};

} // namespace

TEST_CASE("the CLI keeps its TLS ticket for the next call, and a bad one costs a full handshake") {
  if (!have_daemon)
    BANGER_SKIP("bangerd is not part of this build");
  Daemon daemon;
  // The start-up calls above already left the ticket.
  auto tickets = daemon.tickets();
  REQUIRE(tickets.size() == 1);
  auto ticket = tickets.front();
  struct stat st{};
  REQUIRE(::stat(ticket.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  REQUIRE(::stat(ticket.parent_path().c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);
  CHECK(daemon.resumes_with(ticket));

  SUBCASE("a damaged ticket is replaced, and tickets past their lifetime are removed") {
    std::ofstream(ticket, std::ios::binary | std::ios::trunc) << "not a TLS session";
    auto expired = ticket.parent_path() / "ticket-0000000000000000";
    std::ofstream(expired) << "old";
    fs::last_write_time(expired, fs::file_time_type::clock::now() - std::chrono::hours(2));
    auto r = daemon.call();
    CHECK_MESSAGE(r.exit_code == 0, r.err);
    CHECK(daemon.resumes_with(ticket));
    CHECK_FALSE(fs::exists(expired));
  }
  SUBCASE("a restarted daemon's client gets a new ticket") {
    daemon.restart(); // its own start-up calls offer the old ticket
    CHECK(daemon.resumes_with(ticket));
    auto r = daemon.call();
    CHECK_MESSAGE(r.exit_code == 0, r.err);
  }
  SUBCASE("BANGER_TLS_RESUME=0 keeps none") {
    fs::remove(ticket);
    auto r = daemon.call({"BANGER_TLS_RESUME=0"});
    CHECK_MESSAGE(r.exit_code == 0, r.err);
    CHECK(daemon.tickets().empty());
  }
}
