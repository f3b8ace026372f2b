#include "actors/vm_context.hpp"

#include "actors/firecracker_driver.hpp"
#include "actors/network.hpp"
#include "actors/qemu_driver.hpp"
#include "messages/log.hpp"

// The VMM-specific part of a VM's life, for both kinds banger drives:
//
//   step             firecracker                       qemu
//   launch_vmm       helper makes tap + run dir,       the same, then spawns
//                    spawns firecracker                qemu -M microvm
//                                                      (kernel, disk, tap, serial on argv)
//   wait_api_socket  the API socket                    the QMP socket
//   configure_vmm    PUT machine-config, boot-source,  QMP negotiation
//                    drives, network, vsock
//   start_instance   PUT /actions InstanceStart        the guest runs from the launch:
//                                                      query-status says "running"
//   shutdown         PUT /actions SendCtrlAltDel       QMP system_powerdown (ACPI button)
//
// Everything around it (tap, bridge, exit watch, the stop ladder, rollback) is
// shared.
namespace banger::vm {

namespace {

/// The verdict on an HttpSequence: the first call Firecracker refused, or the
/// transport error that ended it.
Status judge_sequence(const std::vector<HttpCall>& calls, const Result<HttpReplies>& replies) {
  if (!replies)
    return replies.error();
  for (std::size_t i = 0; i < replies->replies.size() && i < calls.size(); ++i)
    if (auto verdict = firecracker::judge(calls[i], replies->replies[i]); !verdict)
      return verdict;
  if (replies->code != 0)
    return Error{static_cast<Errc>(replies->code), replies->error};
  if (replies->replies.size() < calls.size())
    return Error{Errc::internal, "the configuration stopped early without an error"};
  return {};
}

bool is_qemu(Self self) {
  return self->state.deps->settings.vmm_kind == "qemu";
}

std::string command_line(Self self) {
  auto& st = self->state;
  auto& subnet = st.deps->subnet;
  return firecracker::kernel_command_line(st.rec.runtime.guest_ip, format_ipv4(subnet.gateway()),
                                          format_netmask(subnet.prefix_length), st.image.boot_args);
}

/// One QMP exchange, cut short if the VMM exits meanwhile.
void ask_qmp(Self self, std::vector<std::string> commands,
             std::function<void(Result<std::vector<std::string>>)> then) {
  QmpCall call{self->state.rec.runtime.api_socket, std::move(commands),
               qemu::qmp_timeout.count()};
  ask_io<QmpReply>(self, std::move(call),
                   [then](Result<QmpReply> reply) {
                     if (!reply)
                       then(std::move(reply).error());
                     else
                       then(std::move(reply->returns));
                   });
}

void configure_qemu(Self self, StepDone done) {
  auto guarded = once(std::move(done));
  self->state.abort_on_exit = [guarded] {
    guarded(Error{Errc::vmm_failed, "QEMU exited before it answered on QMP"});
  };
  // Negotiation alone: QEMU answering on QMP is what "configured" means here
  // (the machine came from its command line); start_instance checks the state.
  ask_qmp(self, {}, [self, guarded](Result<std::vector<std::string>> r) {
    self->state.abort_on_exit = nullptr;
    guarded(r ? Status{} : Status{r.error()});
  });
}

void start_qemu(Self self, const OpPtr& op, StepDone done) {
  ask_qmp(self, {qemu::query_status}, [self, op, done](Result<std::vector<std::string>> r) {
    if (!r) {
      done(r.error());
      return;
    }
    auto state = qemu::run_state(r->front());
    if (!state) {
      done(state.error());
      return;
    }
    if (*state != "running") {
      done(Error{Errc::vmm_failed, "QEMU reports the guest as '" + *state + "', not running"});
      return;
    }
    auto& boot = self->state.rec.runtime.boot;
    boot.instance_started_us = now_us() - op->status.started_at_us;
    done(Status{});
  });
}

} // namespace

// -- start steps ---------------------------------------------------------------------

std::vector<Step> start_steps(Self self, const OpPtr& op) {
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
    [self, op, id, checked](StepDone done) {
      auto& st = self->state;
      auto& rec = st.rec;
      rec.runtime.tap = tap_name(id);
      VmmLaunchRequest request{envelope_of(op), id, rec.cpus, rec.memory_mib, {}, {}, {}, {}, {}};
      // Every kind: the helper refuses files outside banger's directories
      // before it launches anything.
      request.kernel_path = st.image.kernel_path;
      request.initrd_path = st.image.initrd_path;
      if (is_qemu(self)) {
        // QEMU takes the whole machine on its command line, which the
        // helper builds from these validated fields.
        request.boot_args = command_line(self);
        request.tap = rec.runtime.tap;
        request.mac = rec.runtime.mac;
      }
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
  steps.push_back(Step{
    "wait_api_socket",
    [self](StepDone done) {
      auto guarded = once(done);
      self->state.abort_on_exit = [guarded] {
        guarded(Error{Errc::vmm_failed, "the VMM exited before its API socket appeared"});
      };
      ask_io<Ack>(self, SocketWait{self->state.rec.runtime.api_socket, socket_timeout.count()},
                  [self, guarded](Result<Ack> r) {
                    self->state.abort_on_exit = nullptr;
                    guarded(r ? Status{} : Status{r.error()});
                  });
    },
    {}});
  steps.push_back(Step{
    "configure_vmm",
    [self, checked](StepDone done) {
      if (is_qemu(self)) {
        configure_qemu(self, std::move(done));
        return;
      }
      auto& st = self->state;
      auto& rec = st.rec;
      firecracker::BootConfig boot;
      // Only what the helper validated (VmmLaunched), never our own copies.
      boot.kernel_path = checked->kernel_path;
      boot.initrd_path = checked->initrd_path;
      boot.boot_args = command_line(self);
      boot.rootfs_path = checked->rootfs_path;
      boot.tap = rec.runtime.tap;
      boot.mac = rec.runtime.mac;
      boot.cpus = rec.cpus;
      boot.memory_mib = rec.memory_mib;
      boot.vsock_cid = rec.runtime.vsock_cid;
      boot.vsock_path = checked->vsock_path;
      rec.runtime.vsock_path = boot.vsock_path;
      auto calls = std::make_shared<std::vector<HttpCall>>(
        firecracker::configure_calls(rec.runtime.api_socket, boot));
      auto guarded = once(done);
      st.abort_on_exit = [guarded] {
        guarded(Error{Errc::vmm_failed, "the VMM exited while being configured"});
      };
      // One message: the reactor runs the PUTs back to back and stops at
      // the first failure; each reply is judged here, in order.
      ask_io<HttpReplies>(self, HttpSequence{*calls},
                          [self, calls, guarded](Result<HttpReplies> replies) {
                            self->state.abort_on_exit = nullptr;
                            guarded(judge_sequence(*calls, replies));
                          });
    },
    {}});
  steps.push_back(Step{
    "start_instance",
    [self, op](StepDone done) {
      auto& rt = self->state.rec.runtime;
      rt.boot.configured_us = now_us() - op->status.started_at_us;
      if (is_qemu(self)) {
        start_qemu(self, op, std::move(done));
        return;
      }
      auto call = firecracker::instance_start(rt.api_socket);
      ask_io<HttpReply>(self, call,
                        [self, op, call, done](Result<HttpReply> reply) {
                          auto verdict = reply ? firecracker::judge(call, *reply)
                                               : Status{reply.error()};
                          if (verdict) {
                            auto& boot = self->state.rec.runtime.boot;
                            boot.instance_started_us = now_us() - op->status.started_at_us;
                          }
                          done(verdict);
                        });
    },
    {}});
  return steps;
}

// -- shutdown and readiness ----------------------------------------------------------

void request_shutdown(Self self, const OpPtr& op, StepDone done) {
  if (is_qemu(self)) {
    stage(self, op, "acpi_power_button");
    ask_qmp(self, {qemu::system_powerdown}, [done](Result<std::vector<std::string>> r) {
      done(r ? Status{} : Status{r.error()});
    });
    return;
  }
  stage(self, op, "send_ctrl_alt_del");
  auto call = firecracker::send_ctrl_alt_del(self->state.rec.runtime.api_socket);
  ask_io<HttpReply>(self, call, [call, done](Result<HttpReply> reply) {
    done(reply ? firecracker::judge(call, *reply) : Status{reply.error()});
  });
}

void wait_guest_ready(Self self, const OpPtr& op, StepDone done) {
  stage(self, op, "wait_guest_ready");
  auto& st = self->state;
  auto timeout = st.deps->settings.vmm_boot_timeout;
  auto guarded = once(std::move(done));
  st.abort_on_exit = [guarded] {
    guarded(Error{Errc::vmm_failed, "the VMM exited before the guest was ready"});
  };
  GuestProbe probe{st.rec.runtime.guest_ip, 22, "SSH-", timeout.count()};
  ask_io<Ack>(self, std::move(probe), [self, op, guarded](Result<Ack> r) {
    auto& st = self->state;
    st.abort_on_exit = nullptr;
    if (!r) {
      guarded(Error{r.error().code, "the guest's SSH port did not answer: " + r.error().message
                                      + " (console: " + home_of(self).vm_log(st.rec.id).string()
                                      + ")"});
      return;
    }
    st.rec.runtime.boot.guest_ready_us = now_us() - op->status.started_at_us;
    guarded(Status{});
  });
}

} // namespace banger::vm
