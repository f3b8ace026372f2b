// banger-helper: the root process behind bangerd. Its main is linear on
// purpose: each step narrows what the process can do before the next one
// widens what it can be asked.
#include "banger/version.hpp"
#include "messages/config.hpp"
#include "messages/log.hpp"
#include "messages/tls.hpp"
#include "messages/tls_sigpipe.hpp"
#include "privileged/helper_actor.hpp"
#include "privileged/host/accel.hpp"
#include "privileged/host/vmm_registry.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>

#include <grp.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>

using namespace banger;

namespace {

const log::Logger log_{"helper"};

int fail(const std::string& message) {
  log_.error("banger-helper cannot start", {{"error", message}});
  std::cerr << "banger-helper: " << message << "\n";
  return 1;
}

Result<std::optional<host::Ownership>> lookup_user(const std::string& name) {
  if (name.empty())
    return std::optional<host::Ownership>{};
  auto* pw = ::getpwnam(name.c_str());
  if (!pw)
    return Error{Errc::invalid_argument, "vmm.user '" + name + "' does not exist"};
  return std::optional<host::Ownership>{host::Ownership{pw->pw_uid, pw->pw_gid}};
}

} // namespace

int main(int argc, char** argv) {
  // 1. Files this process creates are private unless it says otherwise.
  ::umask(027);
  // 2. Nothing this process starts (VMMs) can gain privileges through exec.
  ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  // 3. Shutdown signals only reach sigwait below; VMMs the helper starts are
  //    reaped by the kernel (SIGCHLD ignored; launch_vmm resets it in the
  //    child), so no zombie outlives its VMM.
  sigset_t shutdown_signals;
  sigemptyset(&shutdown_signals);
  sigaddset(&shutdown_signals, SIGTERM);
  sigaddset(&shutdown_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &shutdown_signals, nullptr);
  std::signal(SIGCHLD, SIG_IGN);
  ignore_sigpipe(); // and CAF's TLS calls skip their SIGPIPE masking

  // 4. Configuration: VMM binaries and network come from the helper's own
  //    configuration, never from a request.
  auto [home_dir, args] = take_home(argc, argv);
  Config cfg;
  if (auto read = cfg.read(home_dir, args); !read)
    return fail(read.error().message);
  log::init_stderr("banger-helper", log::Level::info);
  if (::geteuid() != 0)
    return fail("must run as root (it creates taps and launches VMMs)");
  auto& s = cfg.settings;
  HomeLayout layout{std::filesystem::absolute(home_dir)};
  auto context = std::make_shared<HelperContext>();
  auto& hc = context->config;
  hc.layout = layout;
  hc.version = version;
  hc.bridge = s.network_bridge;
  hc.nat = s.network_nat;
  hc.vmm.firecracker_bin = s.vmm_firecracker_bin;
  hc.vmm.jailer_bin = s.vmm_jailer_bin;
  hc.vmm.qemu_bin = s.vmm_qemu_bin;
  auto user = lookup_user(s.vmm_user);
  if (!user)
    return fail(user.error().message);
  hc.vmm.vmm_user = *user;
  // Config::read validated every key with the settings table (the same
  // bridge and subnet rules host:: checks at its edge); what follows turns
  // the validated text into the helper's types.
  if (auto subnet = host::parse_ipv4_subnet(s.network_subnet); subnet)
    hc.subnet = *subnet;
  else
    return fail(subnet.error().message);
  auto kind = host::parse_vmm_kind(s.vmm_kind);
  if (!kind)
    return fail(kind.error().message);
  hc.kind = !s.vmm_jailer_bin.empty() && *kind == host::VmmKind::firecracker ? host::VmmKind::jailer
                                                                              : *kind;
  auto accel = host::choose_accel(s.vmm_accel, host::kvm_facts());
  if (!accel)
    return fail(accel.error().message);
  hc.accel = accel->accel;
  hc.accel_reason = accel->reason;
  if (hc.accel == host::Accel::tcg)
    hc.tsc_khz = host::host_tsc_khz();
  auto strategy = host::parse_rootfs_strategy(s.rootfs_strategy);
  if (!strategy)
    return fail(strategy.error().message);
  hc.strategy = *strategy;
  // Once: `info` (also the daemon's liveness ping) answers from memory.
  hc.rootfs_strategies = probe_rootfs_strategies(layout.state_dir());
  {
    std::ifstream token(layout.state_dir() / "helper.token");
    if (!(token >> hc.credential) || hc.credential.size() < 32)
      return fail("cannot read the credential " + (layout.state_dir() / "helper.token").string()
                  + "; run banger init");
  }

  // 5. Only mutual TLS with this home's CA reaches the actor.
  if (auto tls = enable_tls(cfg, layout, TlsRole::helper); !tls)
    return fail(tls.error().message);

  // 6. Rebuild what this helper may signal: VMMs of this home still running.
  host::VmmMatcher matcher{layout, hc.vmm.vmm_executables()};
  if (auto found = host::rediscover(matcher); found) {
    context->launched.replace_all(*found);
    // 6b. What the previous helper left half-done goes before anyone asks:
    //     a tap or run directory of a VM without a live VMM (see
    //     remove_stale_runtime). After rediscovery, so live VMMs keep theirs;
    //     before publishing, so no launch races the sweep.
    auto swept = remove_stale_runtime(*context, *found);
    if (swept.taps + swept.run_dirs > 0)
      log_.info("removed the runtime of VMs without a VMM", {{"taps", static_cast<std::int64_t>(swept.taps)},
                                                             {"run_dirs", static_cast<std::int64_t>(swept.run_dirs)}});
  }

  // 6c. The bridge and NAT are made at the first tap (ensure_network), not
  //     here: a helper that serves no VM leaves the host's network as it
  //     was (no bridge, no route, no nftables table, no forwarding).

  caf::actor_system sys{cfg};
  auto helper = spawn_helper(sys, context);
  // 7. Loopback only, whatever the configuration says about the daemon.
  // SO_REUSEADDR: a restart binds over the dead helper's connections (see
  // bangerd's main); a live listener on the port still makes this fail.
  auto port = caf::openssl::publish(helper, s.helper_port, "127.0.0.1", true);
  if (!port) {
    caf::anon_send_exit(helper, caf::exit_reason::user_shutdown);
    return fail("cannot listen on 127.0.0.1:" + std::to_string(s.helper_port) + ": "
                + sys.render(port.error()));
  }
  std::string strategies;
  for (const auto& name : hc.rootfs_strategies)
    strategies += (strategies.empty() ? "" : ",") + name;
  log_.info("banger-helper serving", {{"home", layout.home().string()},
                                      {"port", static_cast<unsigned>(*port)},
                                      {"vmm_kind", std::string(host::to_string(hc.kind))},
                                      {"accel", std::string(host::to_string(hc.accel))},
                                      {"accel_reason", hc.accel_reason},
                                      {"rootfs_strategies", strategies},
                                      {"rediscovered_vmms", static_cast<std::int64_t>(context->launched.size())}});
  int signal_number = 0;
  sigwait(&shutdown_signals, &signal_number);
  log_.info("banger-helper shutting down; VMMs keep running", {});
  caf::anon_send_exit(helper, caf::exit_reason::user_shutdown);
  {
    caf::scoped_actor self{sys};
    self->wait_for(helper);
  }
  context->taps.drain(); // removals already acknowledged to the daemon
  log_.info("banger-helper stopped", {});
  log::flush();
  // CAF 0.17's TLS middleman can hang in shutdown while the daemon keeps its
  // connection open; every actor is done, so leave.
  std::_Exit(0);
}
