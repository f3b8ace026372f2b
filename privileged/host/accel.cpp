#include "privileged/host/accel.hpp"

#include "privileged/host/errors.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace banger::host {

namespace {

bool cpu_has_virtualization() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("flags", 0) != 0)
      continue;
    std::istringstream flags(line.substr(line.find(':') + 1));
    std::string flag;
    while (flags >> flag)
      if (flag == "vmx" || flag == "svm")
        return true;
    return false; // every CPU lists the same flags
  }
  return false;
}

/// Why KVM cannot run an ordinary guest here; empty when it can.
std::string kvm_unusable(const KvmFacts& f) {
  if (f.kvm_pvm)
    return "this host's KVM is kvm_pvm (paravirtualized), which hangs ordinary guest kernels";
  if (!f.dev_kvm)
    return "/dev/kvm is missing or not accessible";
  if (!f.cpu_vmx_or_svm)
    return "the CPU shows no hardware virtualization (vmx/svm)";
  if (!f.kvm_hw_module)
    return "neither kvm_intel nor kvm_amd is loaded";
  return {};
}

} // namespace

KvmFacts kvm_facts() {
  KvmFacts f;
  int fd = ::open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (fd >= 0) {
    f.dev_kvm = true;
    ::close(fd);
  }
  f.cpu_vmx_or_svm = cpu_has_virtualization();
  std::error_code ec;
  f.kvm_hw_module = std::filesystem::exists("/sys/module/kvm_intel", ec)
                    || std::filesystem::exists("/sys/module/kvm_amd", ec);
  f.kvm_pvm = std::filesystem::exists("/sys/module/kvm_pvm", ec);
  return f;
}

Result<AccelChoice> choose_accel(std::string_view setting, const KvmFacts& facts) {
  auto why_not = kvm_unusable(facts);
  if (setting == "tcg")
    return AccelChoice{Accel::tcg, "vmm.accel=tcg"};
  if (setting == "kvm") {
    if (!why_not.empty())
      return invalid_argument("vmm.accel=kvm, but " + why_not + "; use vmm.accel=auto or tcg");
    return AccelChoice{Accel::kvm, "vmm.accel=kvm"};
  }
  if (setting == "auto") {
    if (why_not.empty())
      return AccelChoice{Accel::kvm, "auto: hardware KVM available"};
    return AccelChoice{Accel::tcg, "auto: " + why_not};
  }
  return invalid_argument("vmm.accel " + printable(setting) + " is not one of auto, kvm, tcg");
}

} // namespace banger::host
