// Reading processes from /proc: is this pid still the process we started?
#pragma once

#include <cstdint>
#include <optional>

namespace banger {

/// starttime (field 22 of /proc/<pid>/stat), nullopt when the process is gone
/// or a zombie.
std::optional<std::uint64_t> process_start_time(int pid);

/// The fields of /proc/<pid>/stat the metrics need (proc(5)); CPU times
/// and the start time in clock ticks.
struct ProcStat {
  std::uint64_t utime = 0, stime = 0;
  std::uint64_t num_threads = 0;
  std::uint64_t start_time = 0;
  std::uint64_t vsize = 0;     ///< bytes
  std::uint64_t rss_pages = 0;
};
/// Nothing for a process that is gone or a zombie.
std::optional<ProcStat> read_proc_stat(int pid);

/// True when `pid` is alive and is the same process (same start time).
bool same_process_alive(int pid, std::uint64_t start_time);

} // namespace banger
