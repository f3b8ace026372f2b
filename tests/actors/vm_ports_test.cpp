// A VM's published ports through its lifecycle: the helper's rules come with
// each start and go with every way the VM stops, and recovery takes back
// what a lost unpublish left. In process with fake peers; no root.
#include "vm_actor_fixture.hpp"

using namespace banger;
using namespace banger::vm_test;

namespace {

const std::vector<PortMapping> web{{18080, 8080, "tcp"}};

} // namespace

TEST_CASE("a VM with ports publishes them after its launch and takes them back at stop") {
  Fixture f(64, web);
  f.send("start", f.action(VmAction::start, "op-000000000001"));
  f.send("stop", f.action(VmAction::stop, "op-000000000002"));
  f.run();
  REQUIRE(f.replies.size() == 2);
  REQUIRE(f.replies[0].second);
  CHECK(f.replies[0].second->runtime.state == VmState::running);
  CHECK(f.show().runtime.state == VmState::stopped);
  CHECK(f.world.helper_calls
        == std::vector<std::string>{"launch", "ports.publish 1", "ports.unpublish",
                                    "remove_runtime"});
}

TEST_CASE("a VM without ports asks the helper nothing about them") {
  Fixture f;
  f.send("start", f.action(VmAction::start, "op-000000000001"));
  f.send("kill", f.action(VmAction::kill, "op-000000000002"));
  f.run();
  for (const auto& call : f.world.helper_calls)
    CHECK(call.find("ports") == std::string::npos);
}

TEST_CASE("a start whose ports the helper refuses fails with its reason and takes the launch back") {
  Fixture f(64, web);
  f.world.fail_publish = true;
  f.send("start", f.action(VmAction::start, "op-000000000001"));
  f.run();
  // A step failing after the launch first gives the VMM a moment to show
  // it exited (a timer, which the test coordinator fires on request).
  for (int i = 0; i < 10 && f.replies.empty(); ++i) {
    f.sched->trigger_timeouts();
    f.run();
  }
  REQUIRE(f.replies.size() == 1);
  REQUIRE_FALSE(f.replies[0].second);
  auto error = view(f.replies[0].second.error());
  CHECK(error.code == Errc::conflict);
  CHECK(error.message.find("publishing ports: host port 18080/tcp is already published by VM")
        != std::string::npos);
  CHECK(f.world.helper_calls
        == std::vector<std::string>{"launch", "ports.publish 1", "signal KILL", "remove_runtime"});
  CHECK(f.show().runtime.pid == 0);
}

TEST_CASE("a VMM that exits on its own takes its ports back") {
  Fixture f(64, web);
  f.send("start", f.action(VmAction::start, "op-000000000001"));
  f.run();
  auto pid = f.world.vmms.back();
  f.world.end_vmm(pid);
  caf::anon_send(f.vm, VmmExited{pid});
  f.run();
  CHECK(f.show().runtime.state == VmState::stopped);
  CHECK(f.world.helper_calls
        == std::vector<std::string>{"launch", "ports.publish 1", "ports.unpublish",
                                    "remove_runtime"});
}

TEST_CASE("a reconcile takes back the port rules of a VM that is not running") {
  Fixture f(64, web);
  VmReconcile work;
  work.env.op_id = "op-000000000001";
  work.inventory.port_vms = {f.show().id};
  work.asked_at = operation_tick();
  caf::anon_send(f.vm, work);
  f.run();
  CHECK(f.world.helper_calls == std::vector<std::string>{"ports.unpublish"});
  CHECK(f.show().runtime.state == VmState::stopped);
}

TEST_CASE("a reconcile that adopts a running VM publishes its ports again") {
  Fixture f(64, web);
  f.send("start", f.action(VmAction::start, "op-000000000001"));
  f.run();
  auto rec = f.show();
  REQUIRE(rec.runtime.state == VmState::running);
  VmReconcile work;
  work.env.op_id = "op-000000000002";
  work.inventory.vmms = {VmmProcess{rec.id, rec.runtime.pid, rec.runtime.pid_start_time}};
  work.inventory.taps = {tap_name(rec.id)};
  work.inventory.port_vms = {rec.id};
  work.asked_at = operation_tick();
  caf::anon_send(f.vm, work);
  f.run();
  CHECK(f.show().runtime.state == VmState::running);
  CHECK(f.world.helper_calls
        == std::vector<std::string>{"launch", "ports.publish 1", "ports.publish 1"});
}
