// A cluster of real banger hosts on one machine, each in a network namespace
// of its own, for the cluster suite.
//
//   switch namespace:  bridge "switch" with ports "port1".."portN"
//   host i namespace:  "uplink" (10.77.0.i/24, veth peer of "port<i>"), lo,
//                      and whatever its banger-helper makes (bridge banger0,
//                      taps, NAT rules for its guest subnet 172.31.i.0/24)
//
// Host i ("h<i>", 1-based) has its own home made by `banger init`, and its
// own banger-helper, bangerd and fc-stub (vmm.firecracker-bin) running
// inside its namespace, on the default ports: they only ever meet on the
// switch. Every namespace is held by descriptor only (tests/cluster/
// netns.hpp): nothing has a name another process could collide with, so
// any number of clusters run side by side with the same addresses, and
// nothing in the root namespace changes.
//
// Processes are started from the calling thread and die with it (see
// spawn_in): call start_host / the constructor from the test's own thread.
// A test process killed outright leaves the VMMs its helpers started (and
// with them its namespaces) and its homes; the next cluster made on the
// machine ends and removes what such a dead process left.
#pragma once

#include "tests/cluster/netns.hpp"
#include "tests/support/process.hpp"

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace banger::test {

enum class ClusterMode {
  /// Every host alone: no cluster.* settings at all.
  standalone,
  /// One cluster: a cluster CA made once by `banger cluster ca`, each home
  /// made with `--cluster-ca DIR --host-id hI --set cluster.hosts=...`.
  cluster,
};

struct NetnsClusterOptions {
  int hosts = 5;
  ClusterMode mode = ClusterMode::standalone;
  /// More `banger init` arguments for host i (1-based), after the fixture's.
  std::function<std::vector<std::string>(int host)> init_args{};
  /// Extra environment of every banger-helper (e.g. FC_STUB_FAULTS=...).
  std::vector<std::string> helper_env{};
  /// Start every host (in parallel) in the constructor.
  bool start = true;
};

struct CliResult {
  int exit_code = -1; ///< -1: killed at its deadline
  std::string out;
  std::string err;
};

/// What a cluster occupied, to check after it is gone that nothing is left.
struct ClusterFootprint {
  std::vector<std::string> namespaces; ///< "net:[N]", "mnt:[N]"
  struct Process {
    pid_t pid = -1;
    std::string start_time; ///< field 22 of /proc/<pid>/stat: tells a reused pid apart
    std::string name;
  };
  std::vector<Process> processes;   ///< every process it started or found inside
  std::vector<std::string> links;   ///< link names it made (only ever inside)
  std::string dir;                  ///< the directory of the homes
};

class NetnsCluster {
public:
  /// The port every host link listens on in cluster mode.
  static constexpr std::uint16_t link_port = 7430;

  /// Why no cluster can be made here ("needs root", "cannot create network
  /// namespaces: ..."), or nullopt when it can.
  static std::optional<std::string> unavailable();
  /// Why ClusterMode::cluster cannot be used with this build's banger (it
  /// has no `banger cluster ca`), or nullopt.
  static std::optional<std::string> cluster_mode_unavailable();

  explicit NetnsCluster(NetnsClusterOptions options = {});
  ~NetnsCluster();
  NetnsCluster(const NetnsCluster&) = delete;
  NetnsCluster& operator=(const NetnsCluster&) = delete;

  int size() const { return static_cast<int>(hosts_.size()); }
  std::string host_id(int i) const { return "h" + std::to_string(i); }
  std::string address(int i) const { return "10.77.0." + std::to_string(i); }
  std::string subnet(int i) const { return "172.31." + std::to_string(i) + ".0/24"; }
  /// "h1=10.77.0.1:7430,h2=..." for cluster.hosts.
  std::string cluster_hosts() const;
  const std::string& home(int i) const;
  /// Host i's network namespace, and where its processes run.
  int netns_fd(int i) const;
  Place place(int i) const;
  int switch_netns_fd() const;

  /// Starts host i's helper (unless it runs) and bangerd (unless it runs),
  /// and waits until its daemon serves with the helper reachable.
  void start_host(int i);
  /// The same for several hosts, in parallel.
  void start_hosts(const std::vector<int>& hosts);
  /// SIGKILL to host i's bangerd, reaped. Its helper and VMs stay.
  void kill_host(int i);
  /// SIGSTOP / SIGCONT to host i's bangerd: a hung host.
  void stop_host(int i);
  void cont_host(int i);
  /// Cuts host i's cable: its port on the switch goes down (its own
  /// namespace, addresses and routes stay as they are) / comes back.
  void link_down(int i);
  void link_up(int i);

  pid_t daemon_pid(int i) const;
  pid_t helper_pid(int i) const;
  bool daemon_running(int i);

  /// The banger CLI inside host i's namespace against host i's home:
  /// `banger --home HOME args...`.
  CliResult cli(int i, const std::vector<std::string>& args,
                std::chrono::milliseconds deadline = std::chrono::seconds(30));

  /// Registers a tiny image (files under <home>/images/<name>) on host i.
  void add_image(int i, const std::string& name = "tiny");

  /// Whether a TCP connection from host `from`'s namespace reaches host
  /// `to`'s address within `bound`: a refusal (no one listens on the port
  /// probed) counts as reaching it, silence or an ICMP error does not.
  bool reaches(int from, int to, std::chrono::milliseconds bound = std::chrono::milliseconds(300));

  /// Runs f(i) for every host in parallel; results in host order.
  /// Exceptions reach the caller. f must not start processes (see above).
  template <class F>
  auto on_every_host(F f) -> std::vector<decltype(f(1))>;

  /// Polls `predicate` until it holds or `deadline` passes.
  static bool wait_until(const std::function<bool()>& predicate, std::chrono::milliseconds deadline,
                         std::chrono::milliseconds step = std::chrono::milliseconds(20));

  /// Everything this cluster occupies now (namespaces, processes inside).
  ClusterFootprint footprint() const;
  /// Kills every process inside the cluster's namespaces, lets the
  /// namespaces go and removes the homes. Idempotent; the destructor calls it.
  void teardown();
  /// What of `footprint` still exists (a line each); empty when nothing.
  static std::vector<std::string> leftovers(const ClusterFootprint& footprint);

  /// The last lines of host i's bangerd (or helper) stderr log.
  std::string daemon_log_tail(int i, std::size_t lines = 20) const;
  std::string helper_log_tail(int i, std::size_t lines = 20) const;

private:
  struct Host;
  Host& host(int i);
  const Host& host(int i) const;
  void make_network();
  void make_homes();
  void spawn_host(int i);
  void wait_ready(int i);
  std::vector<pid_t> pids_inside() const;

  NetnsClusterOptions options_;
  std::unique_ptr<TempDir> dir_;
  std::optional<Namespace> switch_;
  std::vector<std::unique_ptr<Host>> hosts_;
  bool torn_down_ = false;
};

/// Runs work(1) .. work(count) on threads of their own; the first exception
/// reaches the caller once all are done.
void run_parallel(int count, const std::function<void(int)>& work);

template <class F>
auto NetnsCluster::on_every_host(F f) -> std::vector<decltype(f(1))> {
  using R = decltype(f(1));
  // One object per slot (never std::vector<bool>'s shared words).
  std::vector<std::optional<R>> slots(hosts_.size());
  run_parallel(size(), [&](int i) { slots[static_cast<std::size_t>(i - 1)].emplace(f(i)); });
  std::vector<R> out;
  for (auto& slot : slots)
    out.push_back(std::move(*slot));
  return out;
}

} // namespace banger::test
