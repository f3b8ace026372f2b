// The events actor in process, fed as the directory and the operations
// actor feed it: what becomes an event (state changes, not every record
// change; each stage once; one op.done per operation), the numbering, the
// filter by VM, a held poll answered by the next event, and a reader that
// fell behind the buffer told how many it missed. No root, no daemon.
#include "actors/events_actor.hpp"
#include "tests/actors/actor_fakes.hpp"

#include <doctest/doctest.h>

using namespace banger;
using banger::test::ask;
using banger::test::code_of;

namespace {

VmRecord vm(const std::string& id, const std::string& name, VmState state) {
  VmRecord r;
  r.id = id;
  r.name = name;
  r.runtime.state = state;
  return r;
}

OpProgress progress(const std::string& op_id, const std::string& vm_id, const std::string& stage,
                    OperationOutcome outcome = OperationOutcome::running) {
  OpProgress p;
  p.status.op_id = op_id;
  p.status.kind = "vm.start";
  p.status.vm_id = vm_id;
  p.status.stage = stage;
  p.status.outcome = outcome;
  p.status.started_at_us = 1000;
  if (outcome != OperationOutcome::running)
    p.status.finished_at_us = 251000;
  return p;
}

struct Events {
  test::ActorSystem as;
  caf::scoped_actor self{as.sys};
  events_actor events;
  explicit Events(std::size_t buffer = 64) : events(spawn_events_actor(as.sys, buffer)) {}

  /// Sent from one sender: they arrive in order, before the next ask.
  template <class M>
  void feed(M msg) { self->send(events, std::move(msg)); }

  EventBatch poll(std::uint64_t after, std::string vm_id = {}, std::uint32_t wait_ms = 0) {
    EventsRequest r;
    r.after = after;
    r.vm_id = std::move(vm_id);
    r.wait_ms = wait_ms;
    auto batch = ask<EventBatch>(self, events, r);
    REQUIRE(batch);
    return *batch;
  }
};

std::vector<std::string> types(const EventBatch& b) {
  std::vector<std::string> out;
  for (auto& e : b.events)
    out.push_back(e.type + (e.state.empty() ? "" : ":" + e.state) + (e.stage.empty() ? "" : ":" + e.stage));
  return out;
}

} // namespace

TEST_CASE("state changes, stages and ends become numbered events, each once") {
  Events ev;
  ev.feed(VmChanged{vm("aaaa", "web", VmState::starting), "op-1"});
  ev.feed(VmChanged{vm("aaaa", "web", VmState::starting), "op-1"}); // another field: no event
  ev.feed(progress("op-1", "aaaa", "launch_vmm"));
  ev.feed(progress("op-1", "aaaa", "launch_vmm")); // the same stage again: no event
  ev.feed(VmChanged{vm("aaaa", "web", VmState::running), "op-1"});
  ev.feed(progress("op-1", "aaaa", "launch_vmm", OperationOutcome::succeeded));
  ev.feed(progress("op-1", "aaaa", "launch_vmm", OperationOutcome::succeeded)); // reported twice
  auto b = ev.poll(0);
  CHECK(types(b) == std::vector<std::string>{"vm.state:starting", "op.stage:launch_vmm",
                                             "vm.state:running", "op.done:launch_vmm"});
  for (std::size_t i = 0; i < b.events.size(); ++i) {
    CHECK(b.events[i].seq == i + 1);
    CHECK(b.events[i].op_id == "op-1");
    CHECK(b.events[i].vm_name == "web"); // known from the VM's record
  }
  CHECK(b.events.back().outcome == "succeeded");
  CHECK(b.events.back().duration_us == 250000);
  CHECK(b.last == 4);
  CHECK(b.missed == 0);
  // Nothing after the last: an empty answer at once with no wait.
  auto none = ev.poll(4);
  CHECK(none.events.empty());
  CHECK(none.last == 4);
}

TEST_CASE("a poll filtered by VM sees that VM's events only, and a held poll is answered by the next") {
  Events ev;
  ev.feed(VmChanged{vm("aaaa", "web", VmState::running), ""});
  ev.feed(VmChanged{vm("bbbb", "db", VmState::running), ""});
  auto db = ev.poll(0, "bbbb");
  REQUIRE(db.events.size() == 1);
  CHECK(db.events[0].vm_name == "db");
  CHECK(db.last == 2);
  // A held poll: answered when db's next event comes, not web's.
  EventsRequest held;
  held.after = db.last;
  held.vm_id = "bbbb";
  held.wait_ms = 10000;
  ev.self->send(ev.events, held); // its answer comes to this mailbox, received below
  ev.feed(VmChanged{vm("aaaa", "web", VmState::stopped), ""});
  ev.feed(VmRetired{"bbbb", "db"});
  bool got = false;
  ev.self->receive([&](EventBatch& b) {
    REQUIRE(b.events.size() == 1);
    CHECK(b.events[0].type == "vm.removed");
    CHECK(b.events[0].vm_name == "db");
    got = true;
  }, caf::after(std::chrono::seconds(10)) >> [] {});
  CHECK(got);
}

TEST_CASE("a reader behind the buffer is told how many events it missed, then gets the oldest kept") {
  Events ev(16);
  for (int i = 0; i < 40; ++i)
    ev.feed(VmChanged{vm("aaaa", "web", i % 2 ? VmState::running : VmState::stopped), ""});
  auto b = ev.poll(3);
  CHECK(b.missed == 40 - 16 - 3); // events 4..24 left the buffer
  REQUIRE(!b.events.empty());
  CHECK(b.events.front().seq == 25);
  CHECK(b.events.back().seq == 40);
  // One not yet made is refused rather than waited for.
  EventsRequest ahead;
  ahead.after = 41;
  CHECK(code_of(ask<EventBatch>(ev.self, ev.events, ahead)) == Errc::invalid_argument);
}
