// Launching, identifying, rediscovering and signalling a VMM for real, with
// the fake VMM standing in for firecracker and qemu.
#include "privileged/host/process.hpp"
#include "privileged/host/rundir.hpp"
#include "privileged/host/tap.hpp"
#include "privileged/host/vmm_registry.hpp"
#include "tests/security/fixtures.hpp"

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <doctest/doctest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

using namespace banger;
using namespace banger::host;
namespace fs = std::filesystem;

#ifndef BANGER_FAKE_VMM
#error "BANGER_FAKE_VMM must name the fake VMM binary"
#endif

namespace {

struct Fixture {
  host_test::TestHome home;
  std::string vm = host_test::random_vm_id();
  VmmConfig config;
  host_test::ProcessGuard guard;

  Fixture() {
    config.firecracker_bin = BANGER_FAKE_VMM;
    config.qemu_bin = BANGER_FAKE_VMM;
  }

  VmmMatcher matcher() const {
    return VmmMatcher{home.layout(), config.vmm_executables()};
  }

  std::string log() const {
    return host_test::read_file(home.layout().vm_log(vm));
  }

  bool log_has(const std::string& text) const {
    return test::eventually(
        [&] { return log().find(text) != std::string::npos; });
  }

  Result<LaunchedVmm> launch(LaunchRequest request) {
    request.vm_id = vm;
    auto kernel = host_test::write_vm_files(home.layout(), vm);
    if (request.kernel.empty())
      request.kernel = kernel;
    auto spec = validate_launch(request, home.layout(), config);
    REQUIRE(spec);
    auto vmm = launch_vmm(*spec, home.layout());
    if (vmm)
      guard.reset(vmm->identity.pid);
    return vmm;
  }

  Result<LaunchedVmm> launch_firecracker() {
    REQUIRE(create_run_dir(home.layout(), vm, host_test::self_owner()));
    return launch(LaunchRequest{});
  }
};

/// Scoped environment variable: VMMs inherit the helper's environment.
struct EnvGuard {
  std::string name;
  EnvGuard(std::string n, const std::string& value) : name(std::move(n)) {
    ::setenv(name.c_str(), value.c_str(), 1);
  }
  ~EnvGuard() { ::unsetenv(name.c_str()); }
};

void bind_stale_socket(const fs::path& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  ::close(fd); // the socket file stays, nobody listens: stale
}

} // namespace

TEST_CASE("a launched firecracker gets its argv, a clean process state and "
          "the helper's environment") {
  Fixture f;
  EnvGuard env("BANGER_FAKE_VMM_ECHO", "from-the-helper");
  auto vmm = f.launch_firecracker();
  REQUIRE(vmm);
  CHECK(vmm->pidfd.valid());
  CHECK(vmm->argv ==
        std::vector<std::string>{BANGER_FAKE_VMM, "--api-sock",
                                 f.home.layout().vm_api_socket(f.vm).string(),
                                 "--id", f.vm});
  REQUIRE(f.log_has("fake-vmm: ready"));
  auto log = f.log();
  CHECK(log.find("[--api-sock] [" +
                 f.home.layout().vm_api_socket(f.vm).string() + "] [--id] [" +
                 f.vm + "]") != std::string::npos);
  CHECK(log.find("fake-vmm: sigchld=default") != std::string::npos);
  CHECK(log.find("fake-vmm: sigmask=empty") != std::string::npos);
  CHECK(log.find("fake-vmm: echo=from-the-helper") != std::string::npos);
  // Only stdin, stdout and stderr are inherited.
  CHECK(log.find("fake-vmm: fds=0,1,2\n") != std::string::npos);
  // A session of its own: sid == pid.
  auto pid = std::to_string(vmm->identity.pid);
  CHECK(log.find("sid=" + pid + " pid=" + pid) != std::string::npos);
  CHECK(fs::is_socket(f.home.layout().vm_api_socket(f.vm)));
  struct stat st {};
  REQUIRE(::stat(f.home.layout().vm_log(f.vm).c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0640);
  auto identity = read_identity(vmm->identity.pid);
  REQUIRE(identity);
  CHECK(*identity == vmm->identity);
}

TEST_CASE("a launched VMM is recognised, rediscovered and signalled") {
  Fixture f;
  auto vmm = f.launch_firecracker();
  REQUIRE(vmm);
  REQUIRE(f.log_has("fake-vmm: ready"));
  auto identity = vmm->identity;
  CHECK(verify_banger_vmm(identity, f.vm, f.matcher()));

  auto found = rediscover(f.matcher());
  REQUIRE(found);
  CHECK(std::count(found->begin(), found->end(), VmmEntry{identity, f.vm, nullptr}) ==
        1);
  // Adopted with a pidfd of its own, opened before it was verified.
  for (const auto& entry : *found)
    if (entry.identity == identity)
      CHECK((entry.pidfd && entry.pidfd->valid()));
  LaunchedVmms launched;
  launched.replace_all(*found);
  CHECK(launched.contains(identity, f.vm));

  auto usr1 = signal_vmm(identity, f.vm, "SIGUSR1", launched, f.matcher());
  REQUIRE(usr1);
  CHECK(*usr1 == SIGUSR1);
  CHECK(f.log_has("fake-vmm: got USR1"));

  // Without the registry the process checks alone must admit it.
  LaunchedVmms empty;
  REQUIRE(signal_vmm(identity, f.vm, "term", empty, f.matcher()));
  int status = f.guard.wait_exit();
  REQUIRE(status != -1);
  CHECK(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGTERM);
  CHECK(launched.prune() == 1);
}

TEST_CASE("another home's rediscovery does not claim this home's VMM") {
  Fixture f;
  auto vmm = f.launch_firecracker();
  REQUIRE(vmm);
  host_test::TestHome other;
  auto found =
      rediscover(VmmMatcher{other.layout(), f.config.vmm_executables()});
  REQUIRE(found);
  for (const auto& entry : *found)
    CHECK(entry.identity != vmm->identity);
}

TEST_CASE("a stale API socket is removed before launch; the log is appended") {
  Fixture f;
  REQUIRE(create_run_dir(f.home.layout(), f.vm, host_test::self_owner()));
  bind_stale_socket(f.home.layout().vm_api_socket(f.vm));
  auto first = f.launch(LaunchRequest{});
  REQUIRE(first);
  REQUIRE(f.log_has("fake-vmm: listening on"));
  ::kill(first->identity.pid, SIGKILL);
  REQUIRE(f.guard.wait_exit() != -1);

  auto second = f.launch(LaunchRequest{});
  REQUIRE(second);
  REQUIRE(test::eventually([&] {
    auto log = f.log();
    std::size_t count = 0;
    for (auto pos = log.find("fake-vmm: ready"); pos != std::string::npos;
         pos = log.find("fake-vmm: ready", pos + 1))
      ++count;
    return count == 2;
  }));
}

TEST_CASE("a VMM runs as the configured VMM user") {
  BANGER_REQUIRE_ROOT();
  Fixture f;
  // The fake VMM binds its socket by path: the home must be traversable.
  fs::permissions(f.home.base(), fs::perms(0755));
  fs::permissions(f.home.layout().home(), fs::perms(0755));
  Ownership nobody{65534, 65534};
  f.config.vmm_user = nobody;
  REQUIRE(create_run_dir(f.home.layout(), f.vm, nobody));
  auto vmm = f.launch(LaunchRequest{});
  REQUIRE(vmm);
  REQUIRE(f.log_has("fake-vmm: ready"));
  CHECK(f.log().find("uid=65534 gid=65534") != std::string::npos);
  CHECK(fs::is_socket(f.home.layout().vm_api_socket(f.vm)));
  struct stat st {};
  REQUIRE(::stat(f.home.layout().vm_log(f.vm).c_str(), &st) == 0);
  CHECK(st.st_uid == 65534);
}

TEST_CASE("an exec failure is an error naming execve and errno") {
  Fixture f;
  REQUIRE(create_run_dir(f.home.layout(), f.vm, host_test::self_owner()));
  f.config.firecracker_bin = f.home.base() / "no-such-vmm";
  auto missing = f.launch(LaunchRequest{});
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code == Errc::system);
  CHECK(missing.error().message.find("execve") != std::string::npos);
  CHECK(missing.error().message.find("no-such-vmm") != std::string::npos);

  host_test::write_file(f.home.base() / "not-executable", "#!/bin/sh\n");
  f.config.firecracker_bin = f.home.base() / "not-executable";
  auto denied = f.launch(LaunchRequest{});
  REQUIRE_FALSE(denied);
  CHECK(denied.error().message.find("execve") != std::string::npos);
}

TEST_CASE("launch needs the run dir") {
  Fixture f;
  auto uut = f.launch(LaunchRequest{});
  REQUIRE_FALSE(uut);
  CHECK(uut.error().code == Errc::not_found);
}

TEST_CASE("a qemu launch passes the argv built for it") {
  Fixture f;
  host_test::write_file(f.home.layout().images_dir() / "vmlinux", "kernel");
  REQUIRE(create_run_dir(f.home.layout(), f.vm, host_test::self_owner()));
  LaunchRequest request;
  request.kind = VmmKind::qemu;
  request.kernel = "vmlinux";
  request.tap = tap_name(f.vm);
  request.mac = "02:fc:00:00:00:02";
  request.boot_args = "console=ttyS0 reboot=k";
  auto vmm = f.launch(request);
  REQUIRE(vmm);
  REQUIRE(f.log_has("fake-vmm: ready"));
  std::string expected = "fake-vmm: argv";
  for (const auto& arg : vmm->argv)
    expected += " [" + arg + "]";
  CHECK(f.log().find(expected + "\n") != std::string::npos);
  CHECK(verify_banger_vmm(vmm->identity, f.vm, f.matcher()));
}

TEST_CASE("the installed qemu accepts the argv banger builds") {
  BANGER_REQUIRE_ROOT();
  auto qemu = host_test::find_program("qemu-system-x86_64");
  if (qemu.empty())
    BANGER_SKIP("qemu-system-x86_64 is not installed");
  Fixture f;
  f.config.qemu_bin = qemu;
  // Not a kernel: QEMU parses every option, opens tap, disk, log and QMP,
  // then stops at the kernel header.
  host_test::write_file(f.home.layout().images_dir() / "vmlinux",
                        std::string(4096, 'k'));
  fs::create_directories(f.home.layout().vm_dir(f.vm));
  host_test::write_file(f.home.layout().vm_rootfs(f.vm),
                        std::string(1 << 20, '\0'));
  REQUIRE(create_run_dir(f.home.layout(), f.vm, host_test::self_owner()));
  std::string bridge = "bgt" + host_test::random_hex(8);
  struct Cleanup {
    std::string bridge, tap;
    ~Cleanup() {
      host_test::remove_tap_device(tap);
      (void)delete_bridge(bridge);
    }
  } cleanup{bridge, tap_name(f.vm)};
  REQUIRE(ensure_bridge(bridge, *parse_ipv4_subnet("198.19.250.0/24")));
  REQUIRE(create_tap(f.vm, tap_name(f.vm), TapScope{bridge, host_test::test_installation},
                     host_test::self_owner()));

  LaunchRequest request;
  request.kind = VmmKind::qemu;
  request.kernel = "vmlinux";
  request.tap = tap_name(f.vm);
  request.mac = "02:fc:00:00:00:02";
  request.boot_args = "console=ttyS0";
  auto vmm = f.launch(request);
  REQUIRE(vmm);
  int status = f.guard.wait_exit(std::chrono::seconds(30));
  REQUIRE(status != -1);
  CHECK(WIFEXITED(status));
  CHECK(f.log().find("invalid kernel header") != std::string::npos);
  MESSAGE("qemu said: " << f.log());
}
