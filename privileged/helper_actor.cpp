#include "privileged/helper_actor.hpp"

#include "messages/error.hpp"
#include "messages/home_layout.hpp"
#include "messages/log.hpp"
#include "privileged/host/errors.hpp"
#include "privileged/host/nat.hpp"
#include "privileged/host/ports.hpp"
#include "privileged/host/route.hpp"
#include "privileged/host/rundir.hpp"
#include "privileged/host/tap.hpp"

#include <caf/all.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>

namespace banger {

std::filesystem::path tap_intents_dir(const HelperContext& ctx) {
  return ctx.config.layout.run_dir() / "taps";
}

host::TapScope tap_scope(const HelperContext& ctx) {
  return host::TapScope{ctx.config.bridge, host::installation_id(ctx.config.layout.home())};
}

std::vector<std::string> vm_subdirectories(const std::filesystem::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto& entry : std::filesystem::directory_iterator(dir, ec))
    if (entry.is_directory(ec) && !entry.is_symlink(ec)
        && host::validate_vm_id(entry.path().filename().string()))
      out.push_back(entry.path().filename().string());
  return out;
}

namespace {

using Clock = std::chrono::steady_clock;

const log::Logger log_{"helper"};
const log::Logger tap_log{"helper.tap"};

std::optional<host::Ownership> vmm_owner(const HelperContext& ctx) {
  return ctx.config.vmm.vmm_user;
}

host::Ownership owner_or_root(const HelperContext& ctx) {
  return vmm_owner(ctx).value_or(host::Ownership{0, 0});
}

/// Runs one request: credential, the operation, one log line, the reply.
/// `success` is the level of the completion line: info, except for the
/// once-a-second ping (debug), which would otherwise fill the log.
template <class Reply, class Request, class Body>
caf::result<Reply> serve(const HelperContext& ctx, const char* method, const Request& request,
                         const std::string& vm_id, Body&& body,
                         log::Level success = log::Level::info) {
  auto started = Clock::now();
  const auto& op_id = request.env.op_id;
  Result<Reply> result = [&]() -> Result<Reply> {
    if (!credential_matches(ctx.config.credential, request.env.credential))
      return Error{Errc::unauthenticated, "missing or wrong helper credential"};
    // Every wire type is laid out for protocol_version: a request from
    // another version may mean something else field by field.
    if (request.env.version != protocol_version)
      return Error{Errc::bad_version, "bangerd speaks protocol " + std::to_string(request.env.version)
                                        + ", this banger-helper speaks "
                                        + std::to_string(protocol_version)
                                        + "; upgrade the older side"};
    return body();
  }();
  auto elapsed = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started);
  log::Attrs attrs{{"method", method}, {"op_id", op_id}};
  if (!vm_id.empty())
    // A well-formed id as is; anything else bounded and escaped (the JSON
    // log escapes every value anyway; printable() also bounds its length).
    attrs.emplace_back("vm_id", host::validate_vm_id(vm_id) ? vm_id : host::printable(vm_id));
  attrs.emplace_back("duration_ms", log::Millis{elapsed.count()});
  if (result) {
    log_.write(success, "helper rpc completed", attrs);
    return std::move(*result);
  }
  attrs.emplace_back("error_code", to_string(result.error().code));
  attrs.emplace_back("error", result.error().message);
  log_.warn("helper rpc failed", attrs);
  return make_error(result.error().code, result.error().message, op_id);
}

Result<Ack> ack(Status status, const Envelope& env) {
  if (!status)
    return std::move(status).error();
  return Ack{env.op_id};
}

/// `info`: what was probed at start, nothing touched now.
caf::result<HelperInfo> answer_info(const HelperContext& ctx, const HelperInfoRequest& req) {
  return serve<HelperInfo>(
    ctx, "info", req, "",
    [&]() -> Result<HelperInfo> {
      const auto& c = ctx.config;
      return HelperInfo{c.version, c.rootfs_strategies, c.bridge, std::string(host::to_string(c.kind)),
                        std::string(host::to_string(c.accel)) + " (" + c.accel_reason + ")"};
    },
    log::Level::debug);
}

/// The VM's run directory and tap, either possibly gone already. The tap is
/// checked now and removed by the reaper.
Status remove_runtime(HelperContext& ctx, const std::string& vm_id, const std::string& op_id) {
  auto dir = host::remove_run_dir(ctx.config.layout, vm_id);
  // The tap name holds only the id's first 8 digits: the alias must name
  // this very VM, or a made-up id would reach another VM's tap.
  auto scope = tap_scope(ctx);
  auto tap = host::check_tap(tap_name(vm_id), scope, vm_id);
  if (tap)
    tap = ctx.taps.schedule(tap_name(vm_id), scope, op_id);
  if (!dir && dir.error().code != Errc::not_found)
    return dir;
  if (!tap && tap.error().code != Errc::not_found)
    return tap;
  return {};
}

/// The VM's tap on the bridge, the bridge (and NAT) first. A start right
/// after a stop keeps the tap whose removal is still queued.
///
/// A new tap exists unmarked between its creation (TUNSETIFF) and the alias
/// that proves it is this installation's; a helper killed in between would
/// leave a device no check can claim. The intent record <run>/taps/<tap>,
/// written first and removed once create_tap has answered, is that proof
/// for the sweep at the next start (remove_stale_runtime).
Status make_tap(HelperContext& ctx, const std::string& vm_id, const std::string& tap) {
  if (auto net = ensure_network(ctx); !net)
    return net;
  ctx.taps.claim(tap);
  auto intents = tap_intents_dir(ctx);
  std::error_code ec;
  std::filesystem::create_directories(intents, ec);
  auto intent = intents / tap;
  if (std::ofstream record(intent, std::ios::trunc); !(record << vm_id << '\n'))
    return Error{Errc::system, "cannot write the tap intent record " + intent.string()};
  auto made = host::create_tap(vm_id, tap, tap_scope(ctx), owner_or_root(ctx));
  std::filesystem::remove(intent, ec);
  return made;
}

/// vmm.launch: tap, run directory, VMM; on failure, none of them.
Result<VmmLaunched> launch_runtime(HelperContext& ctx, const VmmLaunchRequest& req,
                                   const host::VmmSpec& spec) {
  if (auto made = make_tap(ctx, req.vm_id, tap_name(req.vm_id)); !made)
    return std::move(made).error();
  auto launched = [&]() -> Result<host::LaunchedVmm> {
    if (auto dir = host::create_run_dir(ctx.config.layout, req.vm_id, owner_or_root(ctx)); !dir)
      return std::move(dir).error();
    return host::launch_vmm(spec, ctx.config.layout);
  }();
  if (!launched) {
    (void)remove_runtime(ctx, req.vm_id, req.env.op_id); // all or nothing
    return std::move(launched).error();
  }
  // The clone's pidfd stays with the entry: every later signal goes through it.
  ctx.launched.add(host::VmmEntry{launched->identity, req.vm_id,
                                  std::make_shared<host::UniqueFd>(std::move(launched->pidfd))});
  auto socket = spec.kind == host::VmmKind::qemu ? spec.qmp_socket : spec.api_socket;
  return VmmLaunched{launched->identity.pid, launched->identity.start_time, socket.string(),
                     spec.log_path.string(), spec.kernel.string(), spec.initrd.string(),
                     spec.rootfs.string(), spec.vsock_socket.string()};
}

helper_actor::behavior_type worker(helper_actor::pointer, std::shared_ptr<HelperContext> shared) {
  auto& ctx = *shared;
  return {
    [shared, &ctx](HelperInfoRequest& req) { return answer_info(ctx, req); },
    [shared, &ctx](TapDeleteRequest& req) {
      return serve<Ack>(ctx, "tap.delete", req, req.vm_id, [&]() -> Result<Ack> {
        // Doctor removes taps whose VM record is gone: the name alone then.
        auto valid = req.vm_id.empty() ? host::validate_tap_name(req.tap)
                                       : host::validate_tap_name_for(req.tap, req.vm_id);
        if (!valid)
          return std::move(valid).error();
        // Checked now, removed by the reaper (one RCU grace-period wait per
        // batch, off this request's path; see host/tap_reaper.hpp).
        // With a VM id, the tap's alias must name that VM, too.
        if (!req.vm_id.empty())
          if (auto ok = host::check_tap(req.tap, tap_scope(ctx), req.vm_id); !ok)
            return std::move(ok).error();
        return ack(ctx.taps.schedule(req.tap, tap_scope(ctx), req.env.op_id), req.env);
      });
    },
    [shared, &ctx](RootfsPrepareRequest& req) {
      return serve<RootfsPrepared>(ctx, "rootfs.prepare", req, req.vm_id,
                                   [&]() -> Result<RootfsPrepared> {
        if (auto ok = host::validate_vm_id(req.vm_id); !ok)
          return std::move(ok).error();
        auto prepared = host::prepare_rootfs(ctx.config.layout, req.vm_id, req.image_rootfs,
                                             ctx.config.strategy, vmm_owner(ctx),
                                             req.size_bytes);
        if (!prepared)
          return std::move(prepared).error();
        return RootfsPrepared{prepared->path.string(),
                              std::string(host::to_string(prepared->strategy))};
      });
    },
    [shared, &ctx](RootfsReleaseRequest& req) {
      return serve<Ack>(ctx, "rootfs.release", req, req.vm_id, [&]() -> Result<Ack> {
        if (auto ok = host::validate_vm_id(req.vm_id); !ok)
          return std::move(ok).error();
        return ack(host::remove_vm_state_dir(ctx.config.layout, req.vm_id), req.env);
      });
    },
    [shared, &ctx](VmmLaunchRequest& req) {
      return serve<VmmLaunched>(ctx, "vmm.launch", req, req.vm_id, [&]() -> Result<VmmLaunched> {
        host::LaunchRequest launch;
        // The kind comes from the helper's configuration, never the caller.
        launch.kind = ctx.config.kind;
        launch.vm_id = req.vm_id;
        launch.kernel = req.kernel_path;
        launch.initrd = req.initrd_path;
        launch.tap = req.tap;
        launch.mac = req.mac;
        launch.cpus = req.cpus;
        launch.memory_mib = req.memory_mib;
        launch.boot_args = req.boot_args;
        launch.restore = req.restore;
        launch.accel = ctx.config.accel;
        launch.tsc_khz = ctx.config.tsc_khz;
        auto spec = host::validate_launch(launch, ctx.config.layout, ctx.config.vmm);
        if (!spec)
          return std::move(spec).error();
        return launch_runtime(ctx, req, *spec);
      });
    },
    [shared, &ctx](VmmSignalRequest& req) {
      return serve<Ack>(ctx, "vmm.signal", req, req.vm_id, [&]() -> Result<Ack> {
        if (auto ok = host::validate_vm_id(req.vm_id); !ok)
          return std::move(ok).error();
        host::VmmMatcher matcher{ctx.config.layout, ctx.config.vmm.vmm_executables()};
        host::ProcessIdentity target{req.pid, req.start_time};
        auto sent = host::signal_vmm(target, req.vm_id, req.signal, ctx.launched, matcher);
        if (!sent)
          return std::move(sent).error();
        return Ack{req.env.op_id};
      });
    },
    [shared, &ctx](RuntimeRemoveRequest& req) {
      return serve<Ack>(ctx, "runtime.remove", req, req.vm_id, [&]() -> Result<Ack> {
        if (auto ok = host::validate_vm_id(req.vm_id); !ok)
          return std::move(ok).error();
        return ack(remove_runtime(ctx, req.vm_id, req.env.op_id), req.env);
      });
    },
    [shared, &ctx](PeerRouteRequest& req) {
      return serve<Ack>(ctx, "peer.route", req, "", [&]() -> Result<Ack> {
        auto route = host::validate_peer_route(ctx.config.subnet, req.subnet, req.gateway);
        if (!route)
          return std::move(route).error();
        return ack(host::install_peer_route(*route), req.env);
      });
    },
    [shared, &ctx](PortsPublishRequest& req) {
      return serve<Ack>(ctx, "ports.publish", req, req.vm_id, [&]() -> Result<Ack> {
        // The subnet and bridge are the helper's own, never the caller's.
        auto spec = host::validate_ports(ctx.config.subnet, req.vm_id, req.guest_ip, req.ports);
        if (!spec)
          return std::move(spec).error();
        return ack(host::publish_ports(ctx.config.bridge, ctx.config.subnet, *spec), req.env);
      });
    },
    [shared, &ctx](PortsUnpublishRequest& req) {
      return serve<Ack>(ctx, "ports.unpublish", req, req.vm_id, [&]() -> Result<Ack> {
        return ack(host::unpublish_ports(ctx.config.bridge, req.vm_id), req.env);
      });
    },
    [shared, &ctx](HelperInventoryRequest& req) {
      return serve<HelperInventory>(ctx, "inventory", req, "", [&]() -> Result<HelperInventory> {
        HelperInventory inventory;
        ctx.taps.drain(); // a tap on its way out is not a leftover
        inventory.run_dirs = vm_subdirectories(ctx.config.layout.run_dir() / "vms");
        inventory.vm_dirs = vm_subdirectories(ctx.config.layout.state_dir() / "vms");
        auto taps = host::list_taps(tap_scope(ctx));
        if (!taps)
          return std::move(taps).error();
        // Tap names are host-wide, homes are not: only the taps this
        // installation marked (see host::TapScope), never another's or a
        // stranger's on this home's bridge (several homes may share a host).
        for (auto& tap : *taps)
          if (tap.ours)
            inventory.taps.push_back(tap.name);
        host::VmmMatcher matcher{ctx.config.layout, ctx.config.vmm.vmm_executables()};
        auto found = host::rediscover(matcher);
        if (!found)
          return std::move(found).error();
        ctx.launched.replace_all(*found);
        for (auto& vmm : *found)
          inventory.vmms.push_back(VmmProcess{vmm.vm_id, vmm.identity.pid, vmm.identity.start_time});
        auto ports = host::published_vms(ctx.config.bridge);
        if (!ports)
          return std::move(ports).error();
        inventory.port_vms = std::move(*ports);
        return inventory;
      });
    },
  };
}

struct FrontState {
  FrontState() = default; // not an aggregate: CAF must not build it from `self`
  std::shared_ptr<const HelperContext> context;
  std::vector<helper_actor> workers;
  std::size_t next = 0;
  static inline const char* name = "helper";
};

helper_actor::behavior_type front(helper_actor::stateful_pointer<FrontState> self,
                                  std::shared_ptr<const HelperContext> context,
                                  std::vector<helper_actor> workers) {
  self->state.context = std::move(context);
  self->state.workers = std::move(workers);
  // Workers live and die with the front actor.
  for (auto& w : self->state.workers)
    self->link_to(w);
  // Requests for one VM go to one worker so they stay in order; others
  // spread round-robin.
  auto pick = [self](const std::string& vm_id) -> helper_actor& {
    auto& st = self->state;
    if (!vm_id.empty())
      return st.workers[std::hash<std::string>{}(vm_id) % st.workers.size()];
    return st.workers[st.next++ % st.workers.size()];
  };
  auto route = [self, pick](auto& request, const std::string& vm_id) {
    return self->delegate(pick(vm_id), std::move(request));
  };
  return {
    // Answered here, never behind a worker's blocking job: it is the ping.
    [self](HelperInfoRequest& r) { return answer_info(*self->state.context, r); },
    [route](TapDeleteRequest& r) { return route(r, r.vm_id); },
    [route](RootfsPrepareRequest& r) { return route(r, r.vm_id); },
    [route](RootfsReleaseRequest& r) { return route(r, r.vm_id); },
    [route](VmmLaunchRequest& r) { return route(r, r.vm_id); },
    [route](VmmSignalRequest& r) { return route(r, r.vm_id); },
    [route](RuntimeRemoveRequest& r) { return route(r, r.vm_id); },
    [route](HelperInventoryRequest& r) { return route(r, ""); },
    [route](PeerRouteRequest& r) { return route(r, ""); },
    [route](PortsPublishRequest& r) { return route(r, r.vm_id); },
    [route](PortsUnpublishRequest& r) { return route(r, r.vm_id); },
  };
}

} // namespace

void log_tap_removal(const std::string& tap, const std::string& op_id, const Status& result,
                     std::size_t batch) {
  log::Attrs attrs{{"tap", tap}, {"op_id", op_id}, {"batch", static_cast<std::int64_t>(batch)}};
  // not_found: removed meanwhile by someone else (doctor, an operator).
  if (result || result.error().code == Errc::not_found) {
    tap_log.info("tap removed", attrs);
    return;
  }
  attrs.emplace_back("error", result.error().message);
  tap_log.warn("tap removal failed (banger doctor --fix retries)", attrs);
}

bool credential_matches(const std::string& expected, const std::string& given) {
  if (expected.empty())
    return false;
  unsigned char diff = expected.size() == given.size() ? 0 : 1;
  for (std::size_t i = 0; i < expected.size(); ++i)
    diff |= static_cast<unsigned char>(expected[i] ^ (i < given.size() ? given[i] : 0));
  return diff == 0;
}

helper_actor spawn_helper(caf::actor_system& sys, std::shared_ptr<HelperContext> context,
                          std::size_t workers) {
  std::vector<helper_actor> pool;
  for (std::size_t i = 0; i < std::max<std::size_t>(workers, 1); ++i)
    pool.push_back(sys.spawn<caf::detached>(worker, context));
  return sys.spawn(front, std::shared_ptr<const HelperContext>(context), std::move(pool));
}

/// The bridge with its gateway address, and NAT when configured. The bridge
/// again at every tap. The NAT table at start and then again at a tap when
/// it was last written more than nat_refresh ago: something on the host (a
/// firewall reload) may have flushed it since, but rewriting it costs a
/// libnftables context and a kernel transaction (at every tap it halved
/// lifecycle throughput, BENCHMARKS.md), so a flushed table is back at the
/// first start after at most nat_refresh.
Status ensure_network(HelperContext& ctx) {
  constexpr std::int64_t nat_refresh_us = 10'000'000;
  if (auto made = host::ensure_bridge(ctx.config.bridge, ctx.config.subnet); !made)
    return made;
  if (!ctx.config.nat)
    return {};
  auto now = std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
               .count();
  auto last = ctx.nat_ensured_us.load();
  if (last != 0 && now - last < nat_refresh_us)
    return {};
  if (auto st = host::ensure_nat(ctx.config.bridge, ctx.config.subnet); !st)
    return st;
  ctx.nat_ensured_us.store(now);
  return {};
}

} // namespace banger
