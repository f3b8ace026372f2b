#include "actors/vmm_driver.hpp"

#include <string_view>
#include <utility>

namespace banger::vm {

const VmmDriver& vmm_driver(const std::string& kind) {
  // The one place a kind's name means something to the daemon.
  static const std::pair<std::string_view, const VmmDriver& (*)()> kinds[] = {
    {"firecracker", &firecracker_vmm},
    {"qemu", &qemu_vmm},
  };
  for (const auto& [name, driver] : kinds)
    if (name == kind)
      return driver();
  return firecracker_vmm();
}

} // namespace banger::vm
