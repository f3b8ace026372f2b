// Which processes are banger's VMMs, and signalling them. A process qualifies
// if this helper launched it (LaunchedVmms) or if it passes
// verify_banger_vmm: same start time, a configured VMM executable, and a
// command line that names this VM's run directory.
//
// Signals never go to a pid. A VMM this helper launched is signalled through
// the pidfd clone() gave for exactly that process; once it has exited the
// pidfd answers ESRCH, whoever holds the pid now (a start time has clock-tick
// resolution, so a pid reused within the same tick looks the same). Any
// other process gets a pidfd first and is verified after, so the checks and
// the signal concern one process.
#pragma once

#include "messages/home_layout.hpp"
#include "messages/result.hpp"
#include "privileged/host/process.hpp"

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace banger::host {

/// One VMM the helper knows about.
struct VmmEntry {
  ProcessIdentity identity;
  std::string vm_id;
  /// A pidfd of exactly this process: from clone() at launch, or opened
  /// before verify_banger_vmm passed (rediscovery). Shared, because entries
  /// are copied out of the registry; null only for entries made by hand.
  std::shared_ptr<const UniqueFd> pidfd;
  /// Same process and VM (the pidfd is not compared).
  bool operator==(const VmmEntry& other) const {
    return identity == other.identity && vm_id == other.vm_id;
  }
};

/// The VMMs this helper launched (or rediscovered). Thread-safe; in memory
/// only: rediscover() rebuilds it after a restart.
class LaunchedVmms {
public:
  /// Adds or replaces the entry for entry.identity.pid; drops the entries
  /// whose pidfd says their process has exited.
  void add(VmmEntry entry);
  /// Removes the entry with exactly this identity; false if there was none.
  bool remove(const ProcessIdentity& identity);
  /// Whether `identity` is known, and as a VMM of `vm_id`.
  bool contains(const ProcessIdentity& identity, std::string_view vm_id) const;
  std::optional<VmmEntry> find(pid_t pid) const;
  std::vector<VmmEntry> list() const;
  /// Replaces every entry (after rediscover()); an entry already known with
  /// the same identity and VM keeps its pidfd (the one from the launch).
  void replace_all(std::vector<VmmEntry> entries);
  /// Signals the entry of exactly `identity` and `vm_id` through its pidfd:
  /// nullopt if there is no such entry with a pidfd; not_found if that
  /// process has exited (nothing is signalled then, whoever has the pid).
  std::optional<Status> signal_known(const ProcessIdentity& identity,
                                     std::string_view vm_id, int signo) const;
  /// Drops entries whose process has exited or whose pid was recycled;
  /// returns how many were dropped.
  std::size_t prune();
  std::size_t size() const;

private:
  mutable std::mutex mutex_;
  std::map<pid_t, VmmEntry> entries_;
};

/// What a banger VMM of one home looks like.
struct VmmMatcher {
  HomeLayout layout;
  /// VmmConfig::vmm_executables(): firecracker and qemu binaries.
  std::vector<std::filesystem::path> executables;
};

/// ok if `identity` is alive, has that start time, runs one of the
/// configured executables (or a jailer's copy of one inside this VM's run
/// directory), and its command line names this VM's run directory (or, when
/// jailed, passes `--id <vm_id>`). helper_refused says which check failed;
/// not_found if the process is gone.
Status verify_banger_vmm(const ProcessIdentity& identity,
                         std::string_view vm_id, const VmmMatcher& matcher);
bool is_banger_vmm(const ProcessIdentity& identity, std::string_view vm_id,
                   const VmmMatcher& matcher);

/// Scans /proc for the VMMs of `matcher`'s home (after a helper restart).
/// Each is adopted with a pidfd opened before verify_banger_vmm passed on
/// it, so the entry's pidfd is the process that was verified.
Result<std::vector<VmmEntry>> rediscover(const VmmMatcher& matcher);

/// Sends an allowed signal (see parse_signal) to the VMM `target` of
/// `vm_id`: through the registry's pidfd when `launched` has that VMM (see
/// LaunchedVmms::signal_known), otherwise through a pidfd opened before
/// verify_banger_vmm. Refused: pid 1, the helper, `caller_pid`, a process
/// that is not that VM's VMM, a recycled pid (start time differs).
/// not_found if the process has exited. Returns the signal number sent.
Result<int> signal_vmm(const ProcessIdentity& target, std::string_view vm_id,
                       std::string_view signal, const LaunchedVmms& launched,
                       const VmmMatcher& matcher,
                       std::optional<pid_t> caller_pid = std::nullopt);

} // namespace banger::host
