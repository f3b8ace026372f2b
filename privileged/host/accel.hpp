// Which accelerator QEMU gets: KVM only where the host's KVM can run an
// ordinary guest kernel, TCG (software emulation) otherwise.
//
// Some hosts expose a /dev/kvm that is not hardware virtualization: kvm_pvm
// (a paravirtualized KVM for nested clouds) accepts ordinary guest kernels and
// then hangs them. "Is /dev/kvm there?" is therefore not the question; banger
// asks for the CPU's VMX/SVM flag and the matching kvm_intel/kvm_amd module,
// and refuses kvm_pvm by name.
#pragma once

#include "messages/result.hpp"
#include "privileged/host/vmm_argv.hpp"

#include <string>

namespace banger::host {

/// What the host says about KVM (gathered by kvm_facts(), or made up in tests).
struct KvmFacts {
  bool dev_kvm = false;       ///< /dev/kvm exists and opens read-write
  bool cpu_vmx_or_svm = false; ///< /proc/cpuinfo flags: vmx (Intel) or svm (AMD)
  bool kvm_hw_module = false; ///< /sys/module/kvm_intel or /sys/module/kvm_amd
  bool kvm_pvm = false;       ///< /sys/module/kvm_pvm
};

KvmFacts kvm_facts();

struct AccelChoice {
  Accel accel = Accel::tcg;
  std::string reason; ///< why, in words for the log and `daemon status`
};

/// `setting` is vmm.accel: "auto" picks, "tcg" is always possible, "kvm" is
/// an error (invalid_argument, with the reason) where KVM cannot run guests.
Result<AccelChoice> choose_accel(std::string_view setting, const KvmFacts& facts);

/// The host's TSC frequency in kHz (what a TCG guest's TSC ticks at), from
/// the kernel's own calibration in its log, else /proc/cpuinfo; 0 if unknown.
std::uint32_t host_tsc_khz();

} // namespace banger::host
