// A real guest, end to end without the daemon: banger-image-build makes an
// image into a temporary home, QEMU boots it (TCG) with the argv
// banger-helper builds, the guest announces readiness on its serial log,
// answers SSH, powers off cleanly on QMP's system_powerdown, and keeps its
// SSH host key across a second boot. Needs root (bridge and tap); skipped
// with a message otherwise.
#include "tests/support/process.hpp"

#include "privileged/host/accel.hpp"

#include <doctest/doctest.h>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using banger::test::Child;
using banger::test::eventually;
using banger::test::TempDir;

namespace {

// Names no banger home uses (its taps are tap-fc-<8 hex digits of a VM id>).
constexpr const char* bridge = "bimg0";
constexpr const char* tap = "tap-fc-deadbeef";
constexpr const char* gateway = "10.213.251.1";
constexpr const char* guest_ip = "10.213.251.2";

std::string find_program(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/sbin:/usr/bin:/sbin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');)
    if (!dir.empty() && ::access((fs::path(dir) / name).c_str(), X_OK) == 0)
      return (fs::path(dir) / name).string();
  return {};
}

struct Run {
  int status = -1; // raw wait status; -1 if it did not finish in time
  std::string out;
  bool ok() const { return status == 0; }
};

// Runs argv to completion (stdout collected, stderr inherited).
Run run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout = 30s) {
  auto child = Child::spawn(argv);
  child.close_stdin();
  Run result;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (auto line = child.read_line(
           std::chrono::duration_cast<std::chrono::milliseconds>(
             deadline - std::chrono::steady_clock::now())))
    result.out += *line + "\n";
  if (auto status = child.wait(1s))
    result.status = *status;
  return result;
}

std::string slurp(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string tail(const std::string& text, std::size_t bytes = 3000) {
  return text.size() <= bytes ? text : text.substr(text.size() - bytes);
}

/// A bridge with the gateway address and one tap on it; removed on scope exit.
struct TestNetwork {
  TestNetwork() {
    teardown(); // leftovers of an interrupted run
    for (auto argv : std::vector<std::vector<std::string>>{
           {"link", "add", bridge, "type", "bridge"},
           {"addr", "add", std::string(gateway) + "/24", "dev", bridge},
           {"link", "set", bridge, "up"},
           {"tuntap", "add", "dev", tap, "mode", "tap"},
           {"link", "set", tap, "master", bridge},
           {"link", "set", tap, "up"}}) {
      argv.insert(argv.begin(), ip);
      auto r = run(argv);
      REQUIRE_MESSAGE(r.ok(), "ip " << argv[1] << " " << argv[2] << " failed");
    }
  }
  ~TestNetwork() { teardown(); }
  void teardown() {
    run({ip, "link", "del", tap});
    run({ip, "link", "del", bridge});
  }
  std::string ip = find_program("ip");
};

/// A QMP client over the VM's Unix socket.
class Qmp {
public:
  explicit Qmp(const fs::path& socket_path) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    socket_path.string().copy(addr.sun_path, sizeof addr.sun_path - 1);
    connected_ = eventually(
      [&] { return ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0; }, 10s,
      20ms);
  }
  ~Qmp() { ::close(fd_); }
  bool connected() const { return connected_; }

  /// Sends one command; the reply line (events before it are skipped).
  std::string execute(const std::string& command) {
    auto text = "{\"execute\": \"" + command + "\"}\n";
    if (::write(fd_, text.data(), text.size()) != static_cast<ssize_t>(text.size()))
      return {};
    for (;;) {
      auto line = read_line(10s);
      if (line.empty() || line.find("\"event\"") == std::string::npos)
        return line;
    }
  }

  std::string read_line(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (auto nl = buffer_.find('\n'); nl != std::string::npos) {
        auto line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        if (!line.empty() && line.back() == '\r') // QMP ends lines with CRLF
          line.pop_back();
        return line;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
      pollfd p{fd_, POLLIN, 0};
      if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0)
        return {};
      char chunk[4096];
      auto n = ::read(fd_, chunk, sizeof chunk);
      if (n <= 0)
        return {};
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }

private:
  int fd_ = -1;
  bool connected_ = false;
  std::string buffer_;
};

/// banger-helper's qemu_argv (privileged/host/vmm_argv.cpp), TCG, 1 vCPU, 256 MiB.
std::vector<std::string> qemu_argv(const std::string& qemu, const std::map<std::string, std::string>& image,
                                   const fs::path& rootfs, const fs::path& log, const fs::path& qmp) {
  std::string cmdline = std::string("console=ttyS0 reboot=k panic=1 pci=off ip=") + guest_ip
                        + "::" + gateway + ":255.255.255.0::eth0:off " + image.at("boot_args");
  // What banger-helper appends under TCG (privileged/host/accel.cpp).
  if (auto khz = banger::host::host_tsc_khz(); khz > 0)
    cmdline += " tsc_early_khz=" + std::to_string(khz);
  return {qemu, "-M", "microvm,x-option-roms=off,rtc=on", "-nodefaults", "-no-user-config",
          "-nographic", "-accel", "tcg", "-smp", "1", "-m", "256",
          "-kernel", image.at("kernel"), "-initrd", image.at("initrd"), "-append", cmdline,
          "-drive", "id=root,file=" + rootfs.string() + ",format=raw,if=none",
          "-device", "virtio-blk-device,drive=root",
          "-netdev", std::string("tap,id=net0,ifname=") + tap + ",script=no,downscript=no",
          "-device", "virtio-net-device,netdev=net0,mac=02:fc:de:ad:be:ef",
          "-chardev", "file,id=serial0,path=" + log.string() + ",append=on",
          "-serial", "chardev:serial0",
          "-qmp", "unix:" + qmp.string() + ",server=on,wait=off"};
}

} // namespace

TEST_CASE("a built image boots in QEMU, answers SSH and powers off on system_powerdown") {
  if (!banger::test::is_root())
    BANGER_SKIP("booting a guest needs root (bridge and tap)");
  auto qemu = find_program("qemu-system-x86_64");
  auto ssh = find_program("ssh");
  auto ssh_keygen = find_program("ssh-keygen");
  if (qemu.empty() || ssh.empty() || ssh_keygen.empty() || find_program("ip").empty())
    BANGER_SKIP("needs qemu-system-x86_64, ssh, ssh-keygen and ip (tools/install-deps.sh)");

  TempDir home("banger-image-e2e");
  fs::path h = home.path();
  fs::create_directories(h / "images");
  fs::create_directories(h / "state" / "ssh");
  auto key = h / "state" / "ssh" / "id_ed25519";
  REQUIRE(run({ssh_keygen, "-q", "-t", "ed25519", "-N", "", "-f", key.string()}).ok());

  // The .deb cache is the user's default one: only the first run downloads.
  auto build_started = std::chrono::steady_clock::now();
  auto build = run({IMAGE_BUILDER, "--home", h.string(), "--name", "e2e", "--vmm", "qemu"}, 300s);
  REQUIRE_MESSAGE(build.ok(), "banger-image-build failed; its messages are above");
  auto build_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - build_started);
  MESSAGE("image built in " << build_s.count() << " s");
  std::map<std::string, std::string> image;
  std::stringstream lines(build.out);
  for (std::string line; std::getline(lines, line);)
    if (auto eq = line.find('='); eq != std::string::npos)
      image[line.substr(0, eq)] = line.substr(eq + 1);
  for (auto k : {"kernel", "initrd", "rootfs", "boot_args"})
    REQUIRE_MESSAGE(!image[k].empty(), "the builder printed no " << k << "=");
  for (auto k : {"kernel", "initrd", "rootfs"})
    CHECK(fs::path(image[k]).parent_path() == h / "images" / "e2e");

  TestNetwork network;
  auto known_hosts = h / "known_hosts";
  auto ssh_argv = [&](const std::string& checking, const std::string& command) {
    return std::vector<std::string>{ssh, "-i", key.string(),
                                    "-o", "UserKnownHostsFile=" + known_hosts.string(),
                                    "-o", "StrictHostKeyChecking=" + checking,
                                    "-o", "BatchMode=yes", "-o", "ConnectTimeout=5",
                                    "-o", "LogLevel=ERROR",
                                    std::string("root@") + guest_ip, command};
  };

  // Two boots of the same rootfs: the first makes the host key, the second
  // must present the same one (StrictHostKeyChecking=yes).
  for (std::string checking : {"accept-new", "yes"}) {
    CAPTURE(checking);
    auto log = h / ("vmm-" + checking + ".log");
    auto qmp_socket = h / "qmp.sock";
    fs::remove(qmp_socket);
    auto started = std::chrono::steady_clock::now();
    auto vm = Child::spawn(qemu_argv(qemu, image, image["rootfs"], log, qmp_socket), {},
                           (h / "qemu.stderr").string());

    bool ready = eventually(
      [&] { return slurp(log).find("banger-guest: ready") != std::string::npos || !vm.running(); },
      90s, 50ms);
    REQUIRE_MESSAGE(vm.running(), "qemu exited during boot:\n" << tail(slurp(log)) << "\n"
                                                               << slurp(h / "qemu.stderr"));
    REQUIRE_MESSAGE(ready, "no readiness line within 90 s:\n" << tail(slurp(log)));
    auto ready_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started);
    MESSAGE("boot to 'banger-guest: ready': " << ready_s.count() << " s");

    Run uname;
    bool answered = eventually(
      [&] {
        uname = run(ssh_argv(checking, "uname -a"), 20s);
        return uname.ok();
      },
      30s, 200ms);
    REQUIRE_MESSAGE(answered, "ssh root@" << guest_ip << " failed:\n" << tail(slurp(log)));
    CHECK(uname.out.find("Linux banger ") == 0);
    CHECK(uname.out.find("x86_64") != std::string::npos);

    Qmp qmp(qmp_socket);
    REQUIRE(qmp.connected());
    CHECK(qmp.read_line(5s).find("\"QMP\"") != std::string::npos);
    CHECK(qmp.execute("qmp_capabilities") == "{\"return\": {}}");
    auto powerdown_started = std::chrono::steady_clock::now();
    CHECK(qmp.execute("system_powerdown") == "{\"return\": {}}");
    auto status = vm.wait(30s);
    REQUIRE_MESSAGE(status.has_value(), "qemu still runs 30 s after system_powerdown:\n"
                                          << tail(slurp(log)));
    CHECK_MESSAGE(WIFEXITED(*status), "qemu was killed, not powered off");
    CHECK(WEXITSTATUS(*status) == 0);
    auto off_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - powerdown_started);
    MESSAGE("system_powerdown to qemu exit: " << off_s.count() << " s");
    auto text = slurp(log);
    CHECK(text.find("banger-guest: powering off") != std::string::npos);
    CHECK(text.find("reboot: Power down") != std::string::npos);
    // A clean power-off leaves nothing for the journal to replay.
    CHECK(text.find("recovery complete") == std::string::npos);
  }
}
