// The start of a VM as steps, the same for every VMM kind: the helper's
// launch (tap, run dir and VMM in one request), the exit watch, the wait for
// the VMM's socket, then the kind's own configure and start from its driver
// (actors/vmm_driver.hpp). The launch's undo is the one teardown, also after
// a stop (vm_teardown.cpp). Also here: the shutdown request and the wait for
// the guest's SSH port.
#include "actors/kernel_command_line.hpp"
#include "actors/network.hpp"
#include "actors/vm_context.hpp"
#include "actors/vmm_driver.hpp"
#include "actors/vmm_log.hpp"
#include "messages/guest_dns.hpp"

namespace banger::vm {

namespace {

/// The guest's network, its name as hostname, and its DNS servers: read
/// from the host at every start (network.dns=auto), so a guest booted after
/// the host changed networks gets the resolvers it has now.
std::string command_line(Self self) {
  auto& st = self->state;
  auto& subnet = st.deps->subnet;
  GuestBoot guest{st.rec.runtime.guest_ip, format_ipv4(subnet.gateway()),
                  format_netmask(subnet.prefix_length), st.rec.name,
                  guest_dns(st.deps->settings.network_dns)};
  return kernel_command_line(guest, st.image.boot_args);
}

/// How long a failed start step waits for the VMM to finish exiting: a VMM
/// that dies mid-request resets its socket a moment before it is gone.
constexpr auto exit_settle = std::chrono::milliseconds(250);

/// A start step failed: if the VMM exited (or is exiting), the step's own
/// error is only the symptom (a reset socket, a vanished API socket); the
/// VMM's last error lines in its log are the cause, so they replace it.
void explain_failure(Self self, Error error, StepDone done) {
  if (self->state.rec.runtime.pid == 0) {
    done(std::move(error));
    return;
  }
  wait_exit(self, exit_settle, [self, error, done](Status) mutable {
    if (vmm_alive(self)) {
      done(std::move(error));
      return;
    }
    auto& st = self->state;
    auto lines = last_error_lines(read_log_since(home_of(self).vm_log(st.rec.id).string(),
                                                 st.log_offset));
    if (lines.empty())
      error.message = "the VMM exited (" + error.message + ")";
    else
      error.message = "the VMM exited: " + lines;
    error.code = Errc::vmm_failed;
    done(std::move(error));
  });
}

/// `run`, with a failure explained by explain_failure.
std::function<void(StepDone)> explained(Self self, std::function<void(StepDone)> run) {
  return [self, run = std::move(run)](StepDone done) {
    run([self, done](Status status) {
      if (status)
        done(std::move(status));
      else
        explain_failure(self, std::move(status).error(), done);
    });
  };
}

} // namespace

// -- start steps ---------------------------------------------------------------------

std::vector<Step> start_steps(Self self, const OpPtr& op, std::optional<SavedState> restore) {
  auto& st = self->state;
  auto id = st.rec.id;
  std::vector<Step> steps;
  // The files as the helper checked them at launch: configure_vmm gives
  // Firecracker these, not the image record's paths.
  auto checked = std::make_shared<VmmLaunched>();
  steps.push_back(Step{
    "launch_vmm",
    // One helper request makes the tap (ensuring the bridge and NAT), the
    // runtime directory and the VMM, or none of them.
    [self, op, id, checked, restoring = restore.has_value()](StepDone done) {
      auto& st = self->state;
      auto& rec = st.rec;
      rec.runtime.tap = tap_name(id);
      VmmLaunchRequest request{envelope_of(op), id, rec.cpus, rec.memory_mib, {}, {}, {}, {}, {}};
      request.restore = restoring;
      // Every kind: the helper refuses files outside banger's directories
      // before it launches anything.
      request.kernel_path = st.image.kernel_path;
      request.initrd_path = st.image.initrd_path;
      // QEMU takes the whole machine on its command line, which the helper
      // builds from validated fields; Firecracker gets it at configure.
      st.vmm->prepare_launch(self, request, command_line(self));
      st.log_offset = log_size(home_of(self).vm_log(id).string());
      auto started = op->status.started_at_us;
      ask_helper<VmmLaunched>(self, std::move(request),
                              [self, done, started, checked](Result<VmmLaunched> launched) {
                                if (!launched) {
                                  done(std::move(launched).error());
                                  return;
                                }
                                *checked = *launched;
                                auto& rt = self->state.rec.runtime;
                                rt.pid = launched->pid;
                                rt.pid_start_time = launched->start_time;
                                rt.api_socket = launched->api_socket;
                                rt.log_path = launched->log_path;
                                rt.boot.vmm_spawned_us = now_us() - started;
                                done(Status{});
                              });
    },
    [self, op, id](StepDone done) {
      auto kill_grace = std::chrono::duration_cast<std::chrono::milliseconds>(
        self->state.deps->settings.vmm_kill_grace);
      signal_and_wait(self, op, "KILL", kill_grace, [self, op, id, done](Status killed) {
        if (!killed && vmm_alive(self)) {
          // The VMM still runs on its tap: keep both on record, so the
          // next stop or rm can try again.
          done(killed);
          return;
        }
        forget_vmm(self);
        // The tap and the runtime directory, in one request; already gone
        // (an earlier teardown got that far) is done.
        ask_helper<Ack>(self, RuntimeRemoveRequest{envelope_of(op), id}, [done](Result<Ack> r) {
          done(r || r.error().code == Errc::not_found ? Status{} : Status{r.error()});
        });
      });
    }});
  steps.push_back(Step{
    "watch_vmm",
    [self](StepDone done) {
      watch_exit(self, [done](Status watched) {
        if (!watched)
          done(Error{Errc::vmm_failed, "the VMM exited right after launch"});
        else
          done(Status{});
      });
    },
    {}});
  // The tap is up and the address known; before a restore too.
  if (!st.rec.ports.empty())
    steps.push_back(publish_ports_step(self, op));
  steps.push_back(Step{
    "wait_api_socket",
    [self](StepDone done) {
      auto guarded = once(done);
      self->state.abort_on_exit = [guarded] {
        guarded(Error{Errc::vmm_failed, "the VMM exited before its API socket appeared"});
      };
      ask_io<Ack>(self,
                  SocketWait{self->state.rec.runtime.api_socket, socket_timeout.count(),
                             self->state.vmm->keeps_connections()},
                  [self, guarded](Result<Ack> r) {
                    self->state.abort_on_exit = nullptr;
                    guarded(r ? Status{} : Status{r.error()});
                  });
    },
    {}});
  if (restore) {
    // The saved state is the machine: no configuration, no boot.
    steps.push_back(Step{
      "restore_state",
      [self, op, checked, saved = *restore](StepDone done) {
        self->state.vmm->restore_state(self, op, *checked, saved, std::move(done));
      },
      {}});
    for (std::size_t i = 1; i < steps.size(); ++i)
      steps[i].run = explained(self, std::move(steps[i].run));
    return steps;
  }
  steps.push_back(Step{
    "configure_vmm",
    [self, checked](StepDone done) {
      // Only what the helper validated (VmmLaunched), never our own copies.
      self->state.vmm->configure(self, *checked, command_line(self), std::move(done));
    },
    {}});
  steps.push_back(Step{
    "start_instance",
    [self, op](StepDone done) {
      auto& rt = self->state.rec.runtime;
      rt.boot.configured_us = now_us() - op->status.started_at_us;
      self->state.vmm->start_instance(self, op, [self, done](Status started) {
        if (started)
          self->state.instance_started = std::chrono::steady_clock::now();
        done(std::move(started));
      });
    },
    {}});
  // After the launch, a failing step may be the VMM's exit seen late.
  for (std::size_t i = 1; i < steps.size(); ++i)
    steps[i].run = explained(self, std::move(steps[i].run));
  return steps;
}

// -- shutdown and readiness ----------------------------------------------------------

void request_shutdown(Self self, const OpPtr& op, StepDone done) {
  self->state.vmm->request_shutdown(self, op, std::move(done));
}

void wait_guest_ready(Self self, const OpPtr& op, StepDone done) {
  stage(self, op, "wait_guest_ready");
  auto& st = self->state;
  auto timeout = st.deps->settings.vmm_boot_timeout;
  auto guarded = once(std::move(done));
  st.abort_on_exit = [guarded] {
    guarded(Error{Errc::vmm_failed, "the VMM exited before the guest was ready"});
  };
  // Ready is whichever answers first: the guest agent's hello (images with
  // an agent: it starts before the SSH server, docs/agent.md) or the SSH
  // banner. Both fail before the start fails; SSH's error is the one shown
  // (an image without an agent never answers the other).
  struct Race {
    bool settled = false;
    int failed = 0;
    std::optional<Error> ssh_error;
  };
  auto race = std::make_shared<Race>();
  auto win = [self, op, guarded, race](bool agent) {
    if (race->settled)
      return;
    race->settled = true;
    auto& st = self->state;
    st.abort_on_exit = nullptr;
    auto at = now_us() - op->status.started_at_us;
    st.rec.runtime.boot.guest_ready_us = at;
    if (agent)
      st.rec.runtime.boot.agent_ready_us = at;
    log_.info("guest ready", {{"op_id", op->status.op_id}, {"vm_id", st.rec.id},
                              {"by", agent ? "agent" : "ssh"}});
    guarded(Status{});
  };
  auto lose = [self, guarded, race] {
    if (race->settled || ++race->failed < 2)
      return;
    race->settled = true;
    self->state.abort_on_exit = nullptr;
    guarded(*race->ssh_error);
  };
  GuestProbe probe{st.rec.runtime.guest_ip, 22, "SSH-", timeout.count()};
  ask_io<Ack>(self, std::move(probe), [self, win, lose, race](Result<Ack> r) {
    if (r) {
      win(false);
      return;
    }
    race->ssh_error = Error{r.error().code, "the guest's SSH port did not answer: "
                                              + r.error().message + " (console: "
                                              + home_of(self).vm_log(self->state.rec.id).string()
                                              + ")"};
    lose();
  });
  if (!st.agent) {
    ++race->failed;
    return;
  }
  self->request(st.agent, local_request, AgentWait{op->status.op_id, timeout.count()})
    .then([win](AgentHello&) { win(true); }, [lose](caf::error&) { lose(); });
}

} // namespace banger::vm
