// Whether a VM's size can run on this host at all, checked at create before
// anything is spawned: a VMM asked for more memory than the host has fails
// mid-start ("cannot set up guest memory ... Cannot allocate memory"), and
// more vCPUs than host CPUs only run if the host time-shares them.
//
// Memory is held to MemTotal, not MemAvailable: guest memory is allocated
// lazily (neither Firecracker nor QEMU touches it before the guest does),
// so a VM larger than what is free right now still starts and runs as long
// as the guest does not use it all, and MemAvailable moves with the page
// cache, which would make the same create pass or fail from one minute to
// the next. More than MemTotal can never be backed by RAM and is what the
// kernel's default overcommit heuristic refuses outright. What running VMs
// already use is not subtracted, for the same reason.
#pragma once

#include "messages/result.hpp"

#include <cstdint>

namespace banger {

/// What this host has in all (the node's HostCapacity adds what is free).
struct HostTotals {
  std::uint32_t cpus = 0;       ///< online CPUs (0: unknown, not checked)
  std::uint64_t memory_mib = 0; ///< MemTotal (0: unknown, not checked)
};

/// This host's online CPUs and MemTotal.
HostTotals host_capacity();

/// `memory_mib` from /proc/meminfo text (its MemTotal line), 0 if absent.
std::uint64_t mem_total_mib(const std::string& meminfo);

/// invalid_argument when `cpus` or `memory_mib` exceed `host` (vCPUs only
/// unless `cpu_overcommit`, the vmm.cpu-overcommit setting).
Status fits_host(std::uint32_t cpus, std::uint32_t memory_mib, const HostTotals& host,
                 bool cpu_overcommit);

} // namespace banger
