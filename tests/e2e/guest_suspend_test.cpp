// Pause, resume, suspend and the start of a suspended VM with a real guest
// under QEMU (TCG), driven through bangerd and banger-helper, the guest
// reached with `banger vm ssh`. What a user would notice: a process in the
// guest keeps counting across a pause and across a suspend, its wall clock
// is right again after a long pause, a suspended VM has no VMM left, and its
// start carries on where the guest was (its uptime continues, its SSH host
// key is the pinned one) instead of booting it; a snapshot, a file written
// after it, and a restore: the file is gone; the daemon SIGKILLed in the
// middle of a suspend and of a restore leaves the state before or after.
#include "tests/cli/cli_run.hpp"
#include "tests/e2e/guest_image.hpp"
#include "tests/support/host_fixture.hpp"

#include <doctest/doctest.h>

#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

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

/// Live QEMU processes started for this home.
std::vector<int> qemu_pids(const std::string& home) {
  std::vector<int> pids;
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
      pids.push_back(std::atoi(entry->d_name));
  }
  if (proc)
    ::closedir(proc);
  return pids;
}

int qemu_processes(const std::string& home) {
  return static_cast<int>(qemu_pids(home).size());
}

Result<VmRecord> act(Host& host, VmAction action, bool wait = false) {
  VmActionRequest req;
  req.ref = "g";
  req.action = action;
  req.wait = wait;
  return host.ask<VmRecord>(req, 180s);
}

RunResult ssh(Host& host, const std::string& command) {
  return run_banger({"--home", host.home(), "vm", "ssh", "g", "-o", "BatchMode=yes", "-o",
                     "ConnectTimeout=10", "--", command},
                    {}, 60s);
}

/// A number the guest prints (its counter, its uptime in whole seconds).
long guest_number(Host& host, const std::string& command) {
  auto r = ssh(host, command);
  INFO("vm ssh " << command << ": " << r.err);
  REQUIRE(r.exit_code == 0);
  return std::stol(r.out);
}

long counter(Host& host) {
  return guest_number(host, "cat /tmp/counter");
}

long uptime_s(Host& host) {
  return guest_number(host, "cut -d. -f1 /proc/uptime");
}

/// The counter goes on past `after` (the guest's loop runs).
bool counts_past(Host& host, long after) {
  return eventually([&] { return counter(host) > after; }, 30s, 200ms);
}

bool process_exists(std::int32_t pid) {
  return pid > 0 && (::kill(pid, 0) == 0 || errno != ESRCH)
         && slurp(fs::path("/proc") / std::to_string(pid) / "stat").rfind(") Z")
              == std::string::npos;
}

} // namespace

TEST_CASE("a real guest keeps counting across a pause and a suspend, and its start resumes it") {
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

  VmCreateRequest create;
  create.spec.name = "g";
  create.spec.image = "deb";
  create.spec.memory_mib = 256;
  create.spec.start = true;
  create.spec.wait = true;
  auto vm = host.ask<VmRecord>(create, 180s);
  REQUIRE_MESSAGE(vm.ok(), (vm.ok() ? "" : vm.error().message));
  auto cold_ready_ms = vm->runtime.boot.guest_ready_us / 1000;

  // A process of the guest's own, outliving the SSH session: a counter
  // written five times a second.
  auto loop = ssh(host, "setsid sh -c 'i=0; while :; do i=$((i+1)); echo $i > /tmp/counter; "
                        "sleep 0.2; done' </dev/null >/dev/null 2>&1 &");
  INFO("vm ssh: " << loop.err);
  REQUIRE(loop.exit_code == 0);
  REQUIRE(counts_past(host, 0));
  auto known_hosts = fs::path(host.home()) / "state" / "known_hosts";
  auto pins = slurp(known_hosts);
  REQUIRE(pins.find(vm->runtime.guest_ip + " ") == 0);

  // Pause: the VMM and its memory stay, the guest does not run; show
  // answers at once.
  auto before_pause = counter(host);
  auto paused = act(host, VmAction::pause);
  REQUIRE_MESSAGE(paused.ok(), (paused.ok() ? "" : paused.error().message));
  CHECK(paused->runtime.state == VmState::paused);
  CHECK(paused->runtime.pid == vm->runtime.pid);
  CHECK(process_exists(vm->runtime.pid));
  auto show = host.ask<VmRecord>(VmShowRequest{{}, "g"}, 2s);
  REQUIRE(show.ok());
  CHECK(show->runtime.state == VmState::paused);
  // The scenario, not a synchronization: paused long enough for the
  // guest's clock (which counts no time while paused) to fall behind by
  // more than the image's 2 s tolerance.
  std::this_thread::sleep_for(5s);

  auto resumed = act(host, VmAction::resume);
  REQUIRE_MESSAGE(resumed.ok(), (resumed.ok() ? "" : resumed.error().message));
  CHECK(resumed->runtime.state == VmState::running);
  CHECK(resumed->runtime.pid == vm->runtime.pid);
  CHECK(counts_past(host, before_pause));
  CHECK(counts_past(host, counter(host)));
  // Its wall clock is set from the RTC (the host's time) again.
  CHECK(eventually([&] { return std::labs(guest_number(host, "date +%s") - ::time(nullptr)) <= 2; },
                   20s, 500ms));

  // Suspend: the state is saved in the VM's directory and the VMM ends.
  auto uptime_before = uptime_s(host);
  auto before_suspend = counter(host);
  auto suspend_started = std::chrono::steady_clock::now();
  auto suspended = act(host, VmAction::suspend);
  auto suspend_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - suspend_started)
                      .count();
  REQUIRE_MESSAGE(suspended.ok(), (suspended.ok() ? "" : suspended.error().message));
  CHECK(suspended->runtime.state == VmState::suspended);
  CHECK(suspended->runtime.pid == 0);
  CHECK_FALSE(process_exists(vm->runtime.pid));
  CHECK(qemu_processes(host.home()) == 0);
  const auto& saved = suspended->runtime.saved;
  REQUIRE_FALSE(saved.empty());
  CHECK(saved.vmm == "qemu");
  CHECK(fs::file_size(saved.state_path) == saved.size);
  // The stream holds the pages in use, not the whole 256 MiB.
  CHECK(saved.size < 256ull << 20);

  // Start: a fresh QEMU loads the state; the guest carries on.
  auto restored = act(host, VmAction::start, true);
  REQUIRE_MESSAGE(restored.ok(), (restored.ok() ? "" : restored.error().message));
  CHECK(restored->runtime.state == VmState::running);
  CHECK(restored->runtime.pid != vm->runtime.pid);
  CHECK(restored->runtime.saved.empty());
  CHECK_FALSE(fs::exists(saved.state_path));
  CHECK(qemu_processes(host.home()) == 1);
  const auto& boot = restored->runtime.boot;
  MESSAGE("256 MiB guest: suspend " << suspend_ms << " ms, state file " << (saved.size >> 10)
                                    << " KiB; restore: spawned " << boot.vmm_spawned_us / 1000
                                    << " ms, loaded " << boot.configured_us / 1000
                                    << " ms, running " << boot.instance_started_us / 1000
                                    << " ms, SSH ready " << boot.guest_ready_us / 1000
                                    << " ms (cold boot: " << cold_ready_ms << " ms)");
  CHECK(boot.configured_us > 0);
  CHECK(boot.instance_started_us >= boot.configured_us);
  CHECK(boot.guest_ready_us >= boot.instance_started_us);

  // The same guest: its processes and uptime went on (a boot would start
  // both from zero), and `vm ssh` accepted the pinned host key.
  CHECK(counter(host) >= before_suspend);
  CHECK(counts_past(host, before_suspend));
  CHECK(uptime_s(host) >= uptime_before);
  CHECK(slurp(known_hosts) == pins);
  // Booted once: the console says the guest became ready one time only.
  auto log = slurp(restored->runtime.log_path);
  auto ready = log.find("banger-guest: ready");
  REQUIRE(ready != std::string::npos);
  CHECK(log.find("banger-guest: ready", ready + 1) == std::string::npos);

  // A snapshot, then a file written (and synced to the disk), then a
  // restore: the guest is back at the snapshot's instant, memory and disk,
  // so the file is gone, and it runs on from there.
  VmActionRequest snap;
  snap.ref = "g";
  snap.action = VmAction::snapshot;
  snap.snapshot = "before-file";
  auto taken = host.ask<VmRecord>(snap, 180s);
  REQUIRE_MESSAGE(taken.ok(), (taken.ok() ? "" : taken.error().message));
  CHECK(taken->runtime.state == VmState::running);
  REQUIRE(taken->snapshots.size() == 1);
  CHECK(taken->snapshots[0].from == VmState::running);
  CHECK_FALSE(taken->snapshots[0].memory.empty());
  auto wrote = ssh(host, "echo hello > /root/after-snapshot && sync && cat /root/after-snapshot");
  REQUIRE(wrote.exit_code == 0);
  REQUIRE(wrote.out == "hello\n");
  VmActionRequest back = snap;
  back.action = VmAction::restore;
  back.wait = true;
  auto rolled = host.ask<VmRecord>(back, 180s);
  REQUIRE_MESSAGE(rolled.ok(), (rolled.ok() ? "" : rolled.error().message));
  CHECK(rolled->runtime.state == VmState::running);
  CHECK(qemu_processes(host.home()) == 1);
  auto gone = ssh(host, "test -e /root/after-snapshot && echo present || echo gone");
  REQUIRE(gone.exit_code == 0);
  CHECK(gone.out == "gone\n");
  // Its processes run on from the snapshot's instant.
  CHECK(counts_past(host, counter(host)));
  CHECK(slurp(known_hosts) == pins);
  // The snapshot stays for another restore.
  REQUIRE(rolled->snapshots.size() == 1);
  CHECK(fs::exists(rolled->snapshots[0].disk_path));

  // The daemon SIGKILLed in the middle of a suspend: QEMU is held
  // (SIGSTOP) so the suspend waits at its first step, and the kill lands
  // there. After the restart the VM is paused on record (its guest
  // possibly still running: a resume settles that), never a running
  // record of a stopped guest, and the suspend then completes.
  auto held = qemu_pids(host.home());
  REQUIRE(held.size() == 1);
  REQUIRE(::kill(held[0], SIGSTOP) == 0);
  std::thread suspender([&] { (void)act(host, VmAction::suspend); });
  REQUIRE(eventually([&] {
    auto s = host.ask<VmRecord>(VmShowRequest{{}, "g"}, 2s);
    return s.ok() && s->runtime.stage == "pause_vcpus";
  }));
  host.stop_daemon(SIGKILL);
  suspender.join();
  REQUIRE(::kill(held[0], SIGCONT) == 0);
  host.start_daemon();
  host.wait_ready();
  REQUIRE(eventually([&] {
    auto s = host.ask<VmRecord>(VmShowRequest{{}, "g"}, 2s);
    return s.ok() && s->runtime.stage.empty() && s->runtime.state == VmState::paused;
  }, 30s));
  CHECK(qemu_pids(host.home()) == held);
  auto again = act(host, VmAction::resume);
  REQUIRE_MESSAGE(again.ok(), (again.ok() ? "" : again.error().message));
  CHECK(counts_past(host, counter(host)));
  auto resuspended = act(host, VmAction::suspend);
  REQUIRE_MESSAGE(resuspended.ok(), (resuspended.ok() ? "" : resuspended.error().message));
  CHECK(resuspended->runtime.state == VmState::suspended);
  CHECK(qemu_processes(host.home()) == 0);

  // And in the middle of the start that restores it: the new QEMU is held
  // as soon as it appears, the daemon killed. After the restart the VM is
  // either still suspended with its files (the load had not finished) or
  // restored with its state used up, never in between; either way the
  // guest then runs on.
  auto restore_saved = resuspended->runtime.saved;
  std::thread starter([&] { (void)act(host, VmAction::start); });
  std::vector<int> fresh;
  REQUIRE(eventually([&] { return !(fresh = qemu_pids(host.home())).empty(); }, 30s, 1ms));
  ::kill(fresh[0], SIGSTOP);
  host.stop_daemon(SIGKILL);
  starter.join();
  ::kill(fresh[0], SIGCONT);
  host.start_daemon();
  host.wait_ready();
  VmRecord after;
  REQUIRE(eventually([&] {
    auto s = host.ask<VmRecord>(VmShowRequest{{}, "g"}, 2s);
    if (!s.ok() || !s->runtime.stage.empty())
      return false;
    after = *s;
    return s->runtime.state == VmState::suspended || s->runtime.state == VmState::paused
           || s->runtime.state == VmState::running;
  }, 30s));
  if (after.runtime.state == VmState::suspended) {
    CHECK(after.runtime.saved == restore_saved);
    CHECK(fs::exists(restore_saved.state_path));
    CHECK(eventually([&] { return qemu_processes(host.home()) == 0; }));
    auto restored_now = act(host, VmAction::start, true);
    REQUIRE_MESSAGE(restored_now.ok(), (restored_now.ok() ? "" : restored_now.error().message));
  } else {
    CHECK(after.runtime.saved.empty());
    CHECK_FALSE(fs::exists(restore_saved.state_path));
    if (after.runtime.state == VmState::paused)
      REQUIRE(act(host, VmAction::resume).ok());
  }
  MESSAGE("killed mid-restore, found " << to_string(after.runtime.state));
  CHECK(counts_past(host, counter(host)));
  CHECK(slurp(known_hosts) == pins);

  REQUIRE(act(host, VmAction::remove).ok());
  CHECK(qemu_processes(host.home()) == 0);
}
