// bangerd: the host daemon. Loads the store, spawns the actors, publishes the
// control actor over mutual TLS, and runs until SIGTERM/SIGINT; VMs keep
// running across a daemon restart (their VMMs belong to banger-helper).
#include "actors/control_actor.hpp"
#include "api/http_api.hpp"
#include "messages/sheltered.hpp"
#include "actors/helper_link_actor.hpp"
#include "actors/directory_actor.hpp"
#include "actors/events_actor.hpp"
#include "actors/images_actor.hpp"
#include "actors/node_actor.hpp"
#include "actors/operations_actor.hpp"
#include "actors/store_actor.hpp"
#include "actors/vmm_io_actor.hpp"
#include "banger/version.hpp"
#include "cluster/cluster_actor.hpp"
#include "messages/cluster_hosts.hpp"
#include "messages/config.hpp"
#include "messages/log.hpp"
#include "messages/tls.hpp"
#include "messages/tls_sigpipe.hpp"
#include "storage/store.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>

using namespace banger;

namespace {

const log::Logger log_{"bangerd"};

// daemon.log-level as a level; Config::read validated it against the
// settings table's choices.
log::Level level_of(const std::string& name) {
  if (name == "debug")
    return log::Level::debug;
  if (name == "warn")
    return log::Level::warn;
  if (name == "error")
    return log::Level::error;
  return log::Level::info;
}

int fail(const std::string& message) {
  log_.error("bangerd cannot start", {{"error", message}});
  std::cerr << "bangerd: " << message << "\n";
  return 1;
}

} // namespace

int main(int argc, char** argv) {
  // Block the shutdown signals before any thread exists, so CAF's threads
  // inherit the mask and only sigwait below ever sees them.
  sigset_t shutdown_signals;
  sigemptyset(&shutdown_signals);
  sigaddset(&shutdown_signals, SIGTERM);
  sigaddset(&shutdown_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &shutdown_signals, nullptr);
  ignore_sigpipe(); // and CAF's TLS calls skip their SIGPIPE masking

  auto [home_dir, args] = take_home(argc, argv);
  Config cfg;
  if (auto read = cfg.read(home_dir, args); !read)
    return fail(read.error().message);
  auto& settings = cfg.settings;
  log::init_stderr("bangerd", level_of(settings.daemon_log_level));
  HomeLayout home{std::filesystem::absolute(home_dir)};
  if (auto tls = enable_tls(cfg, home, TlsRole::daemon); !tls)
    return fail(tls.error().message);
  // Validated by Config::read with this same parser; here it becomes the
  // subnet the node allocates guest addresses from.
  auto subnet = parse_ipv4_subnet(settings.network_subnet);
  if (!subnet)
    return fail(subnet.error().message);
  std::string credential;
  {
    std::ifstream token(home.state_dir() / "helper.token");
    if (!(token >> credential))
      return fail("cannot read " + (home.state_dir() / "helper.token").string()
                  + "; run banger init");
  }

  // A cluster member: its host credential, and CAF's heartbeats made a
  // deadline (a host link silent for cluster.link-timeout is dropped:
  // how a hung or cut-off peer is noticed, CAF-NOTES.md). Every banger
  // process sends heartbeats every second (messages/config.cpp).
  std::optional<ClusterInit> cluster_init;
  ClusterHost self_host;
  if (!settings.cluster_hosts.empty()) {
    auto hosts = parse_cluster_hosts(settings.cluster_hosts);
    if (!hosts)
      return fail("cluster.hosts: " + hosts.error().message);
    auto credential = cluster::HostCredential::load(home, settings.cluster_host_id);
    if (!credential)
      return fail(credential.error().message);
    for (auto& h : *hosts)
      if (h.id == settings.cluster_host_id)
        self_host = h;
    cluster_init.emplace();
    cluster_init->self_id = settings.cluster_host_id;
    cluster_init->hosts = std::move(*hosts);
    cluster_init->credential = std::move(*credential);
    cluster_init->local_token = cluster::random_hex(16);
    cluster_init->version = version;
    cluster_init->subnet = settings.network_subnet;
    cluster_init->link_timeout = settings.cluster_link_timeout;
    cfg.set("middleman.connection-timeout",
            caf::timespan{std::chrono::duration_cast<caf::timespan>(settings.cluster_link_timeout)});
  }

  auto started = now_us();
  auto store = Store::open(home.database());
  if (!store)
    return fail(store.error().message);
  // Operations of the previous process that never finished: failed, so
  // `op show` does not report them running forever.
  auto interrupted = (*store)->fail_running_operations("interrupted by a daemon restart", started);
  if (!interrupted)
    return fail(interrupted.error().message);
  if (*interrupted > 0)
    log_.warn("operations interrupted by the last daemon exit recorded as failed",
              {{"operations", static_cast<std::int64_t>(*interrupted)}});
  if (cluster_init) {
    auto names = (*store)->list_names();
    if (!names)
      return fail(names.error().message);
    cluster_init->names = std::move(*names);
  }
  auto images = (*store)->list_images();
  auto vms = (*store)->list_vms();
  if (!images || !vms)
    return fail(!images ? images.error().message : vms.error().message);

  caf::actor_system sys{cfg};
  auto store_handle = spawn_store_actor(sys, std::move(*store));
  auto io = spawn_vmm_io_actor(sys);
  HelperLinkConfig link;
  link.port = settings.helper_port;
  link.credential = credential;
  auto helper = spawn_helper_link(sys, link);
  auto events = spawn_events_actor(sys, settings.daemon_event_buffer);
  auto operations =
    spawn_operations_actor(sys, store_handle, caf::actor_cast<progress_watcher>(events));
  auto directory = spawn_directory(sys);
  caf::anon_send(directory, DirectoryWatch{caf::actor_cast<vm_events_actor>(events)});
  auto catalog = spawn_images(sys, ImagesInit{store_handle, directory, home.home().string(), *images});
  NodeInit init;
  init.deps = VmDeps{store_handle, helper, io, operations, {}, settings, home.home().string(), *subnet};
  init.directory = directory;
  init.images = catalog;
  init.images_known = std::move(*images);
  init.vms = std::move(*vms);
  auto vm_count = init.vms.size();
  auto node = spawn_node(sys, std::move(init));
  // A helper that comes back may have finished or dropped what was in
  // flight when it went: the node reconciles every VM with it again.
  watch_helper_link(helper, caf::actor_cast<caf::actor>(node));
  ControlDeps control_deps{directory, node, catalog, operations, helper, settings,
                           home.home().string(), version, started, {}, {}, events};
  cluster_actor cluster;
  if (cluster_init) {
    cluster_init->directory = directory;
    cluster_init->node = node;
    cluster_init->operations = operations;
    cluster_init->store = store_handle;
    cluster_init->helper = helper;
    control_deps.cluster_token = cluster_init->local_token;
    cluster = spawn_cluster(sys, std::move(*cluster_init));
    control_deps.cluster = cluster;
  }
  auto control = spawn_control_actor(sys, std::move(control_deps));

  auto stop_all = [&] {
    if (cluster)
      stop_actor(sys, cluster);
    for (auto handle : {caf::actor_cast<caf::actor>(control), caf::actor_cast<caf::actor>(node),
                        caf::actor_cast<caf::actor>(directory), caf::actor_cast<caf::actor>(catalog),
                        caf::actor_cast<caf::actor>(operations), caf::actor_cast<caf::actor>(helper),
                        caf::actor_cast<caf::actor>(io), caf::actor_cast<caf::actor>(events),
                        caf::actor_cast<caf::actor>(store_handle)})
      stop_actor(sys, handle);
  };
  // The HTTP API first: once the control port answers (`daemon status`,
  // what scripts and tests wait for), the API serves too.
  std::unique_ptr<api::HttpApi> http;
  if (settings.api_port != 0) {
    auto started_api = api::HttpApi::start(sys, control, settings, home);
    if (!started_api) {
      stop_all();
      int rc = fail(started_api.error().message);
      log::flush();
      std::_Exit(rc);
    }
    http = std::move(*started_api);
    log_.info("HTTP API serving", {{"listen", settings.api_listen},
                                   {"port", static_cast<unsigned>(http->port())}});
  }
  // SO_REUSEADDR (reuse = true): a restart after a crash must not wait for the
  // dead process's connections to leave FIN_WAIT/TIME_WAIT. Linux still
  // refuses the bind while another process listens on the port, so a second
  // bangerd fails here as before.
  auto port = caf::openssl::publish(control, settings.daemon_port, settings.daemon_listen.c_str(),
                                    true);
  if (!port) {
    auto message = "cannot listen on " + settings.daemon_listen + ":"
                   + std::to_string(settings.daemon_port) + ": " + sys.render(port.error());
    stop_all();
    int rc = fail(message);
    {
      caf::scoped_actor self{sys};
      self->wait_for(store_handle, node, directory, catalog, control);
    }
    log::flush();
    // As at a normal exit: the TLS middleman's shutdown can hang once the
    // helper link has connected, and every actor is done.
    std::_Exit(rc);
  }
  if (cluster) {
    // The host link listener: the peers' only way in, mutual TLS like the
    // control port, on this host's address in cluster.hosts.
    auto link_port = caf::openssl::publish(caf::actor_cast<host_actor>(cluster), self_host.port,
                                           self_host.address.c_str(), true);
    if (!link_port) {
      auto message = "cannot listen for host links on " + self_host.address + ":"
                     + std::to_string(self_host.port) + ": " + sys.render(link_port.error());
      stop_all();
      int rc = fail(message);
      log::flush();
      std::_Exit(rc);
    }
  }
  log_.info("bangerd serving", {{"home", home.home().string()},
                                {"listen", settings.daemon_listen},
                                {"port", static_cast<unsigned>(*port)},
                                {"vms", static_cast<std::int64_t>(vm_count)},
                                {"vmm_kind", settings.vmm_kind},
                                {"startup_ms", log::Millis{now_us() - started}}});

  int signal_number = 0;
  sigwait(&shutdown_signals, &signal_number);
  log_.info("bangerd shutting down; VMs keep running",
            {{"signal", signal_number == SIGTERM ? "SIGTERM" : "SIGINT"}});
  // No join: a worker may be held in an event poll for up to 15 s, and the
  // process ends below with every actor done.
  stop_all();
  {
    // The store has committed what it acknowledged; wait until it is gone.
    caf::scoped_actor self{sys};
    self->wait_for(store_handle, node, directory, catalog, control);
  }
  log_.info("bangerd stopped", {});
  log::flush();
  // CAF 0.17's TLS middleman can hang in shutdown while a peer keeps its
  // connection open (docs/architecture.md, "Findings about CAF 0.17.6");
  // every actor is done, so leave.
  std::_Exit(0);
}
