// The VM actor's queue, exit handling and deletion, in process on CAF's
// test coordinator with fake peers (vm_actor_fixture.hpp); no root.
#include "vm_actor_fixture.hpp"

using namespace banger;
using namespace banger::vm_test;

TEST_CASE("lifecycle requests sent together run one at a time, in the order they arrived") {
  Fixture f;
  f.send("start", f.action(VmAction::start, "op-000000000001"));
  f.send("stop", f.action(VmAction::stop, "op-000000000002"));
  f.send("start again", f.action(VmAction::start, "op-000000000003"));
  f.run();
  CHECK(f.world.ops_begun == std::vector<std::string>{"vm.start", "vm.stop", "vm.start"});
  REQUIRE(f.replies.size() == 3);
  CHECK(f.replies[0].first == "start");
  CHECK(f.replies[1].first == "stop");
  CHECK(f.replies[2].first == "start again");
  REQUIRE(f.replies[0].second);
  CHECK(f.replies[0].second->runtime.state == VmState::running);
  REQUIRE(f.replies[1].second);
  CHECK(f.replies[1].second->runtime.state == VmState::stopped);
  CHECK(f.replies[1].second->runtime.last_stop == StopRung::graceful);
  REQUIRE(f.replies[2].second);
  CHECK(f.replies[2].second->runtime.state == VmState::running);
  CHECK(f.world.helper_calls
        == std::vector<std::string>{"launch", "remove_runtime", "launch"});
}

TEST_CASE("past daemon.vm-queue waiting requests the VM answers busy and runs the rest") {
  Fixture f(2);
  // The start stops at its first save: it runs, the next two wait.
  f.world.hold_save = [](const VmRecord& rec) { return rec.runtime.state == VmState::starting; };
  f.send("start", f.action(VmAction::start, "op-000000000001"));
  f.run();
  f.send("stop", f.action(VmAction::stop, "op-000000000002"));
  f.run();
  f.send("kill", f.action(VmAction::kill, "op-000000000003"));
  f.run();
  f.send("one too many", f.action(VmAction::stop, "op-000000000004"));
  f.run();
  REQUIRE(f.replies.size() == 1);
  CHECK(f.replies[0].first == "one too many");
  REQUIRE_FALSE(f.replies[0].second);
  auto busy = view(f.replies[0].second.error());
  CHECK(busy.code == Errc::busy);
  CHECK(busy.op_id == "op-000000000004");

  caf::anon_send(f.store, release_atom::value);
  f.run();
  REQUIRE(f.replies.size() == 4);
  CHECK(f.replies[1].first == "start");
  CHECK(f.replies[2].first == "stop");
  CHECK(f.replies[3].first == "kill");
  CHECK(f.show().runtime.state == VmState::stopped);
}

TEST_CASE("a VMM that exits while an operation is between steps is cleaned up after it") {
  Fixture f;
  // The start has the VMM running and is saving that when the VMM ends.
  f.world.hold_save = [](const VmRecord& rec) { return rec.runtime.state == VmState::running; };
  f.send("start", f.action(VmAction::start, "op-000000000001"));
  f.run();
  REQUIRE(f.world.held);
  auto pid = f.world.vmms.back();
  f.world.end_vmm(pid);
  caf::anon_send(f.vm, VmmExited{pid});
  f.run();
  caf::anon_send(f.store, release_atom::value);
  f.run();

  REQUIRE(f.replies.size() == 1);
  REQUIRE(f.replies[0].second); // the start itself succeeded
  CHECK(f.world.ops_begun == std::vector<std::string>{"vm.start", "vm.vmm_exited"});
  auto rec = f.show();
  CHECK(rec.runtime.state == VmState::stopped);
  CHECK(rec.runtime.pid == 0);
  CHECK(rec.runtime.last_error.find("the VMM exited on its own") == 0);
  CHECK(f.world.helper_calls == std::vector<std::string>{"launch", "remove_runtime"});
}

TEST_CASE("a late exit notice for a VMM already taken back changes nothing") {
  Fixture f;
  f.send("start", f.action(VmAction::start, "op-000000000001"));
  f.run();
  f.send("kill", f.action(VmAction::kill, "op-000000000002"));
  f.run();
  // The exit watch's notice comes after the kill took the runtime back.
  caf::anon_send(f.vm, VmmExited{f.world.vmms.back()});
  f.run();
  CHECK(f.world.ops_begun == std::vector<std::string>{"vm.start", "vm.kill"});
  CHECK(f.show().runtime.state == VmState::stopped);
}

TEST_CASE("requests waiting behind an rm learn that the VM was deleted") {
  Fixture f;
  f.world.hold_save = [](const VmRecord& rec) { return rec.runtime.rootfs_path.empty(); };
  f.send("rm", f.action(VmAction::remove, "op-000000000001"));
  f.run();
  f.send("start", f.action(VmAction::start, "op-000000000002"));
  f.run();
  caf::anon_send(f.store, release_atom::value);
  f.run();
  REQUIRE(f.replies.size() == 2);
  CHECK(f.replies[0].first == "rm");
  CHECK(f.replies[0].second);
  CHECK(f.replies[1].first == "start");
  REQUIRE_FALSE(f.replies[1].second);
  auto gone = view(f.replies[1].second.error());
  CHECK(gone.code == Errc::not_found);
  CHECK(gone.op_id == "op-000000000002");
  CHECK(f.world.retired == std::vector<std::string>{"0123456789abcdef"});
}

TEST_CASE("each operation ends with one commit of the record and its status, before its reply") {
  Fixture f;
  f.send("start", f.action(VmAction::start, "op-000000000001"));
  f.run();
  f.send("stop", f.action(VmAction::stop, "op-000000000002"));
  f.run();
  f.send("rm", f.action(VmAction::remove, "op-000000000003"));
  f.run();
  REQUIRE(f.replies.size() == 3);
  for (auto& [label, reply] : f.replies)
    CHECK_MESSAGE(reply, label);
  // A start saves `starting` before the launch (recovery needs it) and ends
  // with `running`; a stop ends with `stopped`; an rm drops the rootfs path
  // before the release and erases the record with its status.
  CHECK(f.world.writes
        == std::vector<std::string>{"save starting", "outcome vm.start succeeded + save running",
                                    "outcome vm.stop succeeded + save stopped", "save stopped",
                                    "outcome vm.delete succeeded + erase"});
  CHECK(f.world.recorded
        == std::vector<std::string>{"op-000000000001", "op-000000000002", "op-000000000003"});
  CHECK(f.world.retired == std::vector<std::string>{"0123456789abcdef"});
}

TEST_CASE("a start the store cannot record fails with the store's error") {
  Fixture f;
  f.world.fail_outcome = true;
  f.send("start", f.action(VmAction::start, "op-000000000001"));
  f.run();
  REQUIRE(f.replies.size() == 1);
  REQUIRE_FALSE(f.replies[0].second);
  CHECK(view(f.replies[0].second.error()).code == Errc::storage);
  // Not durable: the operations actor records the failure itself.
  CHECK(f.world.recorded.empty());
}
