// The QEMU driver: the whole machine is on QEMU's command line, which the
// helper builds from validated launch fields; configuring is QMP negotiation,
// starting is checking that query-status says "running", shutdown is the ACPI
// power button. Pause and resume are QMP stop and cont; a saved state is a
// migration stream in a file whose descriptor goes with the QMP exchange
// (qemu_driver.hpp says why), loaded by a QEMU launched with `-S -incoming
// defer`. The QMP exchange itself is data (qemu_driver.hpp).
//
// The guest's clock across a pause or a suspend (Debian's kernel under TCG,
// -M microvm,rtc=on, measured): the guest counts no time while its vCPUs are
// stopped. Its clocksource (TSC, or jiffies once the TSC watchdog gives up
// on it under TCG) and QEMU's virtual clock stop with the VM, and the
// migration stream carries both, so after a resume or restore the guest's
// uptime and its wall clock carry on from where they stopped: the wall clock
// is behind the host's by the time spent paused or suspended, while its
// timers and sleeps are undisturbed. The emulated RTC follows the host's
// clock (QEMU's default -rtc clock=host), and QEMU has no way to step a
// guest's system clock itself (under KVM, kvmclock has the same gap): the
// guest sets its clock from the RTC (banger's image checks every 2 s,
// tools/image/build-image.sh; docs/images.md).
#include "actors/qemu_driver.hpp"
#include "actors/vmm_driver.hpp"

namespace banger::vm {

namespace {

/// One QMP exchange, cut short if the VMM exits meanwhile.
void ask_qmp(Self self, std::vector<std::string> commands,
             std::function<void(Result<std::vector<std::string>>)> then) {
  QmpCall call;
  call.socket = self->state.rec.runtime.api_socket;
  call.commands = std::move(commands);
  call.timeout_ms = qemu::qmp_timeout.count();
  ask_io<QmpReply>(self, std::move(call), [then](Result<QmpReply> reply) {
    if (!reply)
      then(std::move(reply).error());
    else
      then(std::move(reply->returns));
  });
}

/// Sends `commands`, then checks that query-status reports `want`.
void expect_state(Self self, std::vector<std::string> commands, const std::string& want,
                  StepDone done) {
  commands.push_back(qemu::query_status);
  ask_qmp(self, std::move(commands), [want, done](Result<std::vector<std::string>> r) {
    if (!r) {
      done(r.error());
      return;
    }
    auto state = qemu::run_state(r->back());
    if (!state) {
      done(state.error());
      return;
    }
    if (*state != want) {
      done(Error{Errc::vmm_failed, "QEMU reports the guest as '" + *state + "', not " + want});
      return;
    }
    done(Status{});
  });
}

/// After a save's stream is "completed", QEMU's migration thread still has
/// to take QEMU's big lock to move the guest from "finish-migrate" to
/// "postmigrate" (seen here right after the event); a `cont` in between
/// would be undone. Asks again, each time a fresh round trip, until it has.
void await_postmigrate(Self self, int attempts, StepDone done) {
  ask_qmp(self, {qemu::query_status},
          [self, attempts, done](Result<std::vector<std::string>> r) {
            auto state = r ? qemu::run_state(r->front()) : Result<std::string>{r.error()};
            if (!state) {
              done(state.error());
              return;
            }
            if (*state == "finish-migrate" && attempts > 1) {
              await_postmigrate(self, attempts - 1, done);
              return;
            }
            if (*state != "postmigrate") {
              done(Error{Errc::vmm_failed, "QEMU reports the guest as '" + *state
                                             + "' after saving it, not postmigrate"});
              return;
            }
            done(Status{});
          });
}

/// A step the VMM's exit can cut short: `end` completes it once, whichever
/// comes first; `ended` tells a late reply to leave the actor's state alone
/// (abort_on_exit may belong to a later step by then).
struct ExitGuard {
  explicit ExitGuard(StepDone d) : done(std::move(d)) {}
  std::shared_ptr<bool> over = std::make_shared<bool>(false);
  StepDone done;
  bool ended() const { return *over; }
  void end(Status status) const {
    if (*over)
      return;
    *over = true;
    done(std::move(status));
  }
};

/// The exchange that moves a migration stream to or from `file`; ends with
/// the stream (QmpReply::migration).
QmpCall migration_call(Self self, std::vector<std::string> commands, const std::string& file,
                       bool for_writing) {
  QmpCall call;
  call.socket = self->state.rec.runtime.api_socket;
  call.commands = std::move(commands);
  call.timeout_ms = qemu::migration_timeout(self->state.rec.memory_mib).count();
  call.pass_file = file;
  call.pass_for_writing = for_writing;
  call.until_migration_ends = true;
  return call;
}

/// A migration that ended other than "completed": QEMU's reason, from
/// query-migrate's error-desc.
void migration_failed(Self self, const std::string& status, StepDone done) {
  ask_qmp(self, {qemu::query_migrate}, [status, done](Result<std::vector<std::string>> r) {
    std::string why = "QEMU's migration stream was " + status;
    if (r)
      if (auto m = qemu::migration(r->front()); m && !m->error_desc.empty())
        why += ": " + m->error_desc;
    done(Error{Errc::vmm_failed, why});
  });
}

class Qemu final : public VmmDriver {
public:
  std::string_view name() const override { return "qemu"; }

  /// A virtio-serial port whose host end is a Unix socket QEMU serves
  /// (privileged/host/vmm_argv.cpp).
  AgentEndpoint agent_endpoint(const VmRecord& rec, const HomeLayout& home) const override {
    return {home.vm_agent_socket(rec.id).string(), "", ""};
  }

  void prepare_launch(Self self, VmmLaunchRequest& request,
                      const std::string& boot_args) const override {
    auto& rt = self->state.rec.runtime;
    request.boot_args = boot_args;
    request.tap = rt.tap;
    request.mac = rt.mac;
  }

  void configure(Self self, const VmmLaunched&, const std::string&,
                 StepDone done) const override {
    auto guarded = once(std::move(done));
    self->state.abort_on_exit = [guarded] {
      guarded(Error{Errc::vmm_failed, "QEMU exited before it answered on QMP"});
    };
    // Negotiation alone: QEMU answering on QMP is what "configured" means
    // here (the machine came from its command line); start_instance checks
    // the state.
    ask_qmp(self, {}, [self, guarded](Result<std::vector<std::string>> r) {
      self->state.abort_on_exit = nullptr;
      guarded(r ? Status{} : Status{r.error()});
    });
  }

  void start_instance(Self self, const OpPtr& op, StepDone done) const override {
    expect_state(self, {}, "running", [self, op, done](Status running) {
      if (running)
        self->state.rec.runtime.boot.instance_started_us = now_us() - op->status.started_at_us;
      done(std::move(running));
    });
  }

  void pause(Self self, const OpPtr&, StepDone done) const override {
    expect_state(self, {qemu::stop}, "paused", std::move(done));
  }

  void resume(Self self, const OpPtr&, StepDone done) const override {
    // From "paused", and from "postmigrate" after a save.
    expect_state(self, {qemu::cont}, "running", std::move(done));
  }

  void save_state(Self self, const OpPtr&, const SavedState& to, StepDone done) const override {
    ExitGuard guard(std::move(done));
    self->state.abort_on_exit = [guard] {
      guard.end(Error{Errc::vmm_failed, "QEMU exited while saving the guest's state"});
    };
    auto call = migration_call(self, qemu::save_commands(), to.state_path, true);
    ask_io<QmpReply>(self, std::move(call), [self, guard](Result<QmpReply> r) {
      if (guard.ended())
        return;
      self->state.abort_on_exit = nullptr;
      if (!r) {
        // Out of time: QEMU is still writing; it must stop before the
        // caller removes the file. The guest stays paused either way.
        if (r.error().code == Errc::timeout)
          ask_qmp(self, {qemu::migrate_cancel}, [](Result<std::vector<std::string>>) {});
        guard.end(r.error());
        return;
      }
      if (r->migration != "completed") {
        migration_failed(self, r->migration,
                         [guard](Status failed) { guard.end(std::move(failed)); });
        return;
      }
      await_postmigrate(self, 100, [guard](Status settled) { guard.end(std::move(settled)); });
    });
  }

  void restore_state(Self self, const OpPtr& op, const VmmLaunched&, const SavedState& from,
                     StepDone done) const override {
    // A stream QEMU cannot load ("Size mismatch: microvm.ram: ...", "Not a
    // migration stream") makes it print why and exit: the start step's
    // failure then names QEMU's own last log lines (vm_start.cpp).
    ExitGuard guard(std::move(done));
    self->state.abort_on_exit = [guard] {
      guard.end(Error{Errc::vmm_failed, "QEMU exited while loading the saved state"});
    };
    auto call = migration_call(self, qemu::load_commands(), from.state_path, false);
    ask_io<QmpReply>(self, std::move(call), [self, op, guard](Result<QmpReply> r) {
      if (guard.ended())
        return;
      self->state.abort_on_exit = nullptr;
      auto end = [guard](Status status) { guard.end(std::move(status)); };
      if (!r) {
        end(Error{r.error().code, "loading the saved state: " + r.error().message});
        return;
      }
      if (r->migration != "completed") {
        migration_failed(self, r->migration, end);
        return;
      }
      // Launched with -S: the guest stays paused until resume (cont).
      expect_state(self, {}, "paused", [self, op, end](Status paused) {
        if (paused)
          self->state.rec.runtime.boot.configured_us = now_us() - op->status.started_at_us;
        end(std::move(paused));
      });
    });
  }

  void request_shutdown(Self self, const OpPtr& op, StepDone done) const override {
    stage(self, op, "acpi_power_button");
    ask_qmp(self, {qemu::system_powerdown}, [done](Result<std::vector<std::string>> r) {
      done(r ? Status{} : Status{r.error()});
    });
  }
};

} // namespace

const VmmDriver& qemu_vmm() {
  static const Qemu driver;
  return driver;
}

} // namespace banger::vm
