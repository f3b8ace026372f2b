// Faults of the processes themselves: the daemon killed with SIGKILL in the
// middle of a start or a stop, the helper restarting under a connected daemon.
#include "tests/integration/helpers.hpp"

#include "privileged/host/ports.hpp"

#include <csignal>
#include <filesystem>
#include <thread>

using namespace banger;
using namespace banger::test;
using namespace std::chrono_literals;

TEST_CASE("a daemon killed mid-start leaks nothing after the next start") {
  BANGER_REQUIRE_ROOT();
  Faults faults;
  faults.set("* socket-delay-ms 3000\n");
  Running env{HostOptions{{}, {faults.env()}}};
  auto& host = env.host;
  auto vm = create_vm(host, "midstart", false);
  REQUIRE(vm.ok());
  std::thread starter([&] { (void)act(host, "midstart", VmAction::start, ""); });
  REQUIRE(eventually([&] { return host.vmm_pids().size() == 1; }));
  host.stop_daemon(SIGKILL);
  starter.join();
  faults.set("");
  host.start_daemon();
  host.wait_ready();
  bool settled = eventually([&] {
    auto shown = show(host, "midstart");
    return shown.ok() && shown->runtime.state == VmState::error && host.vmm_pids().empty()
           && !host.tap_exists(vm->id);
  });
  if (!settled)
    for (auto& line : host.daemon_log())
      if (line.find("\"vm.reconcile\"") != std::string::npos || line.find("recovery") != std::string::npos)
        MESSAGE(line);
  CHECK(settled);
  auto shown = show(host, "midstart");
  REQUIRE(shown.ok());
  CHECK(shown->runtime.last_error.find("interrupted") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(host.path("run/vms/" + vm->id)));
  // And it can be started normally afterwards.
  auto started = act(host, "midstart", VmAction::start);
  REQUIRE_MESSAGE(started.ok(), (started.ok() ? "" : started.error().message));
}

TEST_CASE("a daemon killed mid-stop settles the VM as stopped after restart") {
  BANGER_REQUIRE_ROOT();
  Faults faults;
  faults.set("* shutdown-delay-ms 4000\n");
  Running env{HostOptions{{"vmm.stop-grace=10s"}, {faults.env()}}};
  auto& host = env.host;
  auto vm = create_vm(host, "midstop", true);
  REQUIRE(vm.ok());
  std::thread stopper([&] { (void)act(host, "midstop", VmAction::stop); });
  REQUIRE(eventually([&] {
    auto shown = show(host, "midstop");
    return shown.ok() && shown->runtime.stage == "wait_for_exit";
  }));
  host.stop_daemon(SIGKILL);
  stopper.join();
  host.start_daemon();
  host.wait_ready();
  bool settled = eventually([&] {
    auto shown = show(host, "midstop");
    return shown.ok() && shown->runtime.state == VmState::stopped && host.vmm_pids().empty()
           && !host.tap_exists(vm->id);
  });
  CHECK(settled);
}

TEST_CASE("a running VM is adopted by a restarted daemon") {
  BANGER_REQUIRE_ROOT();
  Running env;
  auto& host = env.host;
  auto vm = create_vm(host, "survivor", true);
  REQUIRE(vm.ok());
  host.stop_daemon(SIGTERM);
  CHECK(host.vmm_pids().size() == 1); // VMs keep running without the daemon
  host.start_daemon();
  host.wait_ready();
  auto shown = show(host, "survivor");
  REQUIRE(shown.ok());
  CHECK(shown->runtime.state == VmState::running);
  CHECK(shown->runtime.pid == vm->runtime.pid);
  auto stopped = act(host, "survivor", VmAction::stop);
  REQUIRE_MESSAGE(stopped.ok(), (stopped.ok() ? "" : stopped.error().message));
  CHECK(stopped->runtime.last_stop == StopRung::graceful);
  CHECK(host.vmm_pids().empty());
}

TEST_CASE("a restarted daemon publishes a running VM's ports again and takes a stopped one's back") {
  BANGER_REQUIRE_ROOT();
  Running env;
  auto& host = env.host;
  auto port = static_cast<std::uint16_t>(20000 + ::getpid() % 20000);
  auto runs = create_vm(host, "runs", true, {{port, 80, "tcp"}});
  REQUIRE(runs.ok());
  auto stops = create_vm(host, "stops", true, {{static_cast<std::uint16_t>(port + 1), 80, "tcp"}});
  REQUIRE(stops.ok());
  host.stop_daemon(SIGKILL);
  // While the daemon is away: a firewall reload flushes the rules, and the
  // second VM's VMM ends.
  REQUIRE(host::remove_ports_table(host.bridge()));
  auto pid = stops->runtime.pid;
  REQUIRE(::kill(pid, SIGKILL) == 0);
  REQUIRE(eventually([&] { return ::kill(pid, 0) != 0; }));
  // Its rules back as if the unpublish were lost, so recovery must remove them.
  const auto& ip = stops->runtime.guest_ip;
  auto subnet = *parse_ipv4_subnet(ip.substr(0, ip.rfind('.')) + ".0/24"); // the fixture's /24
  auto spec = host::validate_ports(subnet, stops->id, ip, stops->ports);
  REQUIRE(spec.ok());
  REQUIRE(host::publish_ports(host.bridge(), subnet, *spec));
  host.start_daemon();
  host.wait_ready();
  bool settled = eventually([&] {
    auto published = host::published_vms(host.bridge());
    auto shown = show(host, "stops");
    return published.ok() && *published == std::vector<std::string>{runs->id} && shown.ok()
           && shown->runtime.state == VmState::stopped;
  });
  CHECK(settled);
  CHECK(show(host, "runs")->runtime.state == VmState::running);
}

TEST_CASE("requests fail fast while the helper is down and work once it is back") {
  BANGER_REQUIRE_ROOT();
  Running env;
  auto& host = env.host;
  REQUIRE(create_vm(host, "h", false).ok());
  host.stop_helper();
  std::string last;
  bool down = eventually([&] {
    auto status = host.ask<DaemonStatus>(DaemonStatusRequest{}, 5s);
    last = status.ok() ? (status->helper_reachable ? "reachable" : "down") : status.error().message;
    return status.ok() && !status->helper_reachable;
  });
  REQUIRE_MESSAGE(down, last);
  auto before = std::chrono::steady_clock::now();
  auto refused = act(host, "h", VmAction::start);
  CHECK(std::chrono::steady_clock::now() - before < 2s);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code == Errc::helper_unavailable);
  host.start_helper();
  host.wait_ready();
  auto started = act(host, "h", VmAction::start);
  REQUIRE_MESSAGE(started.ok(), (started.ok() ? "" : started.error().message));
  CHECK(started->runtime.state == VmState::running);
}

TEST_CASE("a daemon killed mid-create leaves no VM behind that cannot start") {
  BANGER_REQUIRE_ROOT();
  Running env;
  auto& host = env.host;
  // The helper holds the rootfs request until the daemon is gone, then
  // makes the rootfs for a record that never learns its path.
  host.signal_helper(SIGSTOP);
  VmCreateBeginRequest begin;
  begin.spec.name = "halfmade";
  begin.spec.image = "tiny";
  auto accepted = host.ask<OpAccepted>(begin);
  REQUIRE(accepted.ok());
  Result<VmRecord> shown = Error{Errc::internal, "not shown"};
  bool preparing = eventually([&] {
    shown = show(host, "halfmade");
    return shown.ok() && shown->runtime.stage == "prepare_rootfs";
  });
  if (!preparing)
    for (auto& line : host.daemon_log())
      MESSAGE(line);
  REQUIRE_MESSAGE(preparing, (shown.ok() ? "stage " + shown->runtime.stage : shown.error().message));
  auto id = shown->id;
  host.stop_daemon(SIGKILL);
  host.signal_helper(SIGCONT);
  REQUIRE(eventually([&] { return std::filesystem::exists(host.path("state/vms/" + id + "/rootfs.img")); }));
  host.start_daemon();
  host.wait_ready();
  // Rolled back like any failed create: no record, no rootfs.
  CHECK(eventually([&] {
    auto gone = show(host, "halfmade");
    return !gone.ok() && gone.error().code == Errc::not_found;
  }));
  CHECK_FALSE(std::filesystem::exists(host.path("state/vms/" + id)));
  auto op = host.ask<OperationStatus>(OpStatusRequest{{}, accepted->op_id});
  REQUIRE_MESSAGE(op.ok(), (op.ok() ? "" : op.error().message));
  CHECK(op->outcome == OperationOutcome::failed);
  CHECK_MESSAGE(op->error_message.find("interrupted by a daemon restart") != std::string::npos,
                op->error_message);
  auto doctor = host.ask<DoctorReport>(DoctorRequest{});
  REQUIRE(doctor.ok());
  CHECK(doctor->findings.empty());
  // The name is free, and a VM by that name starts.
  auto again = create_vm(host, "halfmade", true);
  REQUIRE_MESSAGE(again.ok(), (again.ok() ? "" : again.error().message));
  CHECK(again->runtime.state == VmState::running);
}

TEST_CASE("a daemon killed mid-rm finishes the rm after restart") {
  BANGER_REQUIRE_ROOT();
  Running env;
  auto& host = env.host;
  auto vm = create_vm(host, "halfgone", false);
  REQUIRE(vm.ok());
  host.signal_helper(SIGSTOP);
  std::thread remover([&] { (void)act(host, "halfgone", VmAction::remove); });
  bool releasing = eventually([&] {
    auto shown = show(host, "halfgone");
    return shown.ok() && shown->runtime.stage == "release_rootfs";
  });
  host.stop_daemon(SIGKILL);
  remover.join();
  REQUIRE(releasing);
  host.signal_helper(SIGCONT);
  host.start_daemon();
  host.wait_ready();
  CHECK(eventually([&] {
    auto gone = show(host, "halfgone");
    return !gone.ok() && gone.error().code == Errc::not_found;
  }));
  CHECK_FALSE(std::filesystem::exists(host.path("state/vms/" + vm->id)));
  auto doctor = host.ask<DoctorReport>(DoctorRequest{});
  REQUIRE(doctor.ok());
  CHECK(doctor->findings.empty());
}

TEST_CASE("after a restart idle VMs show no stage") {
  BANGER_REQUIRE_ROOT();
  Running env;
  auto& host = env.host;
  REQUIRE(create_vm(host, "fresh", false).ok());
  REQUIRE(create_vm(host, "halted", true).ok());
  REQUIRE(act(host, "halted", VmAction::stop).ok());
  host.stop_daemon(SIGTERM);
  host.start_daemon();
  host.wait_ready();
  for (const auto* name : {"fresh", "halted"}) {
    CAPTURE(name);
    auto shown = show(host, name);
    REQUIRE(shown.ok());
    CHECK(shown->runtime.stage.empty());
  }
  auto list = host.ask<VmList>(VmListRequest{});
  REQUIRE(list.ok());
  for (const auto& vm : list->vms)
    CHECK_MESSAGE(vm.runtime.stage.empty(), vm.name << ": " << vm.runtime.stage);
}
TEST_CASE("showing a VM while its create is being recorded never takes the registry down") {
  BANGER_REQUIRE_ROOT();
  Running env;
  auto& host = env.host;
  VmCreateBeginRequest begin;
  begin.spec.name = "early";
  begin.spec.image = "tiny";
  REQUIRE(host.ask<OpAccepted>(begin).ok());
  // At once: the name is reserved, the record not yet durable.
  auto early = show(host, "early");
  if (!early.ok())
    CHECK_MESSAGE(early.error().code == Errc::busy, early.error().message);
  CHECK(eventually([&] {
    auto shown = show(host, "early");
    return shown.ok() && shown->runtime.state == VmState::created && shown->runtime.stage.empty();
  }));
  auto list = host.ask<VmList>(VmListRequest{});
  REQUIRE(list.ok());
  CHECK(list->vms.size() == 1);
}

TEST_CASE("operations answered before a SIGKILL are on record after the restart") {
  BANGER_REQUIRE_ROOT();
  Running env;
  auto& host = env.host;
  VmCreateRequest create;
  create.env.op_id = "op-00000000c001";
  create.spec.name = "kept";
  create.spec.image = "tiny";
  create.spec.start = true;
  auto created = host.ask<VmRecord>(create);
  REQUIRE_MESSAGE(created.ok(), (created.ok() ? "" : created.error().message));
  VmActionRequest stop;
  stop.env.op_id = "op-00000000c002";
  stop.ref = "kept";
  stop.action = VmAction::stop;
  REQUIRE(host.ask<VmRecord>(stop).ok());
  // At once after the answer: the record and the operation's status were
  // committed before it (one transaction), so nothing is lost.
  host.stop_daemon(SIGKILL);
  host.start_daemon();
  host.wait_ready();
  for (const char* op_id : {"op-00000000c001", "op-00000000c002"}) {
    auto op = host.ask<OperationStatus>(OpStatusRequest{{}, op_id});
    REQUIRE_MESSAGE(op.ok(), op_id << ": " << (op.ok() ? "" : op.error().message));
    CHECK_MESSAGE(op->outcome == OperationOutcome::succeeded, op_id);
    CHECK(op->vm_id == created->id);
  }
  auto shown = show(host, "kept");
  REQUIRE(shown.ok());
  CHECK(shown->runtime.state == VmState::stopped);
  CHECK(shown->runtime.last_stop == StopRung::graceful);
}
