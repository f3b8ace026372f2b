// A real guest reached the way a new user reaches it, all through the
// banger binary: `image build` (which records that the image has SSH),
// `vm create --start` (which therefore waits for SSH), `vm ssh` right
// after, ssh's own -L forwarding, `vm cp` in and out, and `vm start
// --no-wait` returning while the guest still boots, after which `vm ssh`
// waits for it. Two boots of one QEMU guest (TCG). Root only.
#include "tests/cli/cli_run.hpp"
#include "tests/support/host_fixture.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

using namespace banger;
using namespace banger::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The first bytes a TCP peer sends within `timeout`, "" if none (refused,
// closed, silent).
std::string first_bytes(const std::string& ip, std::uint16_t port,
                        std::chrono::milliseconds timeout) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval tv{static_cast<time_t>(timeout.count() / 1000),
             static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  ::inet_pton(AF_INET, ip.c_str(), &addr.sin_addr);
  std::string got;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    char buf[64];
    auto n = ::read(fd, buf, sizeof buf);
    if (n > 0)
      got.assign(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return got;
}

std::uint16_t free_local_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

} // namespace

TEST_CASE("a built guest: create waits for SSH, ssh forwards, cp copies, --no-wait does not wait") {
  if (!test::is_root())
    BANGER_SKIP("banger-helper needs root for the bridge and taps");
  if (::access(QEMU_BIN, X_OK) != 0)
    BANGER_SKIP(QEMU_BIN " is not installed");
  Host host(HostOptions{{"vmm.kind=qemu", "vmm.qemu-bin=" QEMU_BIN, "vmm.boot-timeout=120s",
                         "vmm.stop-grace=30s", "vmm.kill-grace=10s"},
                        {}});
  host.start_helper();
  host.start_daemon();
  host.wait_ready();
  auto banger = [&](std::vector<std::string> args, std::chrono::milliseconds deadline = 180s) {
    args.insert(args.begin(), {"--home", host.home()});
    return run_banger(args, {}, deadline);
  };
  const std::vector<std::string> batch{"-o", "BatchMode=yes", "-o", "ConnectTimeout=10"};
  auto ssh = [&](std::vector<std::string> words) {
    std::vector<std::string> args{"vm", "ssh", "s"};
    args.insert(args.end(), batch.begin(), batch.end());
    args.insert(args.end(), words.begin(), words.end());
    return banger(args);
  };

  // The image the way a user makes it; it records that its guest has SSH.
  auto built = banger({"image", "build", "deb", "--vmm", "qemu"}, 300s);
  REQUIRE_MESSAGE(built.exit_code == 0, built.err);
  auto image = json::parse(banger({"-o", "json", "image", "show", "deb"}).out);
  CHECK(image["ssh"] == true);

  {
    INFO("a kernel QEMU cannot load fails the start with QEMU's own words");
    auto junk = fs::path(host.home()).parent_path() / "not-a-kernel";
    std::ofstream(junk) << "not a kernel\n";
    auto added = banger({"image", "add", "junk", "--kernel", junk.string(), "--rootfs",
                         image["rootfs_path"].get<std::string>()});
    REQUIRE_MESSAGE(added.exit_code == 0, added.err);
    auto made = banger({"vm", "create", "--image", "junk", "--name", "j", "--memory", "128"});
    REQUIRE_MESSAGE(made.exit_code == 0, made.err);
    auto started = banger({"vm", "start", "j"});
    CHECK(started.exit_code == 1);
    CHECK_MESSAGE(started.err.find("invalid kernel header") != std::string::npos, started.err);
    CHECK(started.err.find("Connection reset") == std::string::npos);
    CHECK(eventually([&] { return host.vmm_pids().empty(); }));
    CHECK(banger({"vm", "rm", "j"}).exit_code == 0);
    CHECK(banger({"image", "rm", "junk"}).exit_code == 0);
  }

  // No --wait: the image's SSH makes create wait, so ssh works at once.
  auto created = banger({"vm", "create", "--image", "deb", "--name", "s", "--memory", "256",
                         "--start"});
  REQUIRE_MESSAGE(created.exit_code == 0, created.err);
  auto vm = json::parse(banger({"-o", "json", "vm", "show", "s"}).out);
  CHECK(vm["boot"]["guest_ready_us"].get<std::int64_t>() > 0);
  std::string guest_ip = vm["guest_ip"];
  MESSAGE("create --start to SSH ready: " << created.elapsed.count() << " ms");
  auto now = ssh({"--", "true"});
  CHECK_MESSAGE(now.exit_code == 0, now.err);

  // Checks in sequence, not SUBCASEs: doctest would boot the guest again
  // for each one.
  {
    INFO("-L forwards a local port to the guest");
    auto port = free_local_port();
    auto forward = Child::spawn({BANGER_BIN, "--home", host.home(), "vm", "ssh", "s", "-o",
                                 "BatchMode=yes", "-o", "ExitOnForwardFailure=yes", "-N", "-L",
                                 std::to_string(port) + ":127.0.0.1:22"});
    // The guest's own SSH server answers through the forward.
    std::string banner;
    bool through = eventually(
      [&] {
        banner = first_bytes("127.0.0.1", port, 2s);
        return banner.starts_with("SSH-");
      },
      60s, 100ms);
    CHECK_MESSAGE(through, "through 127.0.0.1:" << port << ": '" << banner << "'");
    forward.signal(SIGTERM);
    CHECK(forward.wait(10s));
  }

  [&] {
    INFO("vm cp copies a file in and out byte for byte, and a directory with -r");
    TempDir dir{"banger-cp"};
    std::string bytes(200 * 1024, '\0');
    std::mt19937 rng(42);
    for (auto& c : bytes)
      c = static_cast<char>(rng());
    auto in = fs::path(dir.path()) / "in.bin";
    std::ofstream(in, std::ios::binary) << bytes;
    auto has_server = ssh({"--", "test -x /usr/lib/sftp-server || command -v scp"});
    auto to = banger({"vm", "cp", in.string(), "s:/tmp/in.bin"});
    if (has_server.exit_code != 0) {
      // A guest with neither SFTP nor scp: the failure says what is missing.
      CHECK(to.exit_code != 0);
      CHECK_MESSAGE(to.err.find("neither an SFTP server nor scp") != std::string::npos, to.err);
      MESSAGE("this image has no SFTP server or scp: the copy itself is not checked");
      return;
    }
    REQUIRE_MESSAGE(to.exit_code == 0, to.err);
    auto out = fs::path(dir.path()) / "out.bin";
    auto from = banger({"vm", "cp", "s:/tmp/in.bin", out.string()});
    REQUIRE_MESSAGE(from.exit_code == 0, from.err);
    CHECK(slurp(out) == bytes);
    fs::create_directories(fs::path(dir.path()) / "tree" / "sub");
    std::ofstream(fs::path(dir.path()) / "tree" / "sub" / "leaf") << "leaf\n";
    auto tree = banger({"vm", "cp", "-r", (fs::path(dir.path()) / "tree").string(), "s:/tmp/"});
    REQUIRE_MESSAGE(tree.exit_code == 0, tree.err);
    CHECK(ssh({"--", "cat /tmp/tree/sub/leaf"}).out == "leaf\n");
  }();

  {
    INFO("--no-wait returns while the guest boots; vm ssh then waits for it");
    REQUIRE(banger({"vm", "stop", "s"}).exit_code == 0);
    auto started = banger({"vm", "start", "--no-wait", "s"});
    REQUIRE_MESSAGE(started.exit_code == 0, started.err);
    // Seconds of boot are left under TCG: nothing answers on port 22 yet.
    CHECK(first_bytes(guest_ip, 22, 500ms).empty());
    auto waited = ssh({"--", "true"});
    CHECK_MESSAGE(waited.exit_code == 0, waited.err);
    MESSAGE("vm ssh after start --no-wait: " << waited.elapsed.count() << " ms");
  }

  CHECK(banger({"vm", "rm", "s"}).exit_code == 0);
}
