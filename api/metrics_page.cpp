// GET /metrics: the daemon's families (actors/daemon_metrics.hpp), then what
// is read at scrape time: VMs by state and each VMM's CPU time and RSS
// (from the VM records' pids, checked against their start times so a
// reused pid is never read), and bangerd's own process figures under the
// names Prometheus's client libraries use.
#include "api/handlers.hpp"

#include "actors/daemon_metrics.hpp"
#include "actors/proc.hpp"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <map>

namespace banger::api {

namespace {

using metrics::Kind;
using metrics::Sample;

double ticks_per_second() {
  static const double hz = static_cast<double>(::sysconf(_SC_CLK_TCK));
  return hz > 0 ? hz : 100;
}

double page_size() {
  static const double size = static_cast<double>(::sysconf(_SC_PAGESIZE));
  return size;
}

/// Seconds since the epoch at boot (/proc/stat btime).
double boot_time() {
  std::ifstream in("/proc/stat");
  std::string key;
  double value = 0;
  while (in >> key) {
    if (key == "btime" && (in >> value))
      return value;
    in.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
  return 0;
}

double open_fds() {
  double n = 0;
  if (DIR* dir = ::opendir("/proc/self/fd")) {
    while (auto* entry = ::readdir(dir))
      n += entry->d_name[0] != '.';
    ::closedir(dir);
    n -= 1; // the directory's own descriptor
  }
  return n;
}

void process_metrics(std::string& out) {
  auto self = read_proc_stat(static_cast<int>(::getpid()));
  if (!self)
    return;
  auto hz = ticks_per_second();
  rlimit limit{};
  ::getrlimit(RLIMIT_NOFILE, &limit);
  metrics::render(out, "process_cpu_seconds_total", Kind::counter,
                  "Total user and system CPU time spent in seconds",
                  {{{}, static_cast<double>(self->utime + self->stime) / hz}});
  metrics::render(out, "process_resident_memory_bytes", Kind::gauge,
                  "Resident memory size in bytes",
                  {{{}, static_cast<double>(self->rss_pages) * page_size()}});
  metrics::render(out, "process_virtual_memory_bytes", Kind::gauge,
                  "Virtual memory size in bytes", {{{}, static_cast<double>(self->vsize)}});
  metrics::render(out, "process_open_fds", Kind::gauge, "Number of open file descriptors",
                  {{{}, open_fds()}});
  metrics::render(out, "process_max_fds", Kind::gauge,
                  "Maximum number of open file descriptors",
                  {{{}, static_cast<double>(limit.rlim_cur)}});
  metrics::render(out, "process_start_time_seconds", Kind::gauge,
                  "Start time of the process since unix epoch in seconds",
                  {{{}, boot_time() + static_cast<double>(self->start_time) / hz}});
  metrics::render(out, "process_threads", Kind::gauge, "Number of OS threads",
                  {{{}, static_cast<double>(self->num_threads)}});
}

} // namespace

void metrics(Exchange& x) {
  std::string out = daemon_metrics().render();
  if (auto list = x.ask<VmList>(VmListRequest{x.env()}, read_timeout())) {
    // Every state, so a series does not vanish when its count is 0.
    std::map<std::string, double> states;
    for (auto s : {VmState::created, VmState::starting, VmState::running, VmState::stopping,
                   VmState::stopped, VmState::error, VmState::paused, VmState::suspended})
      states[std::string(to_string(s))] = 0;
    std::vector<Sample> cpu, rss;
    const auto& self_host = x.ctx.settings.cluster_host_id;
    auto hz = ticks_per_second();
    for (auto& vm : list->vms) {
      if (!vm.host.empty() && vm.host != self_host)
        continue; // another cluster host's VM: its own /metrics has it
      states[std::string(to_string(vm.runtime.state))] += 1;
      if (vm.runtime.pid <= 0)
        continue;
      auto stat = read_proc_stat(vm.runtime.pid);
      if (!stat || stat->start_time != vm.runtime.pid_start_time)
        continue;
      metrics::Labels labels{{"vm", vm.id}, {"name", vm.name}};
      cpu.push_back({labels, static_cast<double>(stat->utime + stat->stime) / hz});
      rss.push_back({labels, static_cast<double>(stat->rss_pages) * page_size()});
    }
    std::vector<Sample> by_state;
    for (auto& [state, n] : states)
      by_state.push_back({{{"state", state}}, n});
    metrics::render(out, "banger_vms", Kind::gauge, "VMs on this host, by state", by_state);
    metrics::render(out, "banger_vmm_cpu_seconds_total", Kind::counter,
                    "CPU time of each VM's VMM process (user and system)", cpu);
    metrics::render(out, "banger_vmm_resident_memory_bytes", Kind::gauge,
                    "Resident memory of each VM's VMM process", rss);
  } else {
    return; // the error is answered
  }
  process_metrics(out);
  x.res.status = 200;
  x.res.set_content(out, "text/plain; version=0.0.4; charset=utf-8");
}

} // namespace banger::api
