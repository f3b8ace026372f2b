// The QEMU driver: the whole machine is on QEMU's command line, which the
// helper builds from validated launch fields; configuring is QMP negotiation,
// starting is checking that query-status says "running", shutdown is the ACPI
// power button. The QMP exchange itself is data (qemu_driver.hpp).
#include "actors/qemu_driver.hpp"
#include "actors/vmm_driver.hpp"

namespace banger::vm {

namespace {

/// One QMP exchange, cut short if the VMM exits meanwhile.
void ask_qmp(Self self, std::vector<std::string> commands,
             std::function<void(Result<std::vector<std::string>>)> then) {
  QmpCall call{self->state.rec.runtime.api_socket, std::move(commands), qemu::qmp_timeout.count()};
  ask_io<QmpReply>(self, std::move(call), [then](Result<QmpReply> reply) {
    if (!reply)
      then(std::move(reply).error());
    else
      then(std::move(reply->returns));
  });
}

class Qemu final : public VmmDriver {
public:
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

  // Filled in with the pause/suspend work; refused until then.
  void pause(Self, const OpPtr&, StepDone done) const override { todo(done); }
  void resume(Self, const OpPtr&, StepDone done) const override { todo(done); }
  void save_state(Self, const OpPtr&, const SavedState&, StepDone done) const override {
    todo(done);
  }
  void restore_state(Self, const OpPtr&, const VmmLaunched&, const SavedState&,
                     StepDone done) const override {
    todo(done);
  }
  static void todo(StepDone& done) {
    done(Error{Errc::internal, "not supported by this VMM kind yet"});
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
