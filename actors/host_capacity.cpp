#include "actors/host_capacity.hpp"

#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

namespace banger {

std::uint64_t mem_total_mib(const std::string& meminfo) {
  std::istringstream in(meminfo);
  std::string key;
  std::uint64_t value = 0;
  std::string unit;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    if (fields >> key >> value >> unit && key == "MemTotal:")
      return unit == "kB" ? value / 1024 : value / (1024 * 1024);
  }
  return 0;
}

HostTotals host_capacity() {
  HostTotals host;
  auto online = ::sysconf(_SC_NPROCESSORS_ONLN);
  host.cpus = online > 0 ? static_cast<std::uint32_t>(online) : 0;
  std::ifstream in("/proc/meminfo");
  std::stringstream text;
  text << in.rdbuf();
  host.memory_mib = mem_total_mib(text.str());
  return host;
}

Status fits_host(std::uint32_t cpus, std::uint32_t memory_mib, const HostTotals& host,
                 bool cpu_overcommit) {
  if (host.memory_mib != 0 && memory_mib > host.memory_mib)
    return Error{Errc::invalid_argument,
                 "memory " + std::to_string(memory_mib) + " MiB is more than this host has ("
                   + std::to_string(host.memory_mib) + " MiB in all)"};
  if (!cpu_overcommit && host.cpus != 0 && cpus > host.cpus)
    return Error{Errc::invalid_argument,
                 std::to_string(cpus) + " vCPUs is more than this host's "
                   + std::to_string(host.cpus)
                   + " CPUs (set vmm.cpu-overcommit = true in banger.conf to allow it)"};
  return {};
}

} // namespace banger
