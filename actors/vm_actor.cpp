#include "actors/vm_actor.hpp"

#include "actors/firecracker_driver.hpp"
#include "actors/known_hosts.hpp"
#include "actors/proc.hpp"
#include "actors/step_runner.hpp"
#include "messages/error.hpp"
#include "messages/log.hpp"
#include "messages/op_id.hpp"
#include "messages/oplog.hpp"

#include <caf/all.hpp>

#include <deque>

namespace banger {

namespace {

using deadline_atom = caf::atom_constant<caf::atom("deadline")>;

constexpr auto store_timeout = std::chrono::seconds(60);
constexpr auto helper_timeout = std::chrono::seconds(150);
constexpr auto socket_timeout = std::chrono::milliseconds(5000);

/// A queued request: a lifecycle action, the create work, a reconcile after
/// restart, or the clean-up after the VMM exited on its own.
struct Pending {
  enum class Kind { action, create, reconcile, exited };
  Kind kind = Kind::action;
  VmActionRequest action;
  VmCreateWork create;
  VmReconcile reconcile;
  caf::typed_response_promise<VmRecord> promise;
  bool has_promise = false;
};

struct Op {
  explicit Op(OpLog l) : log(std::move(l)) {}
  OpLog log;
  OperationStatus status;
  caf::typed_response_promise<VmRecord> promise;
  bool has_promise = false;
};
using OpPtr = std::shared_ptr<Op>;

using vm_impl = vm_actor::extend<caf::reacts_to<deadline_atom, std::uint64_t>>;

struct VmActorState {
  VmActorState() = default; // not an aggregate: CAF must not build it from `self`
  VmRecord rec;
  Image image;
  std::shared_ptr<const VmDeps> deps;
  std::deque<Pending> queue;
  bool busy = false;
  bool retired = false;
  /// Exit watch of the current VMM (0: none).
  std::uint64_t exit_token = 0;
  /// Continuation waiting for the VMM to exit (stop, kill, rollback).
  std::function<void(Status)> exit_waiter;
  std::uint64_t deadline_seq = 0;
  /// Set while a start waits on the VMM: an exit aborts the step at once.
  std::function<void()> abort_on_exit;
  static inline const char* name = "vm";
};

using Self = vm_impl::stateful_pointer<VmActorState>;

Error to_error(const caf::error& err) {
  auto v = view(err);
  return Error{v.code, v.message};
}

/// Makes a StepDone that runs at most once: a step may be completed by its
/// reply or cut short by the VMM exiting, whichever comes first.
StepDone once(StepDone done) {
  auto fired = std::make_shared<bool>(false);
  return [fired, done = std::move(done)](Status status) {
    if (*fired)
      return;
    *fired = true;
    done(std::move(status));
  };
}

HomeLayout home_of(Self self) {
  return HomeLayout{self->state.deps->home};
}

// -- talking to other actors ---------------------------------------------------

template <class Reply, class Request>
void ask_helper(Self self, Request request, std::function<void(Result<Reply>)> then) {
  self->request(self->state.deps->helper, helper_timeout, std::move(request))
    .then([then](Reply& reply) { then(std::move(reply)); },
          [then](caf::error& err) { then(to_error(err)); });
}

template <class Reply, class Request>
void ask_io(Self self, Request request, std::chrono::milliseconds timeout,
            std::function<void(Result<Reply>)> then) {
  self->request(self->state.deps->io, timeout + std::chrono::seconds(1), std::move(request))
    .then([then](Reply& reply) { then(std::move(reply)); },
          [then](caf::error& err) { then(to_error(err)); });
}

void publish(Self self) {
  self->send(self->state.deps->registry, VmChanged{self->state.rec});
}

/// Makes the record durable, then continues; the registry learns the change.
void persist(Self self, StepDone then) {
  auto& rec = self->state.rec;
  rec.updated_at_us = now_us();
  publish(self);
  self->request(self->state.deps->store, store_timeout, SaveVm{rec})
    .then([then](Ack) { then(Status{}); },
          [then](caf::error& err) { then(to_error(err)); });
}

Envelope envelope_of(const OpPtr& op) {
  Envelope env;
  env.op_id = op->log.op_id();
  return env;
}

// -- operation bookkeeping ---------------------------------------------------------

void report(Self self, const OpPtr& op) {
  self->send(self->state.deps->operations, OpProgress{op->status});
}

OpPtr begin_op(Self self, const std::string& kind, const std::string& op_id) {
  auto& rec = self->state.rec;
  auto op = std::make_shared<Op>(
    OpLog::begin(kind, op_id, {{"vm_id", rec.id}, {"vm_name", rec.name}}));
  op->status.op_id = op_id;
  op->status.kind = kind;
  op->status.vm_id = rec.id;
  op->status.started_at_us = now_us();
  report(self, op);
  return op;
}

void stage(Self self, const OpPtr& op, const std::string& name) {
  auto now = now_us();
  auto& stages = op->status.stages;
  if (!stages.empty() && stages.back().duration_us < 0)
    stages.back().duration_us = now - stages.back().started_at_us;
  stages.push_back(StageRecord{name, now, -1, true});
  op->status.stage = name;
  op->status.stages_done = static_cast<std::uint32_t>(stages.size() - 1);
  op->log.stage(name);
  self->state.rec.runtime.stage = name;
  report(self, op);
}

void process_next(Self self);

/// Ends the current operation: replies, logs the outcome, takes the next.
void finish(Self self, const OpPtr& op, std::optional<Error> error) {
  auto& st = self->state;
  st.rec.runtime.stage.clear();
  auto now = now_us();
  auto& stages = op->status.stages;
  if (!stages.empty() && stages.back().duration_us < 0) {
    stages.back().duration_us = now - stages.back().started_at_us;
    stages.back().ok = !error;
  }
  op->status.stages_done = static_cast<std::uint32_t>(stages.size());
  op->status.finished_at_us = now;
  // Retired before the reply: a caller that re-creates the name at once must
  // find it free.
  if (st.retired)
    self->send(st.deps->registry, VmRetired{st.rec.id});
  if (error) {
    op->status.outcome = OperationOutcome::failed;
    op->status.error_code = static_cast<std::uint8_t>(error->code);
    op->status.error_message = error->message;
    op->log.fail(*error);
    if (op->has_promise)
      op->promise.deliver(make_error(error->code, error->message, op->log.op_id()));
  } else {
    op->status.outcome = OperationOutcome::succeeded;
    op->log.done({{"state", std::string(to_string(st.rec.runtime.state))}});
    if (op->has_promise)
      op->promise.deliver(st.rec);
  }
  report(self, op);
  if (!st.retired)
    publish(self);
  st.busy = false;
  process_next(self);
}

// -- the VMM process -------------------------------------------------------------

bool vmm_alive(Self self) {
  auto& rt = self->state.rec.runtime;
  return rt.pid > 0 && same_process_alive(rt.pid, rt.pid_start_time);
}

void watch_exit(Self self, StepDone done) {
  if (self->state.exit_token != 0) {
    done(Status{}); // already watched
    return;
  }
  auto& rt = self->state.rec.runtime;
  ask_io<std::uint64_t>(self, ExitWatch{rt.pid, caf::actor_cast<caf::actor>(self)},
                        std::chrono::milliseconds(1000),
                        [self, done](Result<std::uint64_t> token) {
                          if (!token) {
                            done(std::move(token).error());
                            return;
                          }
                          self->state.exit_token = *token;
                          done(Status{});
                        });
}

/// Waits until the VMM exits or `timeout` passes (then: Errc::timeout).
void wait_exit(Self self, std::chrono::milliseconds timeout, StepDone done) {
  auto& st = self->state;
  if (!vmm_alive(self)) {
    done(Status{});
    return;
  }
  auto seq = ++st.deadline_seq;
  st.exit_waiter = once(std::move(done));
  self->delayed_send(self, timeout, deadline_atom::value, seq);
  if (st.exit_token == 0)
    watch_exit(self, [](Status) {}); // a VMM adopted before its watch was set
}

/// Signals the VMM through the helper and waits for it to exit.
void signal_and_wait(Self self, const OpPtr& op, const std::string& signal,
                     std::chrono::milliseconds timeout, StepDone done) {
  auto& rt = self->state.rec.runtime;
  if (!vmm_alive(self)) {
    done(Status{});
    return;
  }
  VmmSignalRequest request{envelope_of(op), self->state.rec.id, rt.pid, rt.pid_start_time, signal};
  ask_helper<Ack>(self, std::move(request), [self, timeout, done](Result<Ack> result) {
    if (!result && vmm_alive(self)) {
      done(std::move(result).error());
      return;
    }
    wait_exit(self, timeout, done);
  });
}

void forget_vmm(Self self) {
  auto& st = self->state;
  if (st.exit_token != 0) {
    self->send(st.deps->io, ExitUnwatch{st.exit_token});
    st.exit_token = 0;
  }
  auto& rt = st.rec.runtime;
  rt.pid = 0;
  rt.pid_start_time = 0;
  rt.api_socket.clear();
  rt.vsock_path.clear();
}

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

StepHooks hooks_for(Self self, const OpPtr& op) {
  StepHooks hooks;
  hooks.on_stage = [self, op](const std::string& name) { stage(self, op, name); };
  hooks.on_undo_error = [op](const std::string& step, const Error& error) {
    log::warn("undo failed", {{"op_id", op->log.op_id()}, {"step", step},
                              {"error", error.message}});
  };
  return hooks;
}

/// Tears down whatever of a start exists (VMM, tap, runtime dir).
void cleanup_runtime(Self self, const OpPtr& op, std::function<void()> then) {
  stage(self, op, "cleanup");
  StepHooks hooks = hooks_for(self, op);
  hooks.on_stage = nullptr;
  run_undo(start_steps(self, op), hooks, [self, then] {
    forget_vmm(self);
    self->state.rec.runtime.tap.clear();
    then();
  });
}

// -- lifecycle operations ---------------------------------------------------------

using Then = std::function<void(std::optional<Error>)>;

void do_start(Self self, const OpPtr& op, Then then) {
  auto& st = self->state;
  auto& rt = st.rec.runtime;
  if (rt.state == VmState::running && vmm_alive(self)) {
    log::info("vm already running", {{"op_id", op->log.op_id()}, {"vm_id", st.rec.id}});
    then(std::nullopt);
    return;
  }
  rt.state = VmState::starting;
  rt.last_error.clear();
  rt.boot = BootTimings{};
  // Durable before the first host change: a crash from here on is
  // reconciled as an interrupted start.
  persist(self, [self, op, then](Status saved) {
    if (!saved) {
      then(saved.error());
      return;
    }
    run_steps(start_steps(self, op), hooks_for(self, op),
              [self, op, then](std::optional<StepFailure> failure) {
                auto& rt = self->state.rec.runtime;
                if (!failure) {
                  rt.state = VmState::running;
                  persist(self, [then](Status s) {
                    then(s ? std::nullopt : std::optional<Error>(s.error()));
                  });
                  return;
                }
                forget_vmm(self);
                rt.tap.clear();
                rt.state = VmState::error;
                rt.last_error = "start failed at " + failure->step + ": "
                                + failure->error.message + " (VMM log: "
                                + home_of(self).vm_log(self->state.rec.id).string() + ")";
                Error error{failure->error.code, rt.last_error};
                persist(self, [then, error](Status) { then(error); });
              });
  });
}

void stopped(Self self, const OpPtr& op, StopRung rung, Then then) {
  cleanup_runtime(self, op, [self, rung, then] {
    auto& rt = self->state.rec.runtime;
    rt.state = VmState::stopped;
    if (rung != StopRung::none)
      rt.last_stop = rung;
    persist(self, [then](Status s) { then(s ? std::nullopt : std::optional<Error>(s.error())); });
  });
}

void do_stop(Self self, const OpPtr& op, Then then) {
  auto& st = self->state;
  if (!vmm_alive(self)) {
    stopped(self, op, StopRung::none, then);
    return;
  }
  st.rec.runtime.state = VmState::stopping;
  publish(self);
  auto grace = st.deps->settings.vmm_stop_grace;
  auto kill_grace = st.deps->settings.vmm_kill_grace;
  stage(self, op, "send_ctrl_alt_del");
  auto call = firecracker::send_ctrl_alt_del(st.rec.runtime.api_socket);
  ask_io<HttpReply>(self, call, firecracker::api_timeout,
                    [self, op, call, grace, kill_grace, then](Result<HttpReply> reply) {
    auto sent = reply ? firecracker::judge(call, *reply) : Status{reply.error()};
    auto escalate = [self, op, kill_grace, then] {
      stage(self, op, "kill_vmm");
      signal_and_wait(self, op, "KILL", kill_grace, [self, op, then](Status killed) {
        if (!killed) {
          then(killed.error());
          return;
        }
        stopped(self, op, StopRung::timeout, then);
      });
    };
    if (!sent) {
      log::warn("graceful shutdown request failed", {{"op_id", op->log.op_id()},
                                                     {"error", sent.error().message}});
      escalate();
      return;
    }
    stage(self, op, "wait_for_exit");
    wait_exit(self, grace, [self, op, then, escalate](Status exited) {
      if (exited)
        stopped(self, op, StopRung::graceful, then);
      else
        escalate();
    });
  });
}

void do_kill(Self self, const OpPtr& op, const std::string& signal, Then then) {
  auto& st = self->state;
  if (!vmm_alive(self)) {
    stopped(self, op, StopRung::none, then);
    return;
  }
  auto name = signal.empty() ? std::string("TERM") : signal;
  auto kill_grace = st.deps->settings.vmm_kill_grace;
  stage(self, op, "signal_vmm");
  auto& rt = st.rec.runtime;
  VmmSignalRequest request{envelope_of(op), st.rec.id, rt.pid, rt.pid_start_time, name};
  ask_helper<Ack>(self, std::move(request), [self, op, kill_grace, then](Result<Ack> sent) {
    if (!sent) {
      // Refused (bad signal...) before anything changed: state stays as is.
      then(std::move(sent).error());
      return;
    }
    self->state.rec.runtime.state = VmState::stopping;
    publish(self);
    stage(self, op, "wait_for_exit");
    wait_exit(self, kill_grace, [self, op, kill_grace, then](Status exited) {
      if (exited) {
        stopped(self, op, StopRung::signal, then);
        return;
      }
      stage(self, op, "kill_vmm");
      signal_and_wait(self, op, "KILL", kill_grace, [self, op, then](Status killed) {
        if (!killed)
          then(killed.error());
        else
          stopped(self, op, StopRung::signal, then);
      });
    });
  });
}

void do_delete(Self self, const OpPtr& op, Then then) {
  auto& st = self->state;
  auto kill_grace = st.deps->settings.vmm_kill_grace;
  auto after_kill = [self, op, then](Status killed) {
    if (!killed) {
      then(killed.error());
      return;
    }
    cleanup_runtime(self, op, [self, op, then] {
      stage(self, op, "release_rootfs");
      ask_helper<Ack>(self, RootfsReleaseRequest{envelope_of(op), self->state.rec.id},
                      [self, op, then](Result<Ack> released) {
        if (!released && released.error().code != Errc::not_found) {
          then(std::move(released).error());
          return;
        }
        stage(self, op, "delete_record");
        self->request(self->state.deps->store, store_timeout, EraseVm{self->state.rec.id})
          .then(
            [self, op, then](Ack) {
              auto pins = remove_host_key_pins(home_of(self).known_hosts(),
                                               self->state.rec.runtime.guest_ip);
              if (!pins)
                log::warn("could not remove SSH host-key pins",
                          {{"op_id", op->log.op_id()}, {"error", pins.error().message}});
              self->state.retired = true;
              then(std::nullopt);
            },
            [then](caf::error& err) { then(to_error(err)); });
      });
    });
  };
  if (vmm_alive(self)) {
    stage(self, op, "kill_vmm");
    signal_and_wait(self, op, "KILL", kill_grace, after_kill);
  } else {
    after_kill(Status{});
  }
}

void do_create(Self self, const OpPtr& op, const VmCreateWork& work, Then then) {
  stage(self, op, "prepare_rootfs");
  auto id = self->state.rec.id;
  ask_helper<RootfsPrepared>(
    self, RootfsPrepareRequest{envelope_of(op), id, work.image_rootfs},
    [self, op, work, then](Result<RootfsPrepared> prepared) {
      auto& rec = self->state.rec;
      if (!prepared) {
        // Nothing half-made stays behind: no rootfs, no record.
        auto error = std::move(prepared).error();
        ask_helper<Ack>(self, RootfsReleaseRequest{envelope_of(op), rec.id},
                        [self, then, error](Result<Ack>) {
          self->request(self->state.deps->store, store_timeout, EraseVm{self->state.rec.id})
            .then([self, then, error](Ack) {
                    self->state.retired = true;
                    then(error);
                  },
                  [then, error](caf::error&) { then(error); });
        });
        return;
      }
      rec.runtime.rootfs_path = prepared->path;
      rec.runtime.vm_dir = home_of(self).vm_dir(rec.id).string();
      rec.runtime.log_path = home_of(self).vm_log(rec.id).string();
      op->log.stage("rootfs_ready", {{"strategy", prepared->strategy}});
      persist(self, [self, op, work, then](Status saved) {
        if (!saved) {
          then(saved.error());
          return;
        }
        if (work.start)
          do_start(self, op, then);
        else
          then(std::nullopt);
      });
    });
}

/// After a daemon restart: adopt a live VMM, or clean up what is left.
void do_reconcile(Self self, const OpPtr& op, const VmReconcile& work, Then then) {
  auto& st = self->state;
  auto& rt = st.rec.runtime;
  // VMMs of this VM that the record does not know (a start interrupted
  // between launch and persist) are killed first.
  auto strays = std::make_shared<std::vector<VmmProcess>>();
  for (const auto& vmm : work.inventory.vmms)
    if (vmm.pid != rt.pid || vmm.start_time != rt.pid_start_time)
      strays->push_back(vmm);
  auto kill_strays = std::make_shared<std::function<void(std::size_t, std::function<void()>)>>();
  *kill_strays = [self, op, strays, kill_strays](std::size_t i, std::function<void()> done) {
    if (i == strays->size()) {
      done();
      *kill_strays = nullptr;
      return;
    }
    auto& vmm = (*strays)[i];
    log::warn("killing a VMM no record owns", {{"op_id", op->log.op_id()},
                                              {"vm_id", self->state.rec.id}, {"pid", vmm.pid}});
    VmmSignalRequest kill{envelope_of(op), self->state.rec.id, vmm.pid, vmm.start_time, "KILL"};
    ask_helper<Ack>(self, std::move(kill),
                    [kill_strays, i, done](Result<Ack>) { (*kill_strays)(i + 1, done); });
  };
  (*kill_strays)(0, [self, op, then] {
    auto& rt = self->state.rec.runtime;
    bool alive = vmm_alive(self);
    if (alive && rt.state == VmState::running) {
      stage(self, op, "adopt_vmm");
      watch_exit(self, [self, op, then](Status watched) {
        if (watched) {
          log::info("adopted running VMM", {{"op_id", op->log.op_id()},
                                           {"vm_id", self->state.rec.id},
                                           {"pid", self->state.rec.runtime.pid}});
          then(std::nullopt);
        } else {
          stopped(self, op, StopRung::none, then);
        }
      });
      return;
    }
    auto was = rt.state;
    auto after = [self, was, then](std::optional<Error> error) {
      auto& rt = self->state.rec.runtime;
      if (was == VmState::starting) {
        rt.state = VmState::error;
        rt.last_error = "start interrupted by a daemon restart";
        persist(self, [then](Status) { then(std::nullopt); });
        return;
      }
      if (was == VmState::created && rt.rootfs_path.empty()) {
        rt.state = VmState::error;
        rt.last_error = "create interrupted by a daemon restart; delete and create again";
        persist(self, [then](Status) { then(std::nullopt); });
        return;
      }
      then(error);
    };
    if (alive) {
      // A VMM caught mid-start or mid-stop: its operation is gone, end it.
      stage(self, op, "kill_vmm");
      signal_and_wait(self, op, "KILL", self->state.deps->settings.vmm_kill_grace,
                      [self, op, after](Status) { stopped(self, op, StopRung::none, after); });
      return;
    }
    if (was == VmState::running || was == VmState::starting || was == VmState::stopping
        || !rt.tap.empty() || rt.pid != 0) {
      if (was == VmState::running)
        rt.last_error = "the VMM exited while the daemon was down";
      stopped(self, op, StopRung::none, after);
      return;
    }
    after(std::nullopt);
  });
}

/// The VMM went away without anyone asking: clean up and say so.
void do_exited(Self self, const OpPtr& op, Then then) {
  auto& rt = self->state.rec.runtime;
  log::warn("VMM exited on its own", {{"op_id", op->log.op_id()},
                                      {"vm_id", self->state.rec.id}, {"pid", rt.pid}});
  rt.last_error = "the VMM exited on its own (VMM log: "
                  + home_of(self).vm_log(self->state.rec.id).string() + ")";
  stopped(self, op, StopRung::none, then);
}

// -- the queue ----------------------------------------------------------------------

std::string op_name(const Pending& p) {
  switch (p.kind) {
    case Pending::Kind::create:
      return "vm.create";
    case Pending::Kind::reconcile:
      return "vm.reconcile";
    case Pending::Kind::exited:
      return "vm.vmm_exited";
    case Pending::Kind::action:
      break;
  }
  switch (p.action.action) {
    case VmAction::start:
      return "vm.start";
    case VmAction::stop:
      return "vm.stop";
    case VmAction::kill:
      return "vm.kill";
    case VmAction::restart:
      return "vm.restart";
    case VmAction::remove:
      return "vm.delete";
  }
  return "vm.unknown";
}

std::string op_id_of(const Pending& p) {
  switch (p.kind) {
    case Pending::Kind::create:
      return p.create.env.op_id;
    case Pending::Kind::reconcile:
      return p.reconcile.env.op_id;
    case Pending::Kind::exited:
      return mint_op_id();
    case Pending::Kind::action:
      return p.action.env.op_id;
  }
  return mint_op_id();
}

void process_next(Self self) {
  auto& st = self->state;
  if (st.retired) {
    Error gone{Errc::not_found, "VM " + st.rec.name + " was deleted"};
    for (auto& p : st.queue)
      if (p.has_promise)
        p.promise.deliver(make_error(gone.code, gone.message, op_id_of(p)));
    st.queue.clear();
    self->quit();
    return;
  }
  if (st.busy || st.queue.empty())
    return;
  auto pending = std::move(st.queue.front());
  st.queue.pop_front();
  st.busy = true;
  auto op = begin_op(self, op_name(pending), op_id_of(pending));
  op->promise = pending.promise;
  op->has_promise = pending.has_promise;
  auto then = [self, op](std::optional<Error> error) { finish(self, op, std::move(error)); };
  switch (pending.kind) {
    case Pending::Kind::create:
      do_create(self, op, pending.create, then);
      return;
    case Pending::Kind::reconcile:
      do_reconcile(self, op, pending.reconcile, then);
      return;
    case Pending::Kind::exited:
      do_exited(self, op, then);
      return;
    case Pending::Kind::action:
      break;
  }
  switch (pending.action.action) {
    case VmAction::start:
      do_start(self, op, then);
      return;
    case VmAction::stop:
      do_stop(self, op, then);
      return;
    case VmAction::kill:
      do_kill(self, op, pending.action.signal, then);
      return;
    case VmAction::restart:
      do_stop(self, op, [self, op, then](std::optional<Error> error) {
        if (error) {
          then(error);
          return;
        }
        do_start(self, op, then);
      });
      return;
    case VmAction::remove:
      do_delete(self, op, then);
      return;
  }
}

caf::result<VmRecord> enqueue(Self self, Pending pending) {
  auto& st = self->state;
  auto op_id = op_id_of(pending);
  if (st.retired)
    return make_error(Errc::not_found, "VM " + st.rec.name + " was deleted", op_id);
  if (st.queue.size() >= st.deps->settings.daemon_vm_queue)
    return make_error(Errc::busy,
                      "VM " + st.rec.name + " has " + std::to_string(st.queue.size())
                        + " requests waiting; try again later",
                      op_id);
  pending.promise = self->make_response_promise<VmRecord>();
  pending.has_promise = true;
  auto promise = pending.promise;
  st.queue.push_back(std::move(pending));
  process_next(self);
  return promise;
}

vm_impl::behavior_type vm_behavior(Self self, VmRecord record, Image image,
                                   std::shared_ptr<const VmDeps> deps) {
  self->state.rec = std::move(record);
  self->state.image = std::move(image);
  self->state.deps = std::move(deps);
  // A VMM that survived a daemon restart is watched from the first moment,
  // before reconciliation with the helper's inventory.
  if (vmm_alive(self))
    watch_exit(self, [](Status) {});
  return {
    [self](VmShowRequest&) -> caf::result<VmRecord> { return self->state.rec; },
    [self](VmActionRequest& request) {
      Pending p;
      p.kind = Pending::Kind::action;
      p.action = std::move(request);
      return enqueue(self, std::move(p));
    },
    [self](VmCreateWork& work) {
      Pending p;
      p.kind = Pending::Kind::create;
      p.create = std::move(work);
      return enqueue(self, std::move(p));
    },
    [self](VmReconcile& work) -> caf::result<VmRecord> {
      auto& rt = self->state.rec.runtime;
      bool idle = (rt.state == VmState::created && !rt.rootfs_path.empty())
                  || rt.state == VmState::stopped || rt.state == VmState::error;
      if (idle && rt.pid == 0 && work.inventory.vmms.empty() && work.inventory.taps.empty()
          && work.inventory.run_dirs.empty())
        return self->state.rec; // nothing on the host to reconcile
      Pending p;
      p.kind = Pending::Kind::reconcile;
      p.reconcile = std::move(work);
      return enqueue(self, std::move(p));
    },
    [self](VmmExited& exited) {
      auto& st = self->state;
      if (exited.pid != st.rec.runtime.pid)
        return;
      st.exit_token = 0;
      if (st.exit_waiter) {
        auto waiter = std::move(st.exit_waiter);
        st.exit_waiter = nullptr;
        waiter(Status{});
        return;
      }
      if (st.abort_on_exit) {
        auto abort = std::move(st.abort_on_exit);
        st.abort_on_exit = nullptr;
        abort();
        return;
      }
      if (st.busy)
        return; // the running operation notices through vmm_alive()
      Pending p;
      p.kind = Pending::Kind::exited;
      st.queue.push_back(std::move(p));
      process_next(self);
    },
    [self](deadline_atom, std::uint64_t seq) {
      auto& st = self->state;
      if (seq != st.deadline_seq || !st.exit_waiter)
        return;
      auto waiter = std::move(st.exit_waiter);
      st.exit_waiter = nullptr;
      waiter(Error{Errc::timeout, "the VMM did not exit in time"});
    },
  };
}

} // namespace

vm_actor spawn_vm_actor(caf::actor_system& sys, VmRecord record, Image image,
                        std::shared_ptr<const VmDeps> deps) {
  auto impl = sys.spawn(vm_behavior, std::move(record), std::move(image), std::move(deps));
  return caf::actor_cast<vm_actor>(impl);
}

} // namespace banger
