#include "messages/config.hpp"

#include "messages/register.hpp"

#include <caf/all.hpp>
#include <caf/io/middleman.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace banger {

Config::Config() {
  register_messages(*this);
  load<caf::io::middleman>();
  // Heartbeats keep idle connections alive. CAF 0.17's TLS transport does
  // not deliver them, so middleman.connection-timeout would drop every idle
  // TLS connection after its timeout (measured: the helper link flapped
  // every 2-4 s with 1 s / 3 s). It stays off; hung peers are detected by
  // bounded request timeouts and the helper link's own ping instead.
  set("middleman.heartbeat-interval", caf::timespan{std::chrono::seconds(1)});
  // An idle CAF 0.17 worker polls its queue: 100 spins, then 500 more
  // tries 50 us apart (a nanosleep and a context switch each), and only
  // then waits on a condition variable that new work signals. banger's
  // processes are idle between messages most of the time, so that middle
  // stage woke each process ~30,000 times a second under load. Without it
  // (0 attempts), context switches per lifecycle fell from 175 to 95
  // (bangerd), 167 to 49 (banger-helper) and 125 to 16 (client) and
  // throughput did not drop (BENCHMARKS.md). A banger.conf can still set it.
  set("work-stealing.moderate-poll-attempts", std::size_t{0});
  set("logger.verbosity", caf::atom("quiet"));
  set("logger.console", caf::atom("none"));

  auto& s = settings;
  opt_group{custom_options_, "daemon"}
    .add(s.daemon_listen, "listen", "address the control actor listens on")
    .add(s.daemon_port, "port", "port of the control actor")
    .add(s.daemon_log_level, "log-level", "debug, info, warn or error")
    .add(s.daemon_vm_queue, "vm-queue", "pending lifecycle requests per VM");
  opt_group{custom_options_, "helper"}
    .add(s.helper_port, "port", "loopback port of banger-helper");
  opt_group{custom_options_, "vmm"}
    .add(s.vmm_kind, "kind", "firecracker or qemu")
    .add(s.vmm_firecracker_bin, "firecracker-bin", "firecracker binary")
    .add(s.vmm_jailer_bin, "jailer-bin", "jailer binary (empty: no jailer)")
    .add(s.vmm_qemu_bin, "qemu-bin", "qemu-system-x86_64 binary")
    .add(s.vmm_accel, "accel", "qemu acceleration: auto, kvm or tcg")
    .add(s.vmm_user, "user", "user VMMs run as (empty: the helper's)")
    .add<caf::timespan>("stop-grace", "graceful stop timeout")
    .add<caf::timespan>("kill-grace", "wait for exit after a signal")
    .add<caf::timespan>("boot-timeout", "wait for a guest's SSH port (start --wait)");
  opt_group{custom_options_, "network"}
    .add(s.network_bridge, "bridge", "bridge the VM taps attach to")
    .add(s.network_subnet, "subnet", "guest subnet; the gateway is its first host")
    .add(s.network_nat, "nat", "masquerade guest traffic");
  opt_group{custom_options_, "rootfs"}
    .add(s.rootfs_strategy, "strategy", "auto, reflink, dm-snapshot or copy");
}

Status Config::read(const std::string& home_dir, const std::vector<std::string>& args) {
  home = home_dir;
  auto file = std::filesystem::path(home) / "banger.conf";
  std::stringstream ini;
  if (std::filesystem::exists(file)) {
    std::ifstream in(file);
    if (!in)
      return Error{Errc::invalid_argument, "cannot read " + file.string()};
    ini << in.rdbuf();
  }
  return parse_text(ini.str(), file.string(), args);
}

Status Config::parse_text(const std::string& text, const std::string& origin,
                          const std::vector<std::string>& args) {
  std::istringstream ini(text);
  string_list list(args.begin(), args.end());
  if (auto err = parse(list, ini))
    return Error{Errc::invalid_argument,
                 "bad configuration (" + origin + " or flags): " + caf::to_string(err)};
  if (!remainder.empty())
    return Error{Errc::invalid_argument, "unexpected argument: " + remainder.front()};
  // CAF keeps durations as timespan; banger uses milliseconds.
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  auto& s = settings;
  s.vmm_stop_grace = duration_cast<milliseconds>(caf::get_or(
    *this, "vmm.stop-grace", duration_cast<caf::timespan>(s.vmm_stop_grace)));
  s.vmm_kill_grace = duration_cast<milliseconds>(caf::get_or(
    *this, "vmm.kill-grace", duration_cast<caf::timespan>(s.vmm_kill_grace)));
  s.vmm_boot_timeout = duration_cast<milliseconds>(caf::get_or(
    *this, "vmm.boot-timeout", duration_cast<caf::timespan>(s.vmm_boot_timeout)));
  return {};
}

} // namespace banger
