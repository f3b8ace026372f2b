#include "actors/vm_context.hpp"

#include "actors/firecracker_driver.hpp"
#include "actors/network.hpp"
#include "actors/qemu_driver.hpp"
#include "messages/log.hpp"

namespace banger::vm {

// -- start steps ---------------------------------------------------------------------

/// The start of a Firecracker VM as data. The undo functions are also the
/// clean-up after a stop (cleanup_steps), so there is one teardown.
std::vector<Step> start_steps(Self self, const OpPtr& op) {
  auto& st = self->state;
  auto home = home_of(self);
  auto id = st.rec.id;
  std::vector<Step> steps;
  steps.push_back(Step{
    "ensure_bridge",
    [self, op](StepDone done) {
      ask_helper<Ack>(self, BridgeEnsureRequest{envelope_of(op)},
                      [done](Result<Ack> r) { done(r ? Status{} : Status{r.error()}); });
    },
    {}});
  steps.push_back(Step{
    "create_tap",
    [self, op, id](StepDone done) {
      self->state.rec.runtime.tap = tap_name(id);
      ask_helper<Ack>(self, TapCreateRequest{envelope_of(op), id, tap_name(id)},
                      [done](Result<Ack> r) { done(r ? Status{} : Status{r.error()}); });
    },
    [self, op, id](StepDone done) {
      ask_helper<Ack>(self, TapDeleteRequest{envelope_of(op), id, tap_name(id)},
                      [done](Result<Ack> r) {
                        // Already gone is what we wanted.
                        if (!r && r.error().code != Errc::not_found)
                          done(r.error());
                        else
                          done(Status{});
                      });
    }});
  steps.push_back(Step{
    "launch_vmm",
    [self, op, id](StepDone done) {
      auto& rec = self->state.rec;
      VmmLaunchRequest request{envelope_of(op), id, rec.cpus, rec.memory_mib, {}, {}, {}, {}, {}};
      auto started = op->status.started_at_us;
      ask_helper<VmmLaunched>(self, std::move(request),
                              [self, done, started](Result<VmmLaunched> launched) {
                                if (!launched) {
                                  done(std::move(launched).error());
                                  return;
                                }
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
        forget_vmm(self);
        ask_helper<Ack>(self, RunDirRemoveRequest{envelope_of(op), id},
                        [done, killed](Result<Ack> r) {
                          if (!killed)
                            done(killed);
                          else
                            done(r ? Status{} : Status{r.error()});
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
  steps.push_back(Step{
    "wait_api_socket",
    [self](StepDone done) {
      auto guarded = once(done);
      self->state.abort_on_exit = [guarded] {
        guarded(Error{Errc::vmm_failed, "the VMM exited before its API socket appeared"});
      };
      ask_io<Ack>(self, SocketWait{self->state.rec.runtime.api_socket, socket_timeout.count()},
                  socket_timeout, [self, guarded](Result<Ack> r) {
                    self->state.abort_on_exit = nullptr;
                    guarded(r ? Status{} : Status{r.error()});
                  });
    },
    {}});
  steps.push_back(Step{
    "configure_vmm",
    [self, home, id](StepDone done) {
      auto& st = self->state;
      auto& rec = st.rec;
      auto& subnet = st.deps->subnet;
      firecracker::BootConfig boot;
      boot.kernel_path = st.image.kernel_path;
      boot.initrd_path = st.image.initrd_path;
      boot.boot_args = firecracker::kernel_command_line(
        rec.runtime.guest_ip, format_ipv4(subnet.gateway()), format_netmask(subnet.prefix),
        st.image.boot_args);
      boot.rootfs_path = rec.runtime.rootfs_path;
      boot.tap = rec.runtime.tap;
      boot.mac = rec.runtime.mac;
      boot.cpus = rec.cpus;
      boot.memory_mib = rec.memory_mib;
      boot.vsock_cid = rec.runtime.vsock_cid;
      boot.vsock_path = home.vm_vsock(id).string();
      rec.runtime.vsock_path = boot.vsock_path;
      auto calls = std::make_shared<std::vector<HttpCall>>(
        firecracker::configure_calls(rec.runtime.api_socket, boot));
      auto guarded = once(done);
      st.abort_on_exit = [guarded] {
        guarded(Error{Errc::vmm_failed, "the VMM exited while being configured"});
      };
      auto next = std::make_shared<std::function<void(std::size_t)>>();
      *next = [self, calls, guarded, next](std::size_t i) {
        if (i == calls->size()) {
          self->state.abort_on_exit = nullptr;
          guarded(Status{});
          return;
        }
        auto call = (*calls)[i];
        ask_io<HttpReply>(self, call, firecracker::api_timeout,
                          [self, call, guarded, next, i](Result<HttpReply> reply) {
                            auto verdict = reply ? firecracker::judge(call, *reply)
                                                 : Status{reply.error()};
                            if (!verdict) {
                              self->state.abort_on_exit = nullptr;
                              guarded(verdict);
                              (*next) = nullptr; // break the self-reference
                              return;
                            }
                            (*next)(i + 1);
                          });
      };
      (*next)(0);
    },
    {}});
  steps.push_back(Step{
    "start_instance",
    [self, op](StepDone done) {
      auto& rt = self->state.rec.runtime;
      rt.boot.configured_us = now_us() - op->status.started_at_us;
      auto call = firecracker::instance_start(rt.api_socket);
      ask_io<HttpReply>(self, call, firecracker::api_timeout,
                        [self, op, call, done](Result<HttpReply> reply) {
                          auto verdict = reply ? firecracker::judge(call, *reply)
                                               : Status{reply.error()};
                          if (verdict) {
                            auto& boot = self->state.rec.runtime.boot;
                            boot.instance_started_us = now_us() - op->status.started_at_us;
                            // Firecracker has no readiness signal of its own.
                            boot.guest_ready_us = boot.instance_started_us;
                          }
                          done(verdict);
                        });
    },
    {}});
  return steps;
}

} // namespace banger::vm
