// Reconciliation with the helper's inventory against the VM's own
// operations: an inventory never overrides what an operation of the VM
// settled after it was asked for, nor the reason a failed start gave.
// In process on CAF's test coordinator with fake peers; no root.
#include "vm_actor_fixture.hpp"

using namespace banger;
using namespace banger::vm_test;
TEST_CASE("a reconcile whose inventory predates a failed start keeps the VM in error with its reason") {
  Fixture f;
  f.world.fail_launch = true;
  // The inventory is asked for, then a start runs and fails before it comes:
  // it lists the tap and runtime directory the start had made meanwhile.
  auto asked_at = operation_tick();
  f.send("start", f.action(VmAction::start, "op-000000000001"));
  f.run();
  REQUIRE(f.replies.size() == 1);
  REQUIRE_FALSE(f.replies[0].second);
  auto failed = f.show();
  REQUIRE(failed.runtime.state == VmState::error);
  REQUIRE(failed.runtime.last_error.find("start failed at") == 0);

  VmReconcile late;
  late.env.op_id = "op-000000000002";
  late.inventory.taps = {tap_name(failed.id)};
  late.inventory.run_dirs = {failed.id};
  late.asked_at = asked_at;
  caf::anon_send(f.vm, late);
  f.run();
  auto after = f.show();
  CHECK(after.runtime.state == VmState::error);
  CHECK(after.runtime.last_error == failed.runtime.last_error);
  CHECK(f.world.ops_begun == std::vector<std::string>{"vm.start"});
}

TEST_CASE("a reconcile whose inventory follows the last operation still settles the VM") {
  Fixture f;
  f.send("start", f.action(VmAction::start, "op-000000000001"));
  f.run();
  auto pid = f.world.vmms.back();
  f.world.end_vmm(pid); // ends with no exit notice: only the inventory knows
  VmReconcile fresh;
  fresh.env.op_id = "op-000000000002";
  fresh.inventory.taps = {tap_name(f.show().id)};
  fresh.asked_at = operation_tick();
  caf::anon_send(f.vm, fresh);
  f.run();
  CHECK(f.world.ops_begun == std::vector<std::string>{"vm.start", "vm.reconcile"});
  auto rec = f.show();
  CHECK(rec.runtime.state == VmState::stopped);
  CHECK(rec.runtime.pid == 0);
}

TEST_CASE("a reconcile after a failed start leaves the VM in error with its reason while its tap goes") {
  Fixture f;
  f.world.fail_launch = true;
  f.send("start", f.action(VmAction::start, "op-000000000001"));
  f.run();
  auto failed = f.show();
  REQUIRE(failed.runtime.state == VmState::error);
  // Asked for after the start: the helper still removes its tap.
  VmReconcile after;
  after.env.op_id = "op-000000000002";
  after.inventory.taps = {tap_name(failed.id)};
  after.asked_at = operation_tick();
  caf::anon_send(f.vm, after);
  f.run();
  CHECK(f.world.ops_begun == std::vector<std::string>{"vm.start", "vm.reconcile"});
  auto rec = f.show();
  CHECK(rec.runtime.state == VmState::error);
  CHECK(rec.runtime.last_error == failed.runtime.last_error);
}

TEST_CASE("a reconcile whose inventory predates a failed start still kills a VMM no record owns") {
  Fixture f;
  f.world.fail_launch = true;
  auto asked_at = operation_tick();
  f.send("start", f.action(VmAction::start, "op-000000000001"));
  f.run();
  auto failed = f.show();
  REQUIRE(failed.runtime.state == VmState::error);
  VmmProcess stray;
  stray.vm_id = failed.id;
  stray.pid = f.world.spawn_vmm();
  stray.start_time = process_start_time(stray.pid).value_or(0);
  VmReconcile late;
  late.env.op_id = "op-000000000002";
  late.inventory.vmms = {stray};
  late.inventory.taps = {tap_name(failed.id)};
  late.asked_at = asked_at;
  caf::anon_send(f.vm, late);
  f.run();
  REQUIRE_FALSE(f.world.helper_calls.empty());
  CHECK(f.world.helper_calls.back() == "signal KILL");
  CHECK(::kill(stray.pid, 0) != 0);
  auto rec = f.show();
  CHECK(rec.runtime.state == VmState::error);
  CHECK(rec.runtime.last_error == failed.runtime.last_error);
}
