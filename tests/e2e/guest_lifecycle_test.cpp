// A real guest through the whole of banger: banger-helper launches QEMU
// (TCG here: this host's KVM is paravirtualized), bangerd drives it over QMP,
// the image comes from banger-image-build, and the user's commands are the
// real `banger` binary. What a user would notice is checked: SSH works, a
// stop is the guest's clean power-off (not the timeout), kill and restart do
// what they say, a changed host key is refused, and delete leaves nothing.
#include "tests/cli/cli_run.hpp"
#include "tests/e2e/guest_image.hpp"
#include "tests/support/host_fixture.hpp"

#include <doctest/doctest.h>

#include <dirent.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

using namespace banger;
using namespace banger::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

/// QEMU processes started for this home (the fixture's vmm_pids() knows
/// only Firecracker's command line).
int qemu_processes(const std::string& home) {
  int count = 0;
  DIR* proc = ::opendir("/proc");
  while (auto* entry = proc ? ::readdir(proc) : nullptr) {
    if (std::atoi(entry->d_name) <= 0)
      continue;
    auto cmdline = slurp(fs::path("/proc") / entry->d_name / "cmdline");
    auto stat = slurp(fs::path("/proc") / entry->d_name / "stat");
    bool zombie = stat.rfind(") Z") != std::string::npos;
    auto argv0 = cmdline.substr(0, cmdline.find('\0'));
    if (!zombie && argv0.find("qemu-system") != std::string::npos
        && cmdline.find(home + "/") != std::string::npos)
      ++count;
  }
  if (proc)
    ::closedir(proc);
  return count;
}

Result<VmRecord> act(Host& host, VmAction action, bool wait = false, std::string signal = {}) {
  VmActionRequest req;
  req.ref = "g";
  req.action = action;
  req.wait = wait;
  req.signal = std::move(signal);
  return host.ask<VmRecord>(req, 180s);
}

RunResult ssh(Host& host, const std::string& command) {
  return run_banger({"--home", host.home(), "vm", "ssh", "g", "-o", "BatchMode=yes", "-o",
                     "ConnectTimeout=10", "--", command},
                    {}, 60s);
}

} // namespace

TEST_CASE("a real guest: ssh, graceful stop, restart, changed host key, kill, delete") {
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
  build_deb_image(host);

  // Create and start, waiting until the guest's SSH port answers.
  VmCreateRequest create;
  create.spec.name = "g";
  create.spec.image = "deb";
  create.spec.memory_mib = 256;
  create.spec.start = true;
  create.spec.wait = true;
  auto vm = host.ask<VmRecord>(create, 180s);
  REQUIRE_MESSAGE(vm.ok(), (vm.ok() ? "" : vm.error().message));
  CHECK(vm->runtime.state == VmState::running);
  auto& boot = vm->runtime.boot;
  MESSAGE("boot: spawned " << boot.vmm_spawned_us / 1000 << " ms, configured "
                           << boot.configured_us / 1000 << " ms, started "
                           << boot.instance_started_us / 1000 << " ms, guest ready "
                           << boot.guest_ready_us / 1000 << " ms");
  CHECK(boot.vmm_spawned_us > 0);
  CHECK(boot.instance_started_us >= boot.configured_us);
  CHECK(boot.guest_ready_us > boot.instance_started_us);
  CHECK(qemu_processes(host.home()) == 1);
  auto console = fs::path(vm->runtime.log_path);

  // A command in the guest over SSH; the first connection pins the host key.
  auto uname = ssh(host, "uname -a");
  INFO("vm ssh stderr: " << uname.err);
  REQUIRE(uname.exit_code == 0);
  CHECK(uname.out.find("Linux") == 0);
  auto known_hosts = fs::path(host.home()) / "state" / "known_hosts";
  CHECK(slurp(known_hosts).find(vm->runtime.guest_ip + " ") == 0);

  // Restart: a graceful stop (the guest powers itself off), then a new boot
  // that keeps its host key.
  auto restarted = act(host, VmAction::restart, true);
  REQUIRE_MESSAGE(restarted.ok(), (restarted.ok() ? "" : restarted.error().message));
  CHECK(restarted->runtime.state == VmState::running);
  CHECK(restarted->runtime.last_stop == StopRung::graceful);
  CHECK(restarted->runtime.pid != vm->runtime.pid);
  CHECK(ssh(host, "true").exit_code == 0);

  // Stop: QMP's power button, the guest's init powers off, QEMU exits by
  // itself well inside the grace period.
  auto stopped = act(host, VmAction::stop);
  REQUIRE_MESSAGE(stopped.ok(), (stopped.ok() ? "" : stopped.error().message));
  CHECK(stopped->runtime.state == VmState::stopped);
  CHECK(stopped->runtime.last_stop == StopRung::graceful);
  auto log = slurp(console);
  CHECK(log.find("banger-guest: powering off") != std::string::npos);
  CHECK(log.find("reboot: Power down") != std::string::npos);
  CHECK(qemu_processes(host.home()) == 0);
  CHECK_FALSE(host.tap_exists(vm->id));

  // A guest whose host key is not the pinned one is refused, with the reason.
  auto pins = slurp(known_hosts);
  auto key_start = pins.find("ssh-ed25519 ");
  REQUIRE(key_start != std::string::npos);
  std::string forged = pins.substr(0, key_start)
                       + "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBaAIYtZobX8LzkoDSxdngM3czKzwSzmSvft2rzK4VKy\n";
  std::ofstream(known_hosts, std::ios::trunc) << forged;
  REQUIRE(act(host, VmAction::start, true).ok());
  auto refused = ssh(host, "true");
  CHECK(refused.exit_code == 255);
  CHECK(refused.err.find("host key differs") != std::string::npos);

  // Kill: a signal, recorded as such.
  auto killed = act(host, VmAction::kill, false, "TERM");
  REQUIRE_MESSAGE(killed.ok(), (killed.ok() ? "" : killed.error().message));
  CHECK(killed->runtime.state == VmState::stopped);
  CHECK(killed->runtime.last_stop == StopRung::signal);
  CHECK(qemu_processes(host.home()) == 0);

  // Delete: nothing of the VM is left, not even its host-key pin.
  REQUIRE(act(host, VmAction::remove).ok());
  CHECK_FALSE(host.tap_exists(vm->id));
  CHECK_FALSE(fs::exists(fs::path(host.home()) / "state" / "vms" / vm->id));
  CHECK_FALSE(fs::exists(fs::path(host.home()) / "run" / "vms" / vm->id));
  CHECK(slurp(known_hosts).find(vm->runtime.guest_ip) == std::string::npos);
  CHECK(qemu_processes(host.home()) == 0);
  auto show = host.ask<VmRecord>(VmShowRequest{{}, "g"});
  REQUIRE_FALSE(show.ok());
  CHECK(show.error().code == Errc::not_found);
}
