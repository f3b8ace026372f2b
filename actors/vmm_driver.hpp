// What differs between the VMM kinds banger drives, behind one interface; the
// VM actor picks its driver once, when it is made, and the start steps, the
// stop ladder, rollback and teardown around it are the same for every kind
// (vm_start.cpp):
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
//   pause / resume   PATCH /vm Paused / Resumed        QMP stop / cont
//   save_state       (paused) PUT /snapshot/create     (paused) QMP migrate to the state
//                    Full: state + memory files        file (its fd passed with getfd);
//                                                      waits for the MIGRATION event
//                                                      "completed"
//   restore_state    on a fresh VMM with no config:    on a fresh VMM launched with
//                    PUT /snapshot/load, resume_vm     -S -incoming defer: QMP
//                    false (network and vsock named    migrate-incoming from the file
//                    as at save time)                  (fd as for a save); stays
//                                                      paused (resume: cont)
//
// The protocols themselves, as data, are in firecracker_driver.hpp and
// qemu_driver.hpp.
#pragma once

#include "actors/agent_link.hpp"
#include "actors/vm_context.hpp"

#include <string>
#include <string_view>

namespace banger::vm {

class VmmDriver {
public:
  virtual ~VmmDriver() = default;

  /// Adds what this kind needs to the helper's launch request; `boot_args`
  /// is the kernel command line (actors/kernel_command_line.hpp).
  virtual void prepare_launch(Self self, VmmLaunchRequest& request,
                              const std::string& boot_args) const = 0;

  /// Once the VMM's socket (rt.api_socket) answers: gives it the machine,
  /// with the files the helper checked at launch, never the record's copies.
  virtual void configure(Self self, const VmmLaunched& checked, const std::string& boot_args,
                         StepDone done) const = 0;

  /// Lets the guest run; records boot.instance_started_us.
  virtual void start_instance(Self self, const OpPtr& op, StepDone done) const = 0;

  /// Asks the guest to power off (names its own stage). Done once delivered.
  virtual void request_shutdown(Self self, const OpPtr& op, StepDone done) const = 0;

  /// Stops the guest's vCPUs; its memory and devices stay in the VMM.
  virtual void pause(Self self, const OpPtr& op, StepDone done) const = 0;

  /// Lets a paused guest run on.
  virtual void resume(Self self, const OpPtr& op, StepDone done) const = 0;

  /// The guest is paused: writes its whole state to `to`'s files (temporary
  /// names in the VM's directory, which the caller renames once they are
  /// complete and checked). Done once the files are complete; the VMM still
  /// runs, paused. `to.memory_path` is used by the kinds that keep memory
  /// apart (Firecracker).
  virtual void save_state(Self self, const OpPtr& op, const SavedState& to,
                          StepDone done) const = 0;

  /// The VMM was just launched with VmmLaunchRequest::restore and has no
  /// configuration: loads `from` (files whole and checked) and leaves the
  /// guest paused; records boot.configured_us. The caller makes the record
  /// durable before it resumes the guest: a guest that ran after a restore
  /// is never rolled back to that state with a disk that moved on.
  virtual void restore_state(Self self, const OpPtr& op, const VmmLaunched& checked,
                             const SavedState& from, StepDone done) const = 0;

  /// The socket is an HTTP API that keeps connections open (Firecracker):
  /// the connection that found it up is kept for the first call.
  virtual bool keeps_connections() const { return false; }

  /// The kind's name ("firecracker", "qemu"): SavedState::vmm, so a state
  /// is only ever loaded by the kind that wrote it.
  virtual std::string_view name() const = 0;

  /// Where this kind's VMM exposes the guest agent (docs/agent.md).
  virtual AgentEndpoint agent_endpoint(const VmRecord& rec, const HomeLayout& home) const = 0;

  /// A saved state is two files, device state and guest memory
  /// (Firecracker), rather than one stream (QEMU).
  virtual bool keeps_memory_apart() const { return false; }
};

/// The driver for `settings.vmm_kind` ("firecracker", "qemu"). The helper
/// refuses to start with any other kind; here anything else gets
/// Firecracker, the default.
const VmmDriver& vmm_driver(const std::string& kind);

const VmmDriver& firecracker_vmm(); // vmm_firecracker.cpp
const VmmDriver& qemu_vmm();        // vmm_qemu.cpp

} // namespace banger::vm
