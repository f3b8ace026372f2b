// Configuration shared by every executable: the values of banger.conf's keys
// (CAF's config format), their defaults in the member initializers. The keys
// themselves, their validators and help are the table in
// messages/settings_table.hpp. Any key can also be given on the command line
// as --KEY=VALUE, which overrides the file.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace banger {

inline constexpr const char* default_home = "/var/lib/banger";

struct Settings {
  // [daemon]
  std::string daemon_listen = "127.0.0.1"; ///< daemon.listen
  std::uint16_t daemon_port = 7420;        ///< daemon.port
  std::string daemon_log_level = "info";   ///< daemon.log-level
  std::uint32_t daemon_vm_queue = 64;      ///< daemon.vm-queue: pending ops per VM
  std::uint32_t daemon_event_buffer = 4096; ///< daemon.event-buffer: events kept for late readers
  // [api] (docs/api.md): the HTTP/JSON API, off while api.port is 0
  std::uint16_t api_port = 0;              ///< api.port: 0 = no HTTP API
  std::string api_listen = "127.0.0.1";    ///< api.listen
  std::uint32_t api_max_connections = 32;  ///< api.max-connections: open at once
  std::uint32_t api_max_body = 65536;      ///< api.max-body: request body bytes
  std::chrono::milliseconds api_timeout{10000}; ///< api.timeout: a silent client is dropped
  // [helper]
  std::uint16_t helper_port = 7421;        ///< helper.port (loopback only)
  // [vmm]
  std::string vmm_kind = "firecracker";    ///< vmm.kind: firecracker | qemu
  std::string vmm_firecracker_bin = "/usr/bin/firecracker";
  std::string vmm_jailer_bin;              ///< empty: launch firecracker directly
  std::string vmm_qemu_bin = "/usr/bin/qemu-system-x86_64";
  std::string vmm_accel = "auto";          ///< vmm.accel: auto | kvm | tcg
  std::string vmm_user;                    ///< vmm.user: uid VMMs run as; empty = helper's
  std::chrono::milliseconds vmm_stop_grace{30000}; ///< vmm.stop-grace
  std::chrono::milliseconds vmm_kill_grace{30000}; ///< vmm.kill-grace
  std::chrono::milliseconds vmm_boot_timeout{120000}; ///< vmm.boot-timeout: guest SSH ready
  bool vmm_cpu_overcommit = false; ///< vmm.cpu-overcommit: more vCPUs than host CPUs
  // [network]
  std::string network_bridge = "banger0";
  std::string network_subnet = "172.30.0.0/24";
  bool network_nat = true;                 ///< network.nat: masquerade the subnet
  std::string network_dns = "auto";        ///< network.dns: auto | none | a.b.c.d[,e.f.g.h]
  // [rootfs]
  std::string rootfs_strategy = "auto";    ///< auto | reflink | dm-snapshot | sparse-copy
  // [cluster] (docs/cluster.md); both empty: a host on its own
  std::string cluster_host_id;             ///< cluster.host-id: this host's id in cluster.hosts
  std::string cluster_hosts;               ///< cluster.hosts: "h1=10.77.0.1:7430,h2=..."
  /// cluster.link-timeout: a host link that carried nothing (not even a
  /// heartbeat, sent every second) for this long is down.
  std::chrono::milliseconds cluster_link_timeout{3000};
};

/// Splits `--home DIR` / `--home=DIR` out of argv (falling back to
/// BANGER_HOME, then default_home); returns the remaining arguments.
struct HomeAndArgs {
  std::string home;
  std::vector<std::string> args;
};
HomeAndArgs take_home(int argc, char** argv);

/// Where a client connects to reach a daemon listening on `listen`: a
/// wildcard address is reached over loopback.
std::string connect_host(const std::string& listen);

} // namespace banger
