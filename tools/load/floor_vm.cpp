#include "tools/load/floor_vm.hpp"

#include "actors/firecracker_driver.hpp"
#include "actors/kernel_command_line.hpp"
#include "messages/op_id.hpp"
#include "privileged/host/rundir.hpp"

#include <csignal>

namespace banger::load::floor_vm {

namespace {

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
                          [&done](Status s) { done.set_value(std::move(s)); },
                          /*keep_connection=*/true); // as bangerd's Firecracker driver
  return result.get();
}

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

} // namespace

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
  // As bangerd: the record and the operation's status in one commit.
  return env.committer->write(
    {UpsertVm{rec}, UpsertOperation{operation("vm.create", rec, {"prepare_rootfs"}, started)}});
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
  return env.committer->write({UpsertVm{rec}, UpsertOperation{operation(
    "vm.start", rec,
    {"launch_vmm", "watch_vmm", "wait_api_socket",
     "configure_vmm", "start_instance"},
    started)}});
}

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
  return env.committer->write({UpsertVm{vm.rec}, UpsertOperation{operation(
    "vm.stop", vm.rec, {"send_ctrl_alt_del", "wait_for_exit", "cleanup"}, started)}});
}

Status remove(Env& env, FloorVm& vm) {
  auto started = now_us();
  cleanup_runtime(env, vm);
  // As bangerd: the record loses its rootfs path durably before the rootfs
  // goes, and the erase commits with the operation's status.
  vm.rec.runtime.rootfs_path.clear();
  FLOOR_TRY(env.committer->write(UpsertVm{vm.rec}));
  if (auto gone = host::remove_vm_state_dir(env.layout, vm.rec.id);
      !gone && gone.error().code != Errc::not_found)
    return std::move(gone).error();
  return env.committer->write({DeleteVm{vm.rec.id}, UpsertOperation{operation(
    "vm.delete", vm.rec, {"cleanup", "release_rootfs", "delete_record"}, started)}});
}

} // namespace banger::load::floor_vm
