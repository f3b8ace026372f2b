// Clones: a new VM from another's guest state (vm clone). Two VM actors
// take part, each in its own queue:
//
//   clone   prepare_rootfs   the helper makes the clone's rootfs from the
//                            image (its directory, owner and mode as for any VM)
//           copy_guest       asks the source (VmCloneOut), then records the
//                            clone suspended with that state
//   source  copy_snapshot    a named snapshot: its state files and disk are
//                            copied into the clone's directory
//        or pause, save_state, copy_disk, resume: the guest as it is now
//   clone   restore          as any suspended VM's start (vm_suspend.cpp), and
//           set_identity     its guest agent applies the clone's own name,
//                            MAC, address, machine-id and SSH host keys
//                            before the clone counts as ready
//
// A clone that fails at any point is removed with everything it made (as a
// failed create is); the source runs on as it was.
#include "actors/clone_source.hpp"
#include "actors/network.hpp"
#include "actors/state_files.hpp"
#include "actors/vm_context.hpp"
#include "actors/vmm_driver.hpp"
#include "messages/guest_dns.hpp"

#include <sys/random.h>

#include <algorithm>
#include <cerrno>
#include <fstream>

namespace banger::vm {

namespace {

std::filesystem::path clone_marker(Self self) {
  return home_of(self).vm_dir(self->state.rec.id) / "clone.unfinished";
}

/// How long the clone waits for its guest agent's answer to the identity
/// (a few ip(8) calls and a host key; generous under TCG).
constexpr auto identity_timeout = std::chrono::seconds(30);

bool is_vm_id(const std::string& id) {
  return id.size() == 16
         && std::all_of(id.begin(), id.end(),
                        [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

/// The clone's identity, from its own record and this host's network.
AgentIdentity identity_of(Self self, const OpPtr& op) {
  auto& st = self->state;
  auto& subnet = st.deps->subnet;
  AgentIdentity id;
  id.op_id = op->log.op_id();
  id.hostname = st.rec.name;
  id.mac = st.rec.runtime.mac;
  id.address = st.rec.runtime.guest_ip + "/" + std::to_string(subnet.prefix_length);
  id.gateway = format_ipv4(subnet.gateway());
  id.dns = guest_dns(st.deps->settings.network_dns);
  id.new_machine_id = true;
  id.new_host_keys = true;
  // Every clone of one snapshot starts with the same kernel random state.
  id.seed.resize(32);
  std::size_t filled = 0;
  while (filled < id.seed.size()) {
    auto got = ::getrandom(id.seed.data() + filled, id.seed.size() - filled, 0);
    if (got <= 0) {
      if (got < 0 && errno == EINTR)
        continue;
      id.seed.resize(filled); // the agent still reseeds from what it has
      break;
    }
    filled += static_cast<std::size_t>(got);
  }
  return id;
}

/// The clone failed: it goes with everything it made, and the operation
/// fails with `error` (or with what could not be removed).
void abandon_clone(Self self, const OpPtr& op, const Error& error, Then then) {
  log_.warn("clone failed, removing it",
            {{"op_id", op->log.op_id()}, {"vm_id", self->state.rec.id}, {"error", error.message}});
  if (!self->state.rec.runtime.saved.empty())
    forget_saved_state(self);
  clone_finished(self);
  do_delete(self, op, [error, then](std::optional<Error> left) {
    if (left)
      then(Error{left->code, error.message + "; removing the clone failed too: " + left->message});
    else
      then(error);
  });
}

/// The source's guest as it is now, into the clone's directory: paused
/// (durably) while its state is saved and its disk copied, then running
/// again if it ran.
void clone_live(Self self, const OpPtr& op, const CloneOutWork& work, SavedState final,
                std::filesystem::path clone_rootfs, Then then) {
  auto& rt = self->state.rec.runtime;
  bool was_running = rt.state == VmState::running;
  auto out = work.out;
  // Whatever happened, the guest runs again if it ran.
  // The VMM writes where it writes a suspend's state (its own directory:
  // a jailed VMM sees no other), and the sealed files are renamed into the
  // clone's directory (same file system: state/vms/).
  auto own = suspend_files(home_of(self).vm_dir(self->state.rec.id),
                           self->state.vmm->keeps_memory_apart());
  remove_state(own); // a leftover: the record names no saved state while it runs
  auto finish = [self, op, was_running, own, final, then](std::optional<Error> error) {
    if (error) {
      remove_state(final);
      remove_state(own);
    }
    if (!was_running || !vmm_alive(self)) {
      settle(self);
      then(error);
      return;
    }
    stage(self, op, "resume_vcpus");
    self->state.vmm->resume(self, op, [self, error, then](Status resumed) {
      if (resumed)
        self->state.rec.runtime.state = VmState::running;
      settle(self);
      if (error)
        then(error);
      else
        then(resumed ? std::nullopt : std::optional<Error>(resumed.error()));
    });
  };
  auto save = [self, op, own, final, clone_rootfs, out, finish] {
    stage(self, op, "save_state");
    auto partial = partial_of(own);
    auto saved_at = now_us();
    self->state.vmm->save_state(
      self, op, partial, [self, op, partial, final, clone_rootfs, out, saved_at, finish](Status saved) {
        if (!saved) {
          finish(Error{saved.error().code, "saving the guest's state failed: " + saved.error().message});
          return;
        }
        stage(self, op, "copy_disk");
        auto rootfs = self->state.rec.runtime.rootfs_path;
        off_thread(
          self,
          [partial, final, rootfs, clone_rootfs, saved_at]() -> Result<SavedState> {
            auto sealed = seal_state(partial, final);
            if (!sealed)
              return sealed.error();
            sealed->saved_at_us = saved_at;
            if (auto ok = roll_back_disk(rootfs, clone_rootfs); !ok)
              return ok.error();
            return sealed;
          },
          [out, finish](Result<SavedState> copied) {
            if (!copied) {
              finish(copied.error());
              return;
            }
            *out = *copied;
            finish(std::nullopt);
          });
      });
  };
  while_paused(self, op, save, [then](Error refused) { then(std::move(refused)); });
}

} // namespace

bool clone_unfinished(Self self) {
  std::error_code ec;
  return std::filesystem::exists(clone_marker(self), ec);
}

void clone_finished(Self self) {
  std::error_code ec;
  std::filesystem::remove(clone_marker(self), ec);
}

void do_clone_out(Self self, const OpPtr& op, const CloneOutWork& work, Then then) {
  auto& st = self->state;
  const auto& req = work.request;
  if (!is_vm_id(req.clone_id)) {
    then(Error{Errc::invalid_argument, "not a VM id: " + req.clone_id.substr(0, 32)});
    return;
  }
  auto layout = home_of(self);
  auto final = suspend_files(layout.vm_dir(req.clone_id), st.vmm->keeps_memory_apart());
  final.vmm = vmm_kind(self);
  auto clone_rootfs = layout.vm_rootfs(req.clone_id);
  // The rule the node checked before, on the record as it is now.
  if (auto refused = clone_refusal(st.rec, req.snapshot, vmm_alive(self))) {
    then(std::move(*refused));
    return;
  }
  if (req.snapshot.empty()) {
    clone_live(self, op, work, final, clone_rootfs, then);
    return;
  }
  auto snap = *find_snapshot(self, req.snapshot);
  if (snap.memory.vmm != vmm_kind(self)) {
    then(Error{Errc::conflict, "snapshot " + req.snapshot + " was written by " + snap.memory.vmm
                                 + ", and this host runs " + vmm_kind(self)});
    return;
  }
  stage(self, op, "copy_snapshot");
  auto out = work.out;
  off_thread(
    self,
    [snap, final, clone_rootfs]() -> Result<SavedState> {
      auto copied = copy_state(snap.memory, final);
      if (!copied)
        return copied.error();
      if (auto ok = roll_back_disk(snap.disk_path, clone_rootfs); !ok) {
        remove_state(*copied);
        return ok.error();
      }
      return copied;
    },
    [out, then](Result<SavedState> copied) {
      if (!copied) {
        then(copied.error());
        return;
      }
      *out = *copied;
      then(std::nullopt);
    });
}

void do_clone(Self self, const OpPtr& op, const VmCloneWork& work, Then then) {
  stage(self, op, "prepare_rootfs");
  auto id = self->state.rec.id;
  ask_helper<RootfsPrepared>(
    self, RootfsPrepareRequest{envelope_of(op), id, work.image_rootfs, 0},
    [self, op, work, then](Result<RootfsPrepared> prepared) {
      if (!prepared) {
        abandon_clone(self, op, prepared.error(), then);
        return;
      }
      auto& rec = self->state.rec;
      rec.runtime.rootfs_path = prepared->path;
      rec.runtime.vm_dir = home_of(self).vm_dir(rec.id).string();
      rec.runtime.log_path = home_of(self).vm_log(rec.id).string();
      // Before the record names the rootfs: from here on a daemon restart
      // finds an unfinished clone and removes it (vm_recovery.cpp).
      {
        std::ofstream marker(clone_marker(self));
        marker << op->log.op_id() << "\n";
        if (!marker.flush()) {
          abandon_clone(self, op,
                        Error{Errc::system, "cannot write " + clone_marker(self).string()}, then);
          return;
        }
      }
      persist(self, [self, op, work, then](Status recorded) {
        if (!recorded) {
          abandon_clone(self, op, recorded.error(), then);
          return;
        }
        stage(self, op, "copy_guest");
        auto source = caf::actor_cast<vm_actor>(work.source);
        // No timeout: the source answers once its queue reaches this
        // request, and a source that goes away bounces it.
        self->request(source, caf::infinite, VmCloneOut{envelope_of(op), work.snapshot, self->state.rec.id})
          .then(
            [self, op, work, then](SavedState& saved) {
              auto& rt = self->state.rec.runtime;
              rt.saved = saved;
              rt.state = VmState::suspended;
              persist(self, [self, op, work, then](Status recorded) {
                if (!recorded) {
                  abandon_clone(self, op, recorded.error(), then);
                  return;
                }
                Restore plan;
                plan.saved = self->state.rec.runtime.saved;
                plan.consume = true;
                plan.wait = true;
                plan.on_failure = VmState::suspended;
                plan.identity = identity_of(self, op);
                plan.way_out = "the clone is removed";
                restore_guest(self, op, plan, [self, op, then](std::optional<Error> failed) {
                  if (failed) {
                    abandon_clone(self, op, *failed, then);
                    return;
                  }
                  clone_finished(self);
                  then(std::nullopt);
                });
              });
            },
            [self, op, work, then](caf::error& err) {
              auto error = to_error(err);
              error.message = "cloning " + work.source_name + " failed: " + error.message;
              abandon_clone(self, op, error, then);
            });
      });
    });
}

void take_identity(Self self, const OpPtr& op, const AgentIdentity& identity, StepDone done) {
  stage(self, op, "set_identity");
  auto& st = self->state;
  if (!st.agent) {
    done(Error{Errc::agent_unavailable, "the clone's VMM has no guest agent channel"});
    return;
  }
  auto guarded = once(std::move(done));
  st.abort_on_exit = [guarded] {
    guarded(Error{Errc::vmm_failed, "the VMM exited before the clone took its identity"});
  };
  auto fail = [self, guarded](Error error) {
    self->state.abort_on_exit = nullptr;
    guarded(std::move(error));
  };
  auto timeout = st.deps->settings.vmm_boot_timeout;
  self->request(st.agent, local_request, AgentWait{identity.op_id, timeout.count()})
    .then(
      [self, op, identity, guarded, fail](AgentHello&) {
        auto& st = self->state;
        stage(self, op, "apply_identity");
        if (!st.agent) {
          fail(Error{Errc::agent_unavailable, "the guest agent went away"});
          return;
        }
        self->request(st.agent, identity_timeout, identity)
          .then(
            [self, op, guarded](Ack&) {
              self->state.abort_on_exit = nullptr;
              log_.info("clone took its identity",
                        {{"op_id", op->log.op_id()}, {"vm_id", self->state.rec.id},
                         {"ip", self->state.rec.runtime.guest_ip}});
              guarded(Status{});
            },
            [fail](caf::error& err) {
              auto error = to_error(err);
              fail(Error{error.code, "the guest agent could not apply the clone's identity: "
                                       + error.message});
            });
      },
      [fail](caf::error& err) {
        auto error = to_error(err);
        fail(Error{error.code, "the clone's guest agent did not answer (a clone takes its own "
                               "identity through the agent: images built with --agent have "
                               "one): "
                                 + error.message});
      });
}

} // namespace banger::vm
