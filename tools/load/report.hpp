// What a load run measured: per operation a latency histogram, the count and
// the errors by code (with a few op_ids to look up in the daemon's log), per
// run the completed scenario units. Rendered for people (stdout) and as JSON
// (--json FILE).
#pragma once

#include "tools/load/histogram.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace banger::load {

/// Errors of one code: how many, and the first few op_ids.
struct ErrorSamples {
  std::uint64_t count = 0;
  std::vector<std::string> op_ids;
};

struct OpStats {
  Histogram latency; ///< successful and failed calls alike
  std::uint64_t errors = 0;
  std::map<std::string, ErrorSamples> errors_by_code;

  void ok(std::uint64_t us) { latency.record(us); }
  void failed(std::uint64_t us, const std::string& code, const std::string& op_id);
  void merge(const OpStats& other);
};

/// Cluster mode: every request through one entry host.
struct EntryStats {
  Histogram latency;
  std::uint64_t errors = 0;
  void merge(const EntryStats& other);
};

/// A fault run: requests answered (or failed) on one side of the fault.
/// The error times are from the fault on, in µs (after the fault only).
struct PhaseStats {
  std::uint64_t ops = 0;
  std::uint64_t errors = 0;
  std::map<std::string, std::uint64_t> errors_by_code;
  std::optional<std::uint64_t> first_error_us;
  std::optional<std::uint64_t> last_error_us;
  void merge(const PhaseStats& other);
};

/// Where a request on a known VM entered: at the VM's own host or another.
enum class Route { local, cross };

/// One client's (or one floor thread's) measurements.
struct Stats {
  std::map<std::string, OpStats> ops;
  std::uint64_t units = 0;        ///< scenario units completed without error
  std::uint64_t failed_units = 0; ///< units that hit an error
  // Cluster mode only (empty otherwise): by entry host id, and by route
  // then operation name.
  std::map<std::string, EntryStats> by_entry;
  std::map<Route, std::map<std::string, Histogram>> by_route;
  /// Fault runs: [0] before the fault command ran, [1] from then on.
  PhaseStats phases[2];

  OpStats& op(const std::string& name) { return ops[name]; }
  void merge(const Stats& other);
  std::uint64_t errors() const;
};

/// A finished run: what was asked and what was measured.
struct RunResult {
  Stats stats;
  double seconds = 0; ///< from the first unit's start to the last unit's end
  double throughput() const { return seconds > 0 ? double(stats.units) / seconds : 0; }
};

/// What the fault of a cluster run did (the counts are in the stats).
struct FaultReport {
  std::string action; ///< kill | stop
  std::string host;
  std::string command;
  double at_s = 0;        ///< when it ran, from the clients' start
  bool ran = false;       ///< false: the run ended first
  int exit_status = -1;   ///< the command's exit status
};

struct Report {
  std::string scenario;
  std::uint64_t concurrency = 0;
  std::uint64_t vms = 0;
  std::uint64_t seed = 0;
  std::vector<std::string> daemons;
  RunResult banger; ///< empty with --floor-only
  bool floor_only = false;
  std::optional<RunResult> floor;
  /// Cleanup after the run: VMs deleted, and VMs that could not be.
  std::uint64_t cleaned_up = 0;
  std::uint64_t left_behind = 0;
  /// --reconnect: connections re-established after a daemon was lost.
  std::uint64_t reconnects = 0;
  // Cluster mode (--entry).
  bool cluster = false;
  std::vector<std::string> entry_hosts; ///< host id per daemon, as `daemons`
  std::string entry_policy;
  std::vector<std::string> placement;   ///< --hosts; empty: the cluster placed
  std::optional<double> cross_host_share;
  std::optional<FaultReport> fault;
};

nlohmann::json to_json(const Report& report);
std::string to_text(const Report& report);

} // namespace banger::load
