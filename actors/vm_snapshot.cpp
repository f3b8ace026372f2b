// Named snapshots of a VM: `vm snapshot` keeps its disk at that instant (a
// reflink where the file system can, else a sparse copy) and, of a running
// or paused guest, its memory and device state; `vm restore` rolls the VM
// back to one (the disk first, then the guest's state in a fresh VMM);
// `vm snapshot rm` deletes one. A snapshot is made whole in a partial
// folder and renamed into place before the record names it
// (actors/state_files.hpp); a folder no record names is an orphan that
// `doctor` reports.
#include "actors/state_files.hpp"
#include "actors/vm_context.hpp"
#include "actors/vmm_driver.hpp"

#include <algorithm>

namespace banger::vm {

namespace {

/// Removes a snapshot that failed half-way; a leftover is doctor's to find.
void discard(const std::filesystem::path& vm_dir, const std::string& name) {
  if (auto removed = remove_snapshot(vm_dir, name); !removed)
    log_.warn("could not remove a failed snapshot",
              {{"snapshot", name}, {"error", removed.error().message}});
}

/// The disk copy and the commit of snapshot `snap` (its memory, if any, is
/// already in the partial folder); `snap` gets the disk's path and size.
void finish_snapshot(Self self, const OpPtr& op, SnapshotInfo snap,
                     std::function<void(Result<SnapshotInfo>)> then) {
  auto vm_dir = home_of(self).vm_dir(self->state.rec.id);
  auto rootfs = self->state.rec.runtime.rootfs_path;
  stage(self, op, "copy_disk");
  auto result = std::make_shared<SnapshotInfo>(std::move(snap));
  off_thread(
    self,
    [vm_dir, rootfs, result]() -> Result<SavedState> {
      auto partial = snapshot_partial_dir(vm_dir, result->name);
      auto size = copy_disk(rootfs, partial);
      if (!size)
        return size.error();
      result->disk_size = *size;
      result->disk_path = (snapshot_dir(vm_dir, result->name) / "disk.img").string();
      if (!result->memory.empty()) {
        auto measured = measure_state(result->memory);
        if (!measured)
          return measured.error();
        // Measured in the partial folder, named as it will be once committed.
        auto final_dir = snapshot_dir(vm_dir, result->name);
        auto named = snapshot_state_files(final_dir, !result->memory.memory_path.empty());
        named.size = measured->size;
        named.checksum = measured->checksum;
        named.saved_at_us = result->memory.saved_at_us;
        named.vmm = result->memory.vmm;
        result->memory = named;
      }
      if (auto ok = commit_snapshot(vm_dir, result->name); !ok)
        return ok.error();
      return SavedState{};
    },
    [vm_dir, result, then](Result<SavedState> done) {
      if (!done) {
        discard(vm_dir, result->name);
        then(done.error());
        return;
      }
      then(*result);
    });
}

} // namespace

const SnapshotInfo* find_snapshot(Self self, const std::string& name) {
  for (const auto& snap : self->state.rec.snapshots)
    if (snap.name == name)
      return &snap;
  return nullptr;
}

void do_snapshot(Self self, const OpPtr& op, const std::string& name, Then then) {
  auto& st = self->state;
  auto& rt = st.rec.runtime;
  if (find_snapshot(self, name)) {
    then(Error{Errc::already_exists, "VM " + st.rec.name + " already has a snapshot " + name
                                       + " (banger vm snapshot rm " + st.rec.name + " " + name
                                       + " deletes it)"});
    return;
  }
  bool live = vmm_alive(self) && (rt.state == VmState::running || rt.state == VmState::paused);
  bool cold = !vmm_alive(self) && (rt.state == VmState::stopped || rt.state == VmState::created);
  if ((!live && !cold) || rt.rootfs_path.empty()) {
    then(Error{Errc::conflict, "cannot snapshot VM " + st.rec.name + ": it is "
                                 + std::string(to_string(rt.state))
                                 + "; a snapshot is of a running, paused or stopped VM"});
    return;
  }
  auto vm_dir = home_of(self).vm_dir(st.rec.id);
  if (auto ok = begin_snapshot(vm_dir, name); !ok) {
    then(ok.error());
    return;
  }
  SnapshotInfo snap;
  snap.name = name;
  snap.created_at_us = now_us();
  snap.from = live ? rt.state : VmState::stopped; // a created VM is a stopped one
  snap.op_id = op->log.op_id();
  bool was_running = rt.state == VmState::running;
  // The record takes the snapshot once it is whole; the guest runs again
  // (if it ran) whatever happened.
  auto done = [self, op, was_running, then](Result<SnapshotInfo> taken) {
    auto record = [self, taken, then](Status resumed) {
      auto& rt = self->state.rec.runtime;
      if (resumed && vmm_alive(self) && rt.state == VmState::paused && taken.ok()
          && taken->from == VmState::running)
        rt.state = VmState::running;
      if (taken) {
        self->state.rec.snapshots.push_back(*taken);
        settle(self);
        then(resumed ? std::nullopt : std::optional<Error>(resumed.error()));
        return;
      }
      settle(self);
      then(taken.error());
    };
    if (!was_running || !vmm_alive(self)) {
      record(Status{});
      return;
    }
    stage(self, op, "resume_vcpus");
    self->state.vmm->resume(self, op, record);
  };
  if (cold) {
    finish_snapshot(self, op, std::move(snap), done);
    return;
  }
  auto save = [self, op, snap, vm_dir, done]() mutable {
    stage(self, op, "save_state");
    auto files = snapshot_state_files(snapshot_partial_dir(vm_dir, snap.name),
                                      self->state.vmm->keeps_memory_apart());
    files.vmm = vmm_kind(self);
    files.saved_at_us = now_us();
    self->state.vmm->save_state(self, op, files,
                                [self, op, snap, files, done](Status saved) mutable {
                                  if (!saved) {
                                    discard(home_of(self).vm_dir(self->state.rec.id), snap.name);
                                    done(saved.error());
                                    return;
                                  }
                                  snap.memory = files;
                                  finish_snapshot(self, op, std::move(snap), done);
                                });
  };
  while_paused(self, op, save, [done](Error refused) { done(std::move(refused)); });
}

void do_restore(Self self, const OpPtr& op, const std::string& name, bool wait, Then then) {
  auto& st = self->state;
  const auto* found = find_snapshot(self, name);
  if (!found) {
    then(Error{Errc::not_found, "VM " + st.rec.name + " has no snapshot " + name
                                  + " (banger vm snapshot ls " + st.rec.name + ")"});
    return;
  }
  auto snap = *found;
  auto& rt = st.rec.runtime;
  if (rt.rootfs_path.empty() || rt.state == VmState::starting || rt.state == VmState::stopping) {
    then(Error{Errc::conflict, "cannot restore VM " + st.rec.name + ": it is "
                                 + std::string(to_string(rt.state))});
    return;
  }
  // What runs now is discarded: the VMM ends without a shutdown, a
  // suspended state is dropped.
  auto roll_back = [self, op, snap, wait, then] {
    auto& rt = self->state.rec.runtime;
    if (!rt.saved.empty())
      forget_saved_state(self);
    rt.state = VmState::stopped;
    stage(self, op, "restore_disk");
    auto rootfs = rt.rootfs_path;
    off_thread(
      self,
      [snap, rootfs]() -> Result<SavedState> {
        if (auto ok = roll_back_disk(snap.disk_path, rootfs); !ok)
          return ok.error();
        return SavedState{};
      },
      [self, op, snap, wait, then](Result<SavedState> rolled) {
        if (!rolled) {
          settle(self);
          then(Error{rolled.error().code, "cannot restore the disk of snapshot " + snap.name
                                            + ": " + rolled.error().message});
          return;
        }
        if (snap.memory.empty()) {
          settle(self);
          then(std::nullopt);
          return;
        }
        Restore plan;
        plan.saved = snap.memory;
        plan.wait = wait;
        plan.stay_paused = snap.from == VmState::paused;
        plan.on_failure = VmState::stopped;
        plan.way_out = "the VM is stopped with the snapshot's disk (banger vm start "
                       + self->state.rec.name + " boots it)";
        restore_guest(self, op, plan, then);
      });
  };
  if (!vmm_alive(self)) {
    roll_back();
    return;
  }
  stage(self, op, "kill_vmm");
  signal_and_wait(self, op, "KILL", st.deps->settings.vmm_kill_grace,
                  [self, op, roll_back, then](Status killed) {
                    if (!killed) {
                      vmm_survived(self, "restore failed", killed.error(), then);
                      return;
                    }
                    cleanup_runtime(self, op, [roll_back, then](std::optional<Error> left) {
                      if (left)
                        then(left);
                      else
                        roll_back();
                    });
                  });
}

void do_snapshot_remove(Self self, const OpPtr& op, const std::string& name, Then then) {
  auto& st = self->state;
  if (!find_snapshot(self, name)) {
    then(Error{Errc::not_found, "VM " + st.rec.name + " has no snapshot " + name});
    return;
  }
  stage(self, op, "remove_snapshot");
  // Out of the record first (durably): a crash before the files go leaves
  // an orphan folder, which doctor finds, never a record without files.
  auto& snaps = st.rec.snapshots;
  snaps.erase(std::remove_if(snaps.begin(), snaps.end(),
                             [&](const SnapshotInfo& s) { return s.name == name; }),
              snaps.end());
  auto vm_dir = home_of(self).vm_dir(st.rec.id);
  persist(self, [self, vm_dir, name, then](Status recorded) {
    if (!recorded) {
      then(recorded.error());
      return;
    }
    off_thread(
      self,
      [vm_dir, name]() -> Result<SavedState> {
        if (auto ok = remove_snapshot(vm_dir, name); !ok)
          return ok.error();
        return SavedState{};
      },
      [then](Result<SavedState> removed) {
        then(removed ? std::nullopt : std::optional<Error>(removed.error()));
      });
  });
}

} // namespace banger::vm
