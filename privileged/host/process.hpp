// VMM processes: spawning one, and naming a process so that a recycled pid
// can never be mistaken for it.
//
// Reaping: banger-helper must not leave exited VMMs as zombies. It is
// expected to set SIGCHLD to SIG_IGN at startup (the kernel then reaps its
// children); launch_vmm resets SIGCHLD to SIG_DFL in the child before exec,
// because an ignored SIGCHLD survives execve and would break the VMM's own
// child handling. Callers that keep SIGCHLD at its default (tests) reap with
// waitpid themselves.
#pragma once

#include "messages/home_layout.hpp"
#include "messages/result.hpp"
#include "privileged/host/unique_fd.hpp"
#include "privileged/host/vmm_argv.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

namespace banger::host {

/// A process as the helper names it: a pid alone may be recycled, a pid with
/// its start time may not.
struct ProcessIdentity {
  pid_t pid = 0;
  /// Clock ticks after boot: field 22 of /proc/<pid>/stat.
  std::uint64_t start_time = 0;
  bool operator==(const ProcessIdentity&) const = default;
};

/// The parts of /proc/<pid>/stat the helper looks at.
struct ProcessStat {
  ProcessIdentity identity;
  pid_t parent = 0;
  /// R, S, D, Z, T...
  char state = '?';
};

/// not_found if there is no such process.
Result<ProcessStat> read_process_stat(pid_t pid);
/// The same from the text of /proc/<pid>/stat.
Result<ProcessStat> parse_process_stat(pid_t pid, std::string_view text);
Result<ProcessIdentity> read_identity(pid_t pid);

/// A VMM this helper just started.
struct LaunchedVmm {
  ProcessIdentity identity;
  /// The VMM's pidfd (from clone, so it is this very process): poll it to learn
  /// the exit, or drop it.
  UniqueFd pidfd;
  std::vector<std::string> argv;
};

/// Starts the VMM of a validated spec: clone (CLONE_VM, CLONE_VFORK) + execve of spec.binary with
/// vmm_argv(spec) and the helper's own environment, in a new session, stdin
/// /dev/null, stdout and stderr appended to the VM's vmm.log (created 0640,
/// owned by spec.run_as), signal mask and dispositions reset, other
/// descriptors closed, switched to spec.run_as if set. The run directory
/// must exist; a stale API or QMP socket in it is removed first. A failure
/// before or in execve is reported with its errno, and the child is reaped.
Result<LaunchedVmm> launch_vmm(const VmmSpec& spec, const HomeLayout& layout);

} // namespace banger::host
