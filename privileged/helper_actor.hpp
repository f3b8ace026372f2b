// banger-helper's actor: the closed list of privileged operations
// (messages/helper_protocol.hpp, helper_actor), each checked for the credential
// and validated before any system call, each logged as exactly one
// `helper rpc completed` / `helper rpc failed` line carrying the caller's
// op_id. Work that blocks (copies, netlink, fork) runs on a small pool of
// detached workers behind one published front actor.
//
// `info` is also the daemon's liveness ping, once a second: the front actor
// answers it itself from what was probed at start (HelperConfig), so a ping
// never waits behind a worker's blocking job and does no work as root; its
// completion is logged at debug level.
#pragma once

#include <atomic>

#include "messages/home_layout.hpp"
#include "messages/helper_protocol.hpp"
#include "privileged/host/process.hpp"
#include "privileged/host/rootfs.hpp"
#include "privileged/host/tap_reaper.hpp"
#include "privileged/host/validate.hpp"
#include "privileged/host/vmm_argv.hpp"
#include "privileged/host/vmm_registry.hpp"

#include <caf/fwd.hpp>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace banger {

struct HelperConfig {
  HomeLayout layout{""};
  std::string credential;
  host::VmmConfig vmm;
  host::VmmKind kind = host::VmmKind::firecracker;
  host::Accel accel = host::Accel::tcg;
  std::string accel_reason; ///< why this accelerator (see host/accel.hpp)
  std::uint32_t tsc_khz = 0; ///< tcg: the host's TSC frequency (host/accel.hpp)
  std::string bridge;
  host::Ipv4Subnet subnet;
  bool nat = false;
  host::RootfsStrategy strategy = host::RootfsStrategy::automatic;
  /// What the state directory supports, probed once at start
  /// (probe_rootfs_strategies) and reported by `info`.
  std::vector<std::string> rootfs_strategies;
  std::string version;
};

/// The rootfs strategies `dir` supports ("reflink", "dm-snapshot",
/// "sparse-copy"): creates probe files and opens device-mapper, so it runs
/// once, at start, never per request.
std::vector<std::string> probe_rootfs_strategies(const std::filesystem::path& dir);

/// One line in the helper's log per tap the reaper removed (or failed to).
void log_tap_removal(const std::string& tap, const std::string& op_id, const Status& result,
                     std::size_t batch);

/// Shared by the workers: configuration, what this helper launched, and the
/// taps it is removing.
struct HelperContext {
  HelperConfig config;
  host::LaunchedVmms launched;
  host::TapReaper taps{log_tap_removal};
  /// When ensure_network last wrote the NAT table (steady clock, us; 0: never).
  std::atomic<std::int64_t> nat_ensured_us{0};
};

/// Spawns `workers` detached workers and the front actor that is published.
/// Much of a worker's time is spent waiting in the kernel, not computing, so
/// there are more workers than cores: with 4, tap deletions (before the
/// reaper) queued behind each other and capped lifecycle throughput
/// (BENCHMARKS.md, "Idle-machine figures").
helper_actor spawn_helper(caf::actor_system& sys, std::shared_ptr<HelperContext> context,
                          std::size_t workers = 16);

/// What remove_stale_runtime() took away.
struct StaleRuntime {
  std::size_t run_dirs = 0;
  std::size_t taps = 0;
};

/// At start, before the first request: removes this home's run directories
/// and taps whose VM has no live VMM among `live`. They are leftovers of the
/// previous helper: removals it had acknowledged but not done yet (the tap
/// reaper's queue dies with the process) and the runtime of a launch whose
/// answer never reached the daemon. A VM without a VMM has no use for
/// either (vmm.launch makes both anew), so nothing is lost.
StaleRuntime remove_stale_runtime(HelperContext& ctx, const std::vector<host::VmmEntry>& live);

/// The bridge (with the gateway address) and, with network.nat, the
/// nftables table that masquerades the subnet: before every tap, so guests
/// have a way out from their first boot (the table rewritten at most every
/// 10 s, helper_actor.cpp).
Status ensure_network(HelperContext& ctx);

/// Intent records of taps being created (<run>/taps; see make_tap).
std::filesystem::path tap_intents_dir(const HelperContext& ctx);

/// The taps this helper may touch: those it marked for this home.
host::TapScope tap_scope(const HelperContext& ctx);

/// Names of the subdirectories of `dir` that are well-formed VM ids.
std::vector<std::string> vm_subdirectories(const std::filesystem::path& dir);

/// Constant-time comparison of the credential (no early exit on mismatch).
bool credential_matches(const std::string& expected, const std::string& given);

} // namespace banger
