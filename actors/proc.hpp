// Reading processes from /proc: is this pid still the process we started?
#pragma once

#include <cstdint>
#include <optional>

namespace banger {

/// starttime (field 22 of /proc/<pid>/stat), nullopt when the process is gone
/// or a zombie.
std::optional<std::uint64_t> process_start_time(int pid);

/// True when `pid` is alive and is the same process (same start time).
bool same_process_alive(int pid, std::uint64_t start_time);

} // namespace banger
