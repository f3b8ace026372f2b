// One settings table: what `banger init --set` accepts, bangerd and
// banger-helper accept, and what init refuses they refuse, each checked with
// the real binaries reading the same home. Regression tests for the drift of
// issue 13: rootfs.strategy=copy (init wrote it, the helper knew only
// sparse-copy), bridge names init accepted and the helper rejected, and three
// subnet parsers with three rule sets.
#include "tests/cli/cli_run.hpp"
#include "tests/support/process.hpp"

#include <doctest/doctest.h>

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

using namespace banger;
using banger::test::run_banger;
namespace fs = std::filesystem;

#if defined(BANGERD_BIN) && defined(BANGER_HELPER_BIN)

namespace {

std::string slurp(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

// A port N with N+1 also free (init --port N gives the helper N+1).
int free_port_pair() {
  for (int attempt = 0; attempt < 50; ++attempt) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    int port = ntohs(addr.sin_port);
    ::close(fd);
    if (port >= 65535)
      continue;
    int next = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    addr.sin_port = htons(static_cast<std::uint16_t>(port + 1));
    bool ok = ::bind(next, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    ::close(next);
    if (ok)
      return port;
  }
  FAIL("no free pair of loopback ports");
  return 0;
}

enum class Verdict { accepted, refused };

// Starts `binary` on `home` with `flags` and reports whether it got past
// reading its configuration: refused when it exits saying "bad
// configuration"; accepted when it serves (or, for the helper run by a
// non-root user, stops at the root check, which comes after the
// configuration). The process is stopped either way.
Verdict start(const std::string& binary, const fs::path& home,
              const std::vector<std::string>& flags, std::string& log) {
  auto err = home / ("stderr-" + std::to_string(::getpid()) + "-" +
                     fs::path(binary).filename().string());
  fs::remove(err);
  std::vector<std::string> argv{binary, "--home", home.string()};
  argv.insert(argv.end(), flags.begin(), flags.end());
  auto child = test::Child::spawn(argv, {}, err.string());
  bool decided = test::eventually(
    [&] {
      log = slurp(err);
      return log.find("serving") != std::string::npos ||
             log.find("bad configuration") != std::string::npos ||
             log.find("must run as root") != std::string::npos || !child.running();
    },
    std::chrono::seconds(20));
  log = slurp(err);
  child.signal(SIGTERM);
  (void)child.wait(std::chrono::seconds(10));
  REQUIRE_MESSAGE(decided, binary << " neither served nor failed: " << log);
  if (log.find("bad configuration") != std::string::npos)
    return Verdict::refused;
  REQUIRE_MESSAGE((log.find("serving") != std::string::npos ||
                   log.find("must run as root") != std::string::npos),
                  binary << " failed for another reason: " << log);
  return Verdict::accepted;
}

// A home made by the real `banger init` on free ports.
struct Home {
  test::TempDir tmp;
  fs::path path = fs::path(tmp.path()) / "home";

  Home() {
    auto r = run_banger({"--home", path.string(), "init", "--port",
                         std::to_string(free_port_pair())});
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  }
};

// `banger init --set KEY=VALUE` on a fresh home, through the binary.
test::RunResult init_with(const fs::path& home, const std::string& assignment) {
  return run_banger({"--home", home.string(), "init", "--port",
                     std::to_string(free_port_pair()), "--set", assignment});
}

// What init, bangerd and banger-helper each say about KEY=VALUE.
struct Verdicts {
  Verdict init, daemon, helper;
  std::string why;
};

Verdicts verdicts(const Home& home, const std::string& key, const std::string& value) {
  Verdicts out{};
  test::TempDir tmp;
  auto fresh = fs::path(tmp.path()) / "fresh";
  auto r = init_with(fresh, key + "=" + value);
  out.init = r.exit_code == 0 ? Verdict::accepted : Verdict::refused;
  out.why = "init: " + r.err;
  // The daemons read the value the way init writes it when it accepted it,
  // and as a --KEY=VALUE flag on a good home when it did not.
  std::vector<std::string> flags;
  fs::path target = home.path;
  if (out.init == Verdict::accepted)
    target = fresh;
  else
    flags = {"--" + key + "=" + value};
  std::string log;
  out.daemon = start(BANGERD_BIN, target, flags, log);
  out.why += "\nbangerd: " + log;
  out.helper = start(BANGER_HELPER_BIN, target, flags, log);
  out.why += "\nbanger-helper: " + log;
  return out;
}

} // namespace

TEST_CASE("banger init refuses rootfs.strategy=copy, naming the strategies the helper knows") {
  test::TempDir tmp;
  auto home = fs::path(tmp.path()) / "home";
  auto r = init_with(home, "rootfs.strategy=copy");
  CHECK(r.exit_code != 0);
  CHECK(r.err.find("rootfs.strategy: 'copy' is not one of auto, reflink, dm-snapshot, "
                   "sparse-copy") != std::string::npos);
  CHECK_FALSE(fs::exists(home / "banger.conf"));
}

TEST_CASE("every rootfs strategy banger init writes, bangerd and banger-helper accept") {
  Home home;
  for (std::string strategy : {"auto", "reflink", "dm-snapshot", "sparse-copy", "copy"}) {
    CAPTURE(strategy);
    auto v = verdicts(home, "rootfs.strategy", strategy);
    CAPTURE(v.why);
    CHECK(v.init == v.helper);
    CHECK(v.init == v.daemon);
  }
}

TEST_CASE("banger init refuses the bridge names banger-helper rejects, and only those") {
  Home home;
  for (std::string bridge : {"banger0", "br-test", "abcdefghijklmno", "Br0", "br_0", "br.0",
                             "-br0", "abcdefghijklmnop"}) {
    CAPTURE(bridge);
    auto v = verdicts(home, "network.bridge", bridge);
    CAPTURE(v.why);
    CHECK(v.init == v.helper);
    CHECK(v.init == v.daemon);
  }
  test::TempDir tmp;
  auto r = init_with(fs::path(tmp.path()) / "home", "network.bridge=br_0");
  CHECK(r.exit_code != 0);
  CHECK(r.err.find("[a-z0-9-]") != std::string::npos);
}

TEST_CASE("init, bangerd and banger-helper agree on every subnet") {
  // Each of these was accepted by one of the three former parsers and
  // refused by another.
  Home home;
  for (std::string subnet : {"172.30.0.0/24", "10.0.0.0/8", "198.18.4.0/30", "198.18.4.0/29",
                             "10.0.0.0/4", "127.0.0.0/8", "224.0.0.0/8", "172.030.0.0/24",
                             "172.30.0.0/31", "172.30.0.1/24"}) {
    CAPTURE(subnet);
    auto v = verdicts(home, "network.subnet", subnet);
    CAPTURE(v.why);
    CHECK(v.init == v.helper);
    CHECK(v.init == v.daemon);
  }
}

#endif
