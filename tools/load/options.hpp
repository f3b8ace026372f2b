// banger-load's command line. Parsing is CAF-free and unit-tested; a usage
// error is reported with exit code 2.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace banger::load {

enum class Scenario { lifecycle, churn, read, mixed, create, list };

std::string to_string(Scenario scenario);

/// Relative weights of the `mixed` scenario's units.
struct Mix {
  std::uint32_t lifecycle = 1;
  std::uint32_t churn = 3;
  std::uint32_t read = 6;
};

struct Endpoint {
  std::string host;
  std::uint16_t port = 0;
};

/// Cluster mode: which entry host a client sends a request to.
enum class EntryPolicy {
  worker,     ///< client i always uses entry i % entries (unless routed by host)
  round_robin ///< each request goes to the next entry
};

/// --kill-host / --stop-host: what the fault command is told to do.
enum class FaultAction { kill, stop };

std::string to_string(FaultAction action);

/// A fault injected once during a cluster run: at `at` after the clients
/// start, `command` runs under /bin/sh with BANGER_FAULT_ACTION (kill|stop)
/// and BANGER_FAULT_HOST (the host id) in its environment; the report counts
/// the errors seen before and after.
struct Fault {
  FaultAction action = FaultAction::kill;
  std::string host;
  std::chrono::milliseconds at{5000};
  std::string command;
};

struct Options {
  std::string home;                ///< --home (or $BANGER_HOME when no --daemon)
  std::vector<Endpoint> daemons;   ///< --daemon HOST:PORT, repeatable
  std::string cert, key, ca;       ///< client TLS files with --daemon
  Scenario scenario = Scenario::lifecycle;
  std::uint64_t concurrency = 1;
  std::optional<std::uint64_t> count;                ///< total units
  std::optional<std::chrono::milliseconds> duration; ///< or run this long
  std::uint64_t vms = 0;           ///< VMs prepared for churn/read/mixed (0: default)
  std::uint64_t seed = 1;
  std::chrono::milliseconds ramp_up{0};
  bool floor = false;
  /// Only the floor (it still makes sure of the daemon's image): bench.sh
  /// alternates floor and banger runs, since each run slows the next.
  bool floor_only = false;
  bool keep = false;               ///< create, lifecycle: leave the VMs (no clean-up)
  /// Re-establish a lost daemon connection and go on (chaos runs); clients
  /// wait while their daemon is away instead of failing unit after unit.
  bool reconnect = false;
  /// Append one line per acknowledged create and per delete to this file
  /// (tools/chaos.sh checks it against what the daemon lists afterwards).
  std::string record_file;
  std::string image = "banger-load";
  std::string json_file;
  Mix mix;
  /// A probe actor showing one VM every this often (0: none); its latency
  /// is reported as "probe.show" (vm show latency under load).
  std::chrono::milliseconds show_probe{0};
  std::chrono::milliseconds request_timeout{60000};

  // Cluster mode (docs/cluster.md): several entry hosts of one cluster.
  /// --entry HOME[,HOME...]: homes whose daemons are entry points. Their
  /// client TLS files must come from one CA (a cluster's homes do); the
  /// first home's are used for every connection.
  std::vector<std::string> entries;
  EntryPolicy entry_policy = EntryPolicy::worker;
  /// --hosts h1,h2,...: VmSpec::host of new VMs, in turn; empty: the
  /// cluster places them.
  std::vector<std::string> hosts;
  /// --cross-host-share P (0..1): the share of requests on a known VM sent
  /// through an entry host that is not the VM's host; the rest go through
  /// the VM's own host. Unset: the entry policy alone decides.
  std::optional<double> cross_host_share;
  std::optional<Fault> fault;

  bool cluster() const { return !entries.empty(); }
};

struct Parsed {
  enum class Kind { run, help, usage_error };
  Kind kind = Kind::run;
  Options options;
  std::string text; ///< help (stdout) or the error (stderr)
};

Parsed parse(const std::vector<std::string>& args, const char* env_home);

std::string usage();

} // namespace banger::load
