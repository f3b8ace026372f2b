// Pieces shared by the VMM's translation units (vmm.cpp: state and replies;
// vmm_dispatch.cpp: the pre-boot and runtime controllers; vmm_resources.cpp:
// pre-boot configuration; vmm_runtime.cpp: post-boot operations and the
// config file; vmm_snapshot.cpp: snapshots and the guest they keep).
#pragma once

#include "tools/fc-stub/vmm.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace banger::fc_stub {

enum class Vmm::Category {
  Plain,
  BootSource,
  Drive,
  Network,
  Vsock,
  Machine,
  Balloon,
  BalloonUpdate,
  Logger,
  Metrics,
  MmdsConfig,
  Mmds,
  MmdsLimit,
  Entropy,
  Pmem,
  MemoryHotplug,
  MemoryHotplugUpdate,
  StartMicrovm,
  LoadSnapshot,
  CreateSnapshot,
  InternalVmm,
};

namespace vmm_support {

inline constexpr std::string_view not_supported_post_boot =
    "The requested operation is not supported after starting the microVM.";
inline constexpr std::string_view not_supported_pre_boot =
    "The requested operation is not supported before starting the microVM.";

/// Opens and closes a file with the access Firecracker would use; returns
/// the errno, 0 on success.
int probe_file(const std::string& path, int flags);

bool is_null_or_absent(const OrderedJson& object, const char* key);

/// Index of the device whose `key` equals `id`, or devices.size().
std::size_t find_by(const std::vector<OrderedJson>& devices, const char* key,
                    const OrderedJson& id);

} // namespace vmm_support
} // namespace banger::fc_stub
