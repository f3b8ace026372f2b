// After a daemon restart, or when the helper link is back: each VM
// reconciles its record with what the helper's inventory says is on the
// host (adopt a live VMM, kill strays, take back what a cut-off start or
// stop left, finish a cut-off create or rm).
#include "actors/vm_context.hpp"

namespace banger::vm {

namespace {

/// Kills `strays` from index `i` on, one at a time, then runs `done`. Each
/// reply handler carries what the next step needs; no closure owns itself.
void kill_strays(Self self, const OpPtr& op, std::shared_ptr<const std::vector<VmmProcess>> strays,
                 std::size_t i, std::function<void()> done) {
  if (i == strays->size()) {
    done();
    return;
  }
  const auto& vmm = (*strays)[i];
  log_.warn("killing a VMM no record owns", {{"op_id", op->log.op_id()},
                                            {"vm_id", self->state.rec.id}, {"pid", vmm.pid}});
  VmmSignalRequest kill{envelope_of(op), self->state.rec.id, vmm.pid, vmm.start_time, "KILL"};
  ask_helper<Ack>(self, std::move(kill), [self, op, strays, i, done](Result<Ack>) {
    kill_strays(self, op, strays, i + 1, done);
  });
}


} // namespace

std::vector<VmmProcess> strays_of(Self self, const HelperInventory& inventory) {
  const auto& rt = self->state.rec.runtime;
  std::vector<VmmProcess> strays;
  for (const auto& vmm : inventory.vmms)
    if (vmm.pid != rt.pid || vmm.start_time != rt.pid_start_time)
      strays.push_back(vmm);
  return strays;
}

bool is_stale(Self self, const VmReconcile& work) {
  return self->state.last_op_end > work.asked_at;
}

/// After a daemon restart: adopt a live VMM, or clean up what is left.
void do_reconcile(Self self, const OpPtr& op, const VmReconcile& work, Then then) {
  // VMMs of this VM that the record does not know (a start interrupted
  // between launch and persist) are killed first. The helper checks each
  // one's start time, so a stale inventory's VMM that is gone kills nothing.
  auto strays = std::make_shared<std::vector<VmmProcess>>(strays_of(self, work.inventory));
  if (is_stale(self, work)) {
    // An operation of this VM ended after the inventory was asked for: its
    // outcome stands, only VMMs no record owns are taken down.
    kill_strays(self, op, strays, 0, [then] { then(std::nullopt); });
    return;
  }
  // Runtime on the host that the record does not mention (a launch whose
  // answer was lost with the helper link) is taken down like any other.
  bool leftovers = !work.inventory.taps.empty() || !work.inventory.run_dirs.empty();
  // Port rules of a VM that is not running (an unpublish the helper link
  // lost): taken back whatever else the VM needs.
  bool ports_left = !work.inventory.port_vms.empty();
  kill_strays(self, op, strays, 0, [self, op, then, leftovers, ports_left] {
    auto& rt = self->state.rec.runtime;
    if (clone_unfinished(self)) {
      // A clone cut off before it took its own identity: its guest, if it
      // runs, has its source's address. It goes, as a failed clone does.
      log_.warn("removing a clone that a daemon restart interrupted",
                {{"op_id", op->log.op_id()}, {"vm_id", self->state.rec.id}});
      if (!rt.saved.empty())
        forget_saved_state(self);
      clone_finished(self);
      do_delete(self, op, then);
      return;
    }
    bool alive = vmm_alive(self);
    if (alive && (rt.state == VmState::running || rt.state == VmState::paused)) {
      stage(self, op, "adopt_vmm");
      watch_exit(self, [self, op, then](Status watched) {
        if (watched) {
          log_.info("adopted running VMM", {{"op_id", op->log.op_id()},
                                           {"vm_id", self->state.rec.id},
                                           {"pid", self->state.rec.runtime.pid}});
          republish_ports(self, op, [then] { then(std::nullopt); });
        } else {
          stopped(self, op, StopRung::none, then);
        }
      });
      return;
    }
    auto was = rt.state;
    // An `error` that an operation of this process recorded, with nothing
    // left on the host by its own account (no tap, no VMM on the record),
    // was answered to its caller with that reason: the reconcile takes back
    // what the inventory shows (a tap the helper still removes in the
    // background, say) but the VM stays `error` with the reason, and an rm
    // the reason asks for finds it. After a restart nobody was told.
    bool keep_error = was == VmState::error && self->state.last_op_end != 0 && rt.tap.empty()
                      && rt.pid == 0;
    auto why = rt.last_error;
    auto finish = [self, op, was, keep_error, why, then](std::optional<Error> error) {
      auto& rt = self->state.rec.runtime;
      if (!error && keep_error) {
        if (rt.state == VmState::error && rt.last_error == why)
          return then(std::nullopt);
        rt.state = VmState::error;
        rt.last_error = why;
        settle(self);
        then(std::nullopt);
        return;
      }
      if (!error && rt.rootfs_path.empty()) {
        // A create that had not recorded its rootfs yet, or an rm that had
        // begun to release it: either way the operation failed, and a
        // failed create leaves nothing, so both end as a finished rm.
        log_.warn("removing a VM whose create or rm a daemon restart interrupted",
                  {{"op_id", op->log.op_id()}, {"vm_id", self->state.rec.id}});
        auto what = std::string(was == VmState::created ? "create" : "rm")
                    + " interrupted by a daemon restart";
        release_and_erase(self, op, what, then);
        return;
      }
      if (!error && !rt.saved.empty()
          && (was == VmState::suspended || was == VmState::starting)) {
        // A suspend whose VMM had not ended yet, or a restore cut off
        // before the guest ran: the saved state is whole (it is recorded
        // only once sealed) and still the VM's.
        rt.state = VmState::suspended;
        if (was == VmState::starting)
          rt.last_error = "restore interrupted by a daemon restart; the next start tries again";
        settle(self);
        then(std::nullopt);
        return;
      }
      if (was == VmState::starting) {
        // After a failed teardown last_error already names what is left.
        rt.state = VmState::error;
        rt.last_error = "start interrupted by a daemon restart"
                        + (error ? "; " + rt.last_error : std::string());
        settle(self);
        then(error);
        return;
      }
      then(error);
    };
    auto after = [self, op, ports_left, finish](std::optional<Error> error) {
      if (!ports_left)
        return finish(error);
      unpublish_ports(self, op, [finish, error](Status) { finish(error); });
    };
    if (alive) {
      // A VMM caught mid-start or mid-stop: its operation is gone, end it.
      stage(self, op, "kill_vmm");
      signal_and_wait(self, op, "KILL", self->state.deps->settings.vmm_kill_grace,
                      [self, op, after](Status) { stopped(self, op, StopRung::none, after); });
      return;
    }
    if (was == VmState::running || was == VmState::paused || was == VmState::starting
        || was == VmState::stopping || !rt.tap.empty() || rt.pid != 0 || leftovers) {
      if (was == VmState::running || was == VmState::paused)
        rt.last_error = "the VMM exited while the daemon was down";
      stopped(self, op, StopRung::none, after);
      return;
    }
    after(std::nullopt);
  });
}

} // namespace banger::vm
