// vm stop: ask the guest to power off, wait up to the grace, then kill the
// VMM. A guest that cannot be listening for the request yet does not get
// the whole grace: during boot, until its userspace runs, the power-off
// request (Ctrl-Alt-Del for Firecracker, the ACPI power button for QEMU)
// reaches no handler and is lost, so waiting the full vmm.stop-grace (30 s
// by default) only delays the kill. The rule (docs/cli.md, "vm stop"):
//
//   a guest whose SSH port has not greeted since this start (readiness)
//   and that was started by this daemon less than vmm.boot-timeout ago is
//   waited for unready_grace first; if it has not exited by then and its
//   SSH port does not greet a probe of probe_timeout, the VMM is killed
//   (last_stop: timeout); if it greets, the rest of the stop grace follows.
//
// A guest that has been up longer than the boot timeout is treated as
// booted whatever its SSH port says (an image may have no SSH server).
#include "actors/vm_context.hpp"
#include "actors/vmm_driver.hpp"

namespace banger::vm {

namespace {

/// Long enough for a guest in its last seconds of boot (init up, sshd not
/// yet) to act on the request, short against the default stop grace.
constexpr auto unready_grace = std::chrono::milliseconds(2000);
constexpr auto probe_timeout = std::chrono::milliseconds(300);

/// Readiness not seen, and young enough that it may still be booting.
bool may_be_booting(Self self) {
  auto& st = self->state;
  if (st.rec.runtime.boot.guest_ready_us != 0 || !st.instance_started)
    return false;
  return std::chrono::steady_clock::now() - *st.instance_started < st.deps->settings.vmm_boot_timeout;
}

void escalate(Self self, const OpPtr& op, Then then) {
  stage(self, op, "kill_vmm");
  auto kill_grace = self->state.deps->settings.vmm_kill_grace;
  signal_and_wait(self, op, "KILL", kill_grace, [self, op, then](Status killed) {
    if (!killed) {
      vmm_survived(self, "stop failed", killed.error(), then);
      return;
    }
    stopped(self, op, StopRung::timeout, then);
  });
}

/// Waits `grace` for the exit; a guest that may still be booting first
/// only unready_grace, then the rest only if its SSH port greets.
void wait_grace(Self self, const OpPtr& op, std::chrono::milliseconds grace, Then then) {
  bool booting = may_be_booting(self) && grace > unready_grace;
  auto first = booting ? unready_grace : grace;
  wait_exit(self, first, [self, op, grace, first, booting, then](Status exited) {
    if (exited) {
      stopped(self, op, StopRung::graceful, then);
      return;
    }
    if (!booting) {
      escalate(self, op, then);
      return;
    }
    auto& st = self->state;
    stage(self, op, "probe_guest");
    GuestProbe probe{st.rec.runtime.guest_ip, 22, "SSH-", probe_timeout.count()};
    ask_io<Ack>(self, std::move(probe), [self, op, grace, first, then](Result<Ack> greeted) {
      if (!greeted) {
        log_.info("guest not ready: the power-off request has no handler yet",
                  {{"op_id", op->log.op_id()}, {"vm_id", self->state.rec.id}});
        escalate(self, op, then);
        return;
      }
      // Up after all (a start that did not wait): the rest of the grace.
      stage(self, op, "wait_for_exit");
      wait_exit(self, grace - first, [self, op, then](Status exited) {
        if (exited)
          stopped(self, op, StopRung::graceful, then);
        else
          escalate(self, op, then);
      });
    });
  });
}

} // namespace

void do_stop(Self self, const OpPtr& op, Then then) {
  auto& st = self->state;
  if (!vmm_alive(self)) {
    stopped(self, op, StopRung::none, then);
    return;
  }
  // A paused guest cannot hear the power-off request: it runs again first.
  bool paused = st.rec.runtime.state == VmState::paused;
  st.rec.runtime.state = VmState::stopping;
  publish(self);
  auto grace = std::chrono::duration_cast<std::chrono::milliseconds>(st.deps->settings.vmm_stop_grace);
  auto shutdown = [self, op, grace, then] {
    request_shutdown(self, op, [self, op, grace, then](Status sent) {
      if (!sent) {
        log_.warn("graceful shutdown request failed", {{"op_id", op->log.op_id()},
                                                       {"error", sent.error().message}});
        escalate(self, op, then);
        return;
      }
      stage(self, op, "wait_for_exit");
      wait_grace(self, op, grace, then);
    });
  };
  if (!paused) {
    shutdown();
    return;
  }
  stage(self, op, "resume_vcpus");
  st.vmm->resume(self, op, [self, op, shutdown, then](Status resumed) {
    if (resumed) {
      shutdown();
      return;
    }
    log_.warn("a paused guest could not be resumed for its shutdown",
              {{"op_id", op->log.op_id()}, {"error", resumed.error().message}});
    escalate(self, op, then);
  });
}

} // namespace banger::vm
