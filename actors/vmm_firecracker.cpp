// The Firecracker driver: the machine is configured over the API socket
// after launch (five PUTs in one HttpSequence), then InstanceStart; shutdown
// is SendCtrlAltDel; pause and resume are PATCH /vm; a suspend is a Full
// snapshot of the paused guest, and its restore a snapshot load, paused, as
// the fresh VMM's only configuration. The calls themselves are data
// (firecracker_driver.hpp).
#include "messages/agent_wire.hpp"
#include "actors/firecracker_driver.hpp"
#include "actors/vmm_driver.hpp"

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

class Firecracker final : public VmmDriver {
public:
  bool keeps_connections() const override { return true; }
  std::string_view name() const override { return "firecracker"; }

  /// Firecracker's vsock device: a host-initiated connection is a
  /// connection to the vsock socket and a "CONNECT <port>" line, answered
  /// "OK <host port>" once the guest accepted it.
  AgentEndpoint agent_endpoint(const VmRecord& rec, const HomeLayout& home) const override {
    auto socket = rec.runtime.vsock_path.empty() ? home.vm_vsock(rec.id).string()
                                                 : rec.runtime.vsock_path;
    return {socket, "CONNECT " + std::to_string(agent::vsock_port) + "\n", "OK "};
  }
  bool keeps_memory_apart() const override { return true; }

  void prepare_launch(Self, VmmLaunchRequest&, const std::string&) const override {
    // Nothing more: Firecracker gets its machine over the API (configure).
  }

  void configure(Self self, const VmmLaunched& checked, const std::string& boot_args,
                 StepDone done) const override {
    auto& st = self->state;
    auto& rec = st.rec;
    firecracker::BootConfig boot;
    boot.kernel_path = checked.kernel_path;
    boot.initrd_path = checked.initrd_path;
    boot.boot_args = boot_args;
    boot.rootfs_path = checked.rootfs_path;
    boot.tap = rec.runtime.tap;
    boot.mac = rec.runtime.mac;
    boot.cpus = rec.cpus;
    boot.memory_mib = rec.memory_mib;
    boot.vsock_cid = rec.runtime.vsock_cid;
    boot.vsock_path = checked.vsock_path;
    rec.runtime.vsock_path = boot.vsock_path;
    auto calls = std::make_shared<std::vector<HttpCall>>(
      firecracker::configure_calls(rec.runtime.api_socket, boot));
    auto guarded = once(std::move(done));
    st.abort_on_exit = [guarded] {
      guarded(Error{Errc::vmm_failed, "the VMM exited while being configured"});
    };
    // One message: the reactor runs the PUTs back to back and stops at the
    // first failure; each reply is judged here, in order.
    ask_io<HttpReplies>(self, HttpSequence{*calls},
                        [self, calls, guarded](Result<HttpReplies> replies) {
                          self->state.abort_on_exit = nullptr;
                          guarded(judge_sequence(*calls, replies));
                        });
  }

  void start_instance(Self self, const OpPtr& op, StepDone done) const override {
    auto call = firecracker::instance_start(self->state.rec.runtime.api_socket);
    ask_io<HttpReply>(self, call, [self, op, call, done](Result<HttpReply> reply) {
      auto verdict = reply ? firecracker::judge(call, *reply) : Status{reply.error()};
      if (verdict) {
        auto& boot = self->state.rec.runtime.boot;
        boot.instance_started_us = now_us() - op->status.started_at_us;
      }
      done(verdict);
    });
  }

  void pause(Self self, const OpPtr&, StepDone done) const override {
    ask(self, firecracker::pause_vm(self->state.rec.runtime.api_socket), std::move(done));
  }

  void resume(Self self, const OpPtr&, StepDone done) const override {
    ask(self, firecracker::resume_vm(self->state.rec.runtime.api_socket), std::move(done));
  }

  void save_state(Self self, const OpPtr&, const SavedState& to, StepDone done) const override {
    auto& rec = self->state.rec;
    ask(self, firecracker::create_snapshot(rec.runtime.api_socket, to, rec.memory_mib),
        std::move(done));
  }

  void restore_state(Self self, const OpPtr& op, const VmmLaunched& checked,
                     const SavedState& from, StepDone done) const override {
    auto& rt = self->state.rec.runtime;
    // The snapshot names the tap and vsock socket of the VMM that saved it;
    // this VMM gets the ones it runs with now (the same names for the same
    // VM, but only the helper's checked socket path is trusted).
    firecracker::RestoreConfig restore{from.state_path, from.memory_path, rt.tap,
                                       checked.vsock_path};
    rt.vsock_path = checked.vsock_path;
    auto call = firecracker::load_snapshot(rt.api_socket, restore);
    ask_io<HttpReply>(self, call, [self, op, call, done](Result<HttpReply> reply) {
      auto verdict = reply ? firecracker::judge(call, *reply) : Status{reply.error()};
      // The load is the whole configuration; the guest is started by the
      // caller's resume.
      if (verdict)
        self->state.rec.runtime.boot.configured_us = now_us() - op->status.started_at_us;
      done(verdict);
    });
  }

  void request_shutdown(Self self, const OpPtr& op, StepDone done) const override {
    stage(self, op, "send_ctrl_alt_del");
    ask(self, firecracker::send_ctrl_alt_del(self->state.rec.runtime.api_socket), std::move(done));
  }

private:
  /// One call; done with Firecracker's verdict on it.
  static void ask(Self self, HttpCall call, StepDone done) {
    ask_io<HttpReply>(self, call, [call, done](Result<HttpReply> reply) {
      done(reply ? firecracker::judge(call, *reply) : Status{reply.error()});
    });
  }
};

} // namespace

const VmmDriver& firecracker_vmm() {
  static const Firecracker driver;
  return driver;
}

} // namespace banger::vm
