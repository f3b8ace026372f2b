#include "tools/load/floor.hpp"

#include "actors/firecracker_driver.hpp"
#include "actors/kernel_command_line.hpp"
#include "actors/network.hpp"
#include "actors/reactor.hpp"
#include "messages/config.hpp"
#include "messages/home_layout.hpp"
#include "messages/op_id.hpp"
#include "privileged/host/process.hpp"
#include "privileged/host/rootfs.hpp"
#include "privileged/host/rundir.hpp"
#include "privileged/host/tap.hpp"
#include "privileged/host/tap_reaper.hpp"
#include "storage/store.hpp"
#include "tools/load/gate.hpp"

#include <condition_variable>
#include <csignal>
#include <deque>
#include <filesystem>
#include <future>
#include <mutex>
#include <thread>

namespace banger::load {

namespace {

/// Group commit without an actor: callers block until their write is
/// durable; whatever is queued when the writer gets to work shares one
/// transaction, as in the store actor.
class Committer {
public:
  explicit Committer(Store& store) : store_(store), thread_([this] { loop(); }) {}
  ~Committer() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }

  Status write(Write w) {
    std::promise<Status> done;
    auto result = done.get_future();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      queue_.push_back({std::move(w), &done});
    }
    wake_.notify_one();
    return result.get();
  }

private:
  void loop() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty())
        return;
      auto batch = std::move(queue_);
      queue_.clear();
      lock.unlock();
      std::vector<Write> writes;
      writes.reserve(batch.size());
      for (auto& [w, p] : batch)
        writes.push_back(std::move(w));
      auto results = store_.apply(writes);
      for (std::size_t i = 0; i < batch.size(); ++i)
        batch[i].second->set_value(std::move(results[i]));
      lock.lock();
    }
  }

  Store& store_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::pair<Write, std::promise<Status>*>> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

struct Env {
  HomeLayout layout{""};
  Settings settings;
  Subnet subnet;
  host::VmmConfig vmm;
  host::RootfsStrategy strategy = host::RootfsStrategy::automatic;
  Image image;
  std::unique_ptr<Store> store;
  std::unique_ptr<Committer> committer;
  Reactor reactor;
  std::atomic<std::uint32_t> next_address{0};
  /// As in banger-helper: taps are removed off the stop's path, in batches.
  host::TapReaper taps;
  /// The floor's own taps (marked for its scratch home, as the helper does).
  host::TapScope tap_scope() const {
    return host::TapScope{settings.network_bridge, host::installation_id(layout.home())};
  }
};

Result<HttpResponse> http(Reactor& reactor, const HttpCall& call) {
  std::promise<Result<HttpResponse>> done;
  auto result = done.get_future();
  reactor.http(call.socket, call.method, call.path, call.body,
               std::chrono::milliseconds(call.timeout_ms > 0 ? call.timeout_ms : 5000),
               [&done](Result<HttpResponse> r) { done.set_value(std::move(r)); });
  return result.get();
}

Status api(Reactor& reactor, const HttpCall& call) {
  auto reply = http(reactor, call);
  if (!reply)
    return std::move(reply).error();
  return firecracker::judge(call, HttpReply{reply->status, reply->body});
}

Status wait_socket(Reactor& reactor, const std::string& path) {
  std::promise<Status> done;
  auto result = done.get_future();
  reactor.wait_for_socket(path, std::chrono::milliseconds(5000),
                          [&done](Status s) { done.set_value(std::move(s)); });
  return result.get();
}

/// One VM as the floor handles it.
struct FloorVm {
  VmRecord rec;
  host::ProcessIdentity vmm;
  std::shared_ptr<std::promise<void>> exited;
};

OperationStatus operation(const std::string& kind, const VmRecord& rec,
                          std::initializer_list<const char*> stages, std::int64_t started) {
  OperationStatus op;
  op.op_id = mint_op_id();
  op.kind = kind;
  op.vm_id = rec.id;
  op.outcome = OperationOutcome::succeeded;
  op.started_at_us = started;
  op.finished_at_us = now_us();
  for (auto* s : stages)
    op.stages.push_back(StageRecord{s, started, op.finished_at_us - started, true});
  op.stages_done = op.stages_total = static_cast<std::uint32_t>(op.stages.size());
  return op;
}

#define FLOOR_TRY(expr)                                                        \
  if (auto _st = (expr); !_st)                                                 \
    return std::move(_st).error();

Status create(Env& env, FloorVm& vm, const std::string& name) {
  auto started = now_us();
  auto& rec = vm.rec;
  rec = VmRecord{};
  rec.id = mint_object_id();
  rec.name = name;
  rec.image_id = env.image.id;
  auto index = env.next_address++ % env.subnet.guest_capacity();
  auto ip = env.subnet.guest(index);
  rec.runtime.guest_ip = format_ipv4(ip);
  rec.runtime.mac = mac_for(ip);
  rec.runtime.vsock_cid = cid_for(env.subnet, ip);
  rec.created_at_us = rec.updated_at_us = started;
  FLOOR_TRY(env.committer->write(UpsertVm{rec}));
  auto rootfs = host::prepare_rootfs(env.layout, rec.id, "floor/rootfs.ext4", env.strategy);
  if (!rootfs)
    return std::move(rootfs).error();
  rec.runtime.rootfs_path = rootfs->path.string();
  rec.runtime.vm_dir = env.layout.vm_dir(rec.id).string();
  rec.runtime.log_path = env.layout.vm_log(rec.id).string();
  FLOOR_TRY(env.committer->write(UpsertVm{rec}));
  return env.committer->write(
    UpsertOperation{operation("vm.create", rec, {"prepare_rootfs"}, started)});
}

Status start(Env& env, FloorVm& vm) {
  auto started = now_us();
  auto& rec = vm.rec;
  auto& rt = rec.runtime;
  rt.state = VmState::starting;
  FLOOR_TRY(env.committer->write(UpsertVm{rec}));
  FLOOR_TRY(host::ensure_bridge(env.settings.network_bridge, env.subnet));
  rt.tap = tap_name(rec.id);
  env.taps.claim(rt.tap);
  FLOOR_TRY(host::create_tap(rec.id, rt.tap, env.tap_scope(), host::Ownership{0, 0}));
  host::LaunchRequest launch;
  launch.kind = host::VmmKind::firecracker;
  launch.vm_id = rec.id;
  launch.kernel = env.image.kernel_path;
  launch.cpus = rec.cpus;
  launch.memory_mib = rec.memory_mib;
  auto spec = host::validate_launch(launch, env.layout, env.vmm);
  if (!spec)
    return std::move(spec).error();
  if (auto dir = host::create_run_dir(env.layout, rec.id, host::Ownership{0, 0}); !dir)
    return std::move(dir).error();
  auto launched = host::launch_vmm(*spec, env.layout);
  if (!launched)
    return std::move(launched).error();
  vm.vmm = launched->identity;
  rt.pid = vm.vmm.pid;
  rt.pid_start_time = vm.vmm.start_time;
  rt.api_socket = spec->api_socket.string();
  vm.exited = std::make_shared<std::promise<void>>();
  auto token = env.reactor.watch_exit(rt.pid, [exited = vm.exited] { exited->set_value(); });
  if (!token)
    return std::move(token).error();
  FLOOR_TRY(wait_socket(env.reactor, rt.api_socket));
  firecracker::BootConfig boot;
  boot.kernel_path = spec->kernel.string(); // as validate_launch checked them
  boot.initrd_path = spec->initrd.string();
  boot.boot_args = kernel_command_line(
    rt.guest_ip, format_ipv4(env.subnet.gateway()), format_netmask(env.subnet.prefix_length), "");
  boot.rootfs_path = spec->rootfs.string();
  boot.tap = rt.tap;
  boot.mac = rt.mac;
  boot.cpus = rec.cpus;
  boot.memory_mib = rec.memory_mib;
  boot.vsock_cid = rt.vsock_cid;
  boot.vsock_path = spec->vsock_socket.string();
  for (const auto& call : firecracker::configure_calls(rt.api_socket, boot))
    FLOOR_TRY(api(env.reactor, call));
  FLOOR_TRY(api(env.reactor, firecracker::instance_start(rt.api_socket)));
  rt.state = VmState::running;
  FLOOR_TRY(env.committer->write(UpsertVm{rec}));
  return env.committer->write(UpsertOperation{operation(
    "vm.start", rec,
    {"launch_vmm", "watch_vmm", "wait_api_socket",
     "configure_vmm", "start_instance"},
    started)});
}

/// What the daemon's clean-up does after a stop: tap and runtime directory.
void cleanup_runtime(Env& env, FloorVm& vm) {
  (void)env.taps.schedule(tap_name(vm.rec.id), env.tap_scope());
  (void)host::remove_run_dir(env.layout, vm.rec.id);
  vm.rec.runtime.tap.clear();
  vm.rec.runtime.pid = 0;
  vm.rec.runtime.api_socket.clear();
}

Status stop(Env& env, FloorVm& vm) {
  auto started = now_us();
  auto& rt = vm.rec.runtime;
  FLOOR_TRY(api(env.reactor, firecracker::send_ctrl_alt_del(rt.api_socket)));
  if (vm.exited->get_future().wait_for(env.settings.vmm_stop_grace) != std::future_status::ready) {
    ::kill(vm.vmm.pid, SIGKILL);
    return Error{Errc::timeout, "fc-stub did not exit after SendCtrlAltDel"};
  }
  cleanup_runtime(env, vm);
  rt.state = VmState::stopped;
  rt.last_stop = StopRung::graceful;
  FLOOR_TRY(env.committer->write(UpsertVm{vm.rec}));
  return env.committer->write(UpsertOperation{
    operation("vm.stop", vm.rec, {"send_ctrl_alt_del", "wait_for_exit", "cleanup"}, started)});
}

Status remove(Env& env, FloorVm& vm) {
  auto started = now_us();
  cleanup_runtime(env, vm);
  if (auto gone = host::remove_vm_state_dir(env.layout, vm.rec.id);
      !gone && gone.error().code != Errc::not_found)
    return std::move(gone).error();
  FLOOR_TRY(env.committer->write(DeleteVm{vm.rec.id}));
  return env.committer->write(UpsertOperation{
    operation("vm.delete", vm.rec, {"cleanup", "release_rootfs", "delete_record"}, started)});
}

/// Runs `step`, timing it under `op`; false (and the error counted) on failure.
template <class F>
bool timed(Stats& stats, const char* op, F&& step) {
  auto t0 = Clock::now();
  auto status = step();
  if (status) {
    stats.op(op).ok(micros_since(t0));
    return true;
  }
  stats.op(op).failed(micros_since(t0), std::string(to_string(status.error().code)),
                      status.error().message);
  return false;
}

void lifecycle_thread(Env& env, Gate& gate, Stats& stats, std::size_t index, Clock::time_point& last) {
  std::uint64_t seq = 0;
  while (gate.take()) {
    FloorVm vm;
    auto name = "floor-" + std::to_string(index) + "-" + std::to_string(seq++);
    bool ok = timed(stats, "vm.create", [&] { return create(env, vm, name); });
    if (ok) {
      ok = timed(stats, "vm.start", [&] { return start(env, vm); })
           && timed(stats, "vm.stop", [&] { return stop(env, vm); });
      ok = timed(stats, "vm.delete", [&] { return remove(env, vm); }) && ok;
    }
    ++(ok ? stats.units : stats.failed_units);
    last = Clock::now();
  }
}

void churn_thread(Env& env, Gate& gate, Stats& stats, std::vector<FloorVm>& vms,
                  Clock::time_point& last) {
  std::size_t next = 0;
  while (gate.take()) {
    auto& vm = vms[next++ % vms.size()];
    bool ok = timed(stats, "vm.start", [&] { return start(env, vm); })
              && timed(stats, "vm.stop", [&] { return stop(env, vm); });
    if (!ok)
      cleanup_runtime(env, vm);
    ++(ok ? stats.units : stats.failed_units);
    last = Clock::now();
  }
}

} // namespace

RunResult run_floor(const FloorInput& input, std::string& error) {
  const auto& o = input.options;
  RunResult out;
  Config cfg;
  if (auto st = cfg.read(o.home, {}); !st) {
    error = st.error().message;
    return out;
  }
  auto scratch = std::filesystem::path(o.home) / ("load-floor-" + random_hex(3));
  auto env = std::make_unique<Env>();
  env->layout = HomeLayout{scratch};
  env->settings = cfg.settings;
  auto subnet = parse_ipv4_subnet(cfg.settings.network_subnet);
  if (!subnet) {
    error = "network.subnet: " + cfg.settings.network_subnet;
    return out;
  }
  env->subnet = *subnet;
  env->vmm.firecracker_bin = cfg.settings.vmm_firecracker_bin;
  if (auto strategy = host::parse_rootfs_strategy(cfg.settings.rootfs_strategy))
    env->strategy = *strategy;

  std::error_code ec;
  auto images = env->layout.images_dir() / "floor";
  std::filesystem::create_directories(images, ec);
  std::filesystem::create_directories(env->layout.state_dir(), ec);
  std::filesystem::copy_file(input.image_rootfs, images / "rootfs.ext4", ec);
  if (!ec)
    std::filesystem::copy_file(input.image_kernel, images / "vmlinux", ec);
  if (ec) {
    error = "cannot copy the image for the floor: " + ec.message();
    std::filesystem::remove_all(scratch, ec);
    return out;
  }
  auto store = Store::open(env->layout.database());
  if (!store) {
    error = store.error().message;
    std::filesystem::remove_all(scratch, ec);
    return out;
  }
  env->store = std::move(*store);
  env->committer = std::make_unique<Committer>(*env->store);
  env->image.id = mint_object_id();
  env->image.name = "floor";
  env->image.kernel_path = (images / "vmlinux").string();
  env->image.rootfs_path = (images / "rootfs.ext4").string();
  env->image.created_at_us = now_us();
  (void)env->committer->write(UpsertImage{env->image});

  // As in banger-helper: the kernel reaps exited VMMs.
  auto previous = std::signal(SIGCHLD, SIG_IGN);
  Gate gate(o);
  std::vector<Stats> stats(o.concurrency);
  std::vector<Clock::time_point> last(o.concurrency);
  std::vector<std::vector<FloorVm>> owned(o.concurrency);
  if (o.scenario == Scenario::churn) {
    for (std::uint64_t i = 0; i < o.vms; ++i) {
      auto& list = owned[i % o.concurrency];
      list.emplace_back();
      if (auto made = create(*env, list.back(), "floor-v" + std::to_string(i)); !made) {
        error = "floor: cannot create VMs: " + made.error().message;
        list.pop_back();
        break;
      }
    }
  }
  if (error.empty()) {
    gate.open();
    auto started = Clock::now();
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < o.concurrency; ++i) {
      last[i] = started;
      threads.emplace_back([&, i] {
        if (o.scenario == Scenario::churn)
          churn_thread(*env, gate, stats[i], owned[i], last[i]);
        else
          lifecycle_thread(*env, gate, stats[i], i, last[i]);
      });
    }
    for (auto& t : threads)
      t.join();
    auto end = started;
    for (auto& t : last)
      end = std::max(end, t);
    out.seconds = std::chrono::duration<double>(end - started).count();
    for (auto& s : stats)
      out.stats.merge(s);
  }
  for (auto& list : owned)
    for (auto& vm : list)
      (void)remove(*env, vm);
  env->taps.drain();
  std::signal(SIGCHLD, previous);
  env->committer.reset();
  env->store.reset();
  std::filesystem::remove_all(scratch, ec);
  return out;
}

} // namespace banger::load
