// Taking a VM's host resources back, and what happens when that fails. A
// failed teardown is never reported as done: the VM goes to `error` with a
// last_error naming what is left, the record keeps what it needs to try
// again (the tap, the VMM while it lives, the VM itself), the request fails
// with the cause, and the next stop or rm runs the same teardown again.
#include "actors/known_hosts.hpp"
#include "actors/vm_context.hpp"
#include "messages/log.hpp"

#include <net/if.h>

#include <filesystem>

namespace banger::vm {

namespace {

/// What of the VM's runtime is on the host now, as the daemon can see it
/// (the VMM by pid and start time, the tap by name, the run dir by path;
/// daemon and helper share the host). Empty: nothing.
std::string leftovers(Self self) {
  auto& st = self->state;
  auto& rt = st.rec.runtime;
  std::vector<std::string> parts;
  if (vmm_alive(self))
    parts.push_back("VMM pid " + std::to_string(rt.pid));
  auto tap = rt.tap.empty() ? tap_name(st.rec.id) : rt.tap;
  if (::if_nametoindex(tap.c_str()) != 0)
    parts.push_back("tap " + tap);
  std::error_code ec;
  auto run = home_of(self).vm_run_dir(st.rec.id);
  if (std::filesystem::exists(run, ec))
    parts.push_back("run dir " + run.string());
  std::string out;
  for (const auto& part : parts)
    out += (out.empty() ? "" : ", ") + part;
  return out;
}

} // namespace

std::optional<std::string> teardown_failed(Self self, const std::vector<UndoFailure>& failures) {
  auto& st = self->state;
  auto& rt = st.rec.runtime;
  if (!vmm_alive(self))
    forget_vmm(self);
  auto left = leftovers(self);
  if (left.empty()) {
    // The helper did not confirm, but what it was to remove is gone (or
    // was never made: a launch it never got to).
    rt.tap.clear();
    return std::nullopt;
  }
  // The tap on record is what makes stop and rm run the teardown again.
  if (rt.tap.empty())
    rt.tap = tap_name(st.rec.id);
  const auto& first = failures.front();
  return "teardown incomplete (" + first.step + ": " + first.error.message
         + "); left on the host: " + left + "; the next stop or rm tries again";
}

void cleanup_runtime(Self self, const OpPtr& op, std::function<void(std::optional<Error>)> then) {
  stage(self, op, "cleanup");
  StepHooks hooks;
  hooks.on_undo_error = [op](const std::string& step, const Error& error) {
    log_.warn("undo failed", {{"op_id", op->log.op_id()}, {"step", step},
                              {"error", error.message}});
  };
  run_undo(start_steps(self, op), hooks, [self, then](std::vector<UndoFailure> failures) {
    auto& rt = self->state.rec.runtime;
    auto left = failures.empty() ? std::nullopt : teardown_failed(self, failures);
    if (!left) {
      forget_vmm(self);
      rt.tap.clear();
      then(std::nullopt);
      return;
    }
    rt.state = VmState::error;
    rt.last_error = *left;
    settle(self);
    then(Error{failures.front().error.code, rt.last_error});
  });
}

void vmm_survived(Self self, const std::string& what, const Error& cause,
                  std::function<void(std::optional<Error>)> then) {
  auto& rt = self->state.rec.runtime;
  // Still running on its tap: nothing was taken down, so it is running.
  rt.state = vmm_alive(self) ? VmState::running : VmState::error;
  rt.last_error = what + ": the VMM (pid " + std::to_string(rt.pid)
                  + ") could not be killed: " + cause.message;
  settle(self);
  then(Error{cause.code, rt.last_error});
}

void release_and_erase(Self self, const OpPtr& op, const std::string& what,
                       std::function<void(std::optional<Error>)> then) {
  auto release = [self, op, what, then] {
    stage(self, op, "release_rootfs");
    ask_helper<Ack>(self, RootfsReleaseRequest{envelope_of(op), self->state.rec.id},
                    [self, op, what, then](Result<Ack> released) {
      auto& rt = self->state.rec.runtime;
      if (!released && released.error().code != Errc::not_found) {
        rt.state = VmState::error;
        rt.last_error = what + ": the rootfs (" + home_of(self).vm_dir(self->state.rec.id).string()
                        + ") could not be released: " + released.error().message
                        + "; rm tries again";
        settle(self);
        then(Error{released.error().code, rt.last_error});
        return;
      }
      stage(self, op, "delete_record");
      auto pins = remove_host_key_pins(home_of(self).known_hosts(),
                                       self->state.rec.runtime.guest_ip);
      if (!pins)
        log_.warn("could not remove SSH host-key pins",
                  {{"op_id", op->log.op_id()}, {"error", pins.error().message}});
      // The erase commits with the operation's status (record_outcome); a
      // crash before that finds a record without a rootfs path, and
      // recovery finishes the rm.
      self->state.erase_pending = true;
      then(std::nullopt);
    });
  };
  auto& rt = self->state.rec.runtime;
  if (rt.rootfs_path.empty()) {
    release();
    return;
  }
  // Durable before the rootfs goes: a record without a rootfs path is one
  // whose rootfs is being made or unmade, and recovery after a crash
  // finishes the removal instead of leaving a VM that cannot start.
  rt.rootfs_path.clear();
  persist(self, [release, then](Status saved) {
    if (!saved)
      then(saved.error());
    else
      release();
  });
}

} // namespace banger::vm
