#include "tools/load/floor.hpp"

#include "messages/config.hpp"
#include "messages/op_id.hpp"
#include "tools/load/floor_vm.hpp"
#include "tools/load/gate.hpp"

#include <csignal>
#include <filesystem>
#include <thread>

namespace banger::load {

namespace {

using floor_vm::Env;
using floor_vm::FloorVm;
using floor_vm::Committer;
using floor_vm::create;
using floor_vm::start;
using floor_vm::stop;
using floor_vm::remove;
using floor_vm::cleanup_runtime;

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
