#include "privileged/host/accel.hpp"

#include "privileged/host/errors.hpp"

#include <fcntl.h>
#include <sys/klog.h>
#include <unistd.h>

#include <cstdlib>
#include <vector>

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

namespace {

/// "<prefix><number> MHz" in `text` -> kHz (last occurrence), 0 if absent.
std::uint32_t mhz_after(const std::string& text, const std::string& prefix) {
  auto at = text.rfind(prefix);
  if (at == std::string::npos)
    return 0;
  double mhz = std::strtod(text.c_str() + at + prefix.size(), nullptr);
  return mhz > 100 && mhz < 100000 ? static_cast<std::uint32_t>(mhz * 1000 + 0.5) : 0;
}

} // namespace

std::uint32_t host_tsc_khz() {
  // The kernel log (the helper is root): the refined calibration is the
  // precise one; early boot lines may have rotated out on old hosts.
  int size = ::klogctl(10 /* SYSLOG_ACTION_SIZE_BUFFER */, nullptr, 0);
  if (size > 0) {
    std::string log(static_cast<std::size_t>(size), '\0');
    int n = ::klogctl(3 /* SYSLOG_ACTION_READ_ALL */, log.data(), size);
    if (n > 0) {
      log.resize(static_cast<std::size_t>(n));
      if (auto khz = mhz_after(log, "tsc: Refined TSC clocksource calibration: "))
        return khz;
      if (auto khz = mhz_after(log, "tsc: Detected "))
        return khz;
    }
  }
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line))
    if (line.rfind("cpu MHz", 0) == 0)
      return mhz_after(line, ": ");
  return 0;
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
