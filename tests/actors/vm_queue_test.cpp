// The VM queue (actors/vm_queue.hpp) on its own: no actor system, the
// operations are recorded and ended by the test, so the order is exact.
#include "actors/vm_queue.hpp"

#include "messages/error.hpp"
#include "messages/op_id.hpp"

#include <doctest/doctest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

using namespace banger;
using namespace banger::vm;

namespace {

VmActionRequest action(VmAction what, std::string op_id) {
  VmActionRequest request;
  request.env.op_id = std::move(op_id);
  request.action = what;
  return request;
}

/// A queue whose operations the test ends by hand.
struct Harness {
  std::shared_ptr<const int> owner = std::make_shared<const int>(0);
  std::vector<std::string> started;             ///< op ids, in start order
  std::vector<std::optional<OpDone>> running;   ///< continuations, by start
  std::vector<std::optional<Error>> ended;      ///< outcomes, in end order
  std::vector<std::function<void()>> deferred;  ///< ends of dropped operations
  std::vector<std::pair<std::string, caf::expected<VmRecord>>> replies;
  bool drop_next = false;
  Queue uut;

  explicit Harness(std::size_t bound) : uut("VM web", bound, hooks()) {}
  // Like the VM actor's state: continuations outliving the harness are left alone.
  ~Harness() { owner.reset(); }

  Queue::Hooks hooks() {
    Queue::Hooks h;
    h.start = [this](Pending, const std::string& op_id, OpDone done) {
      started.push_back(op_id);
      if (drop_next) {
        drop_next = false;
        running.emplace_back(std::nullopt); // the continuation goes away uncalled
        return;
      }
      running.emplace_back(std::move(done));
    };
    h.end = [this](std::optional<Error> error) { ended.push_back(std::move(error)); };
    h.defer = [this](std::function<void()> end) { deferred.push_back(std::move(end)); };
    h.owner = owner;
    return h;
  }

  bool submit(VmActionRequest request) {
    auto id = request.env.op_id;
    return uut.submit(Pending{std::move(request), [this, id](caf::expected<VmRecord> r) {
                                replies.emplace_back(id, std::move(r));
                              }});
  }

  /// Ends the operation started `index`-th with `error`.
  void end(std::size_t index, std::optional<Error> error = std::nullopt) {
    REQUIRE(index < running.size());
    REQUIRE(running[index]);
    auto done = std::move(*running[index]);
    running[index].reset();
    done(std::move(error));
  }
};

ErrorView error_of(const caf::expected<VmRecord>& reply) {
  REQUIRE_FALSE(reply);
  return view(reply.error());
}

} // namespace

TEST_CASE("requests run one at a time, in the order they arrived") {
  Harness h(8);
  CHECK(h.submit(action(VmAction::start, "op-a")));
  CHECK(h.submit(action(VmAction::stop, "op-b")));
  CHECK(h.submit(action(VmAction::remove, "op-c")));
  CHECK(h.started == std::vector<std::string>{"op-a"});
  CHECK(h.uut.running());
  CHECK(h.uut.waiting() == 2);

  h.end(0);
  CHECK(h.started == std::vector<std::string>{"op-a", "op-b"});
  h.end(1, Error{Errc::timeout, "slow"});
  CHECK(h.started == std::vector<std::string>{"op-a", "op-b", "op-c"});
  h.end(2);
  CHECK_FALSE(h.uut.running());
  REQUIRE(h.ended.size() == 3);
  CHECK_FALSE(h.ended[0]);
  REQUIRE(h.ended[1]);
  CHECK(h.ended[1]->code == Errc::timeout);
  CHECK(h.replies.empty()); // the queue never answers an admitted request itself
}

TEST_CASE("past daemon.vm-queue waiting requests a new one is refused with busy") {
  Harness h(2);
  CHECK(h.submit(action(VmAction::start, "op-run")));  // runs, does not wait
  CHECK(h.submit(action(VmAction::stop, "op-w1")));
  CHECK(h.submit(action(VmAction::start, "op-w2")));
  CHECK_FALSE(h.submit(action(VmAction::stop, "op-late")));

  REQUIRE(h.replies.size() == 1);
  CHECK(h.replies[0].first == "op-late");
  auto refused = error_of(h.replies[0].second);
  CHECK(refused.code == Errc::busy);
  CHECK(refused.op_id == "op-late");
  CHECK(refused.message == "VM web has 2 requests waiting; try again later");
  CHECK(h.started == std::vector<std::string>{"op-run"});

  h.end(0); // one waiting request starts: there is room again
  CHECK(h.submit(action(VmAction::kill, "op-again")));
  CHECK(h.uut.waiting() == 2);
}

TEST_CASE("an operation whose continuation is dropped still ends and the queue moves on") {
  Harness h(8);
  h.drop_next = true;
  CHECK(h.submit(action(VmAction::start, "op-lost")));
  CHECK(h.submit(action(VmAction::stop, "op-next")));
  // Ending it runs later, not inside whatever destroyed the continuation.
  CHECK(h.ended.empty());
  CHECK(h.started == std::vector<std::string>{"op-lost"});
  REQUIRE(h.deferred.size() == 1);

  auto end = std::move(h.deferred[0]);
  end();
  REQUIRE(h.ended.size() == 1);
  REQUIRE(h.ended[0]);
  CHECK(h.ended[0]->code == Errc::internal);
  CHECK(h.ended[0]->message == dropped_operation_message);
  CHECK(h.started == std::vector<std::string>{"op-lost", "op-next"});
}

TEST_CASE("the clean-up after a VMM exit queues behind the running operation, never refused") {
  Harness h(1);
  CHECK(h.submit(action(VmAction::start, "op-start")));
  CHECK(h.submit(action(VmAction::stop, "op-stop"))); // the queue is full now
  h.uut.submit_always(Pending{VmmExitedWork{4242}, {}});
  CHECK(h.uut.waiting() == 2);
  CHECK(h.replies.empty());
  CHECK(h.started.size() == 1);

  h.end(0);
  h.end(1);
  REQUIRE(h.started.size() == 3);
  CHECK(h.started[1] == "op-stop");
  CHECK(is_valid_op_id(h.started[2])); // minted: the exit has no caller
}

TEST_CASE("after close what waits and what comes later gets the close error") {
  Harness h(8);
  CHECK(h.submit(action(VmAction::remove, "op-rm")));
  CHECK(h.submit(action(VmAction::start, "op-waiting")));
  h.uut.close(Errc::not_found, "VM web was deleted");
  REQUIRE(h.replies.size() == 1);
  CHECK(h.replies[0].first == "op-waiting");
  auto gone = error_of(h.replies[0].second);
  CHECK(gone.code == Errc::not_found);
  CHECK(gone.op_id == "op-waiting");

  CHECK_FALSE(h.submit(action(VmAction::start, "op-after")));
  REQUIRE(h.replies.size() == 2);
  CHECK(error_of(h.replies[1].second).message == "VM web was deleted");

  h.end(0); // the running operation still ends as it would
  CHECK(h.ended.size() == 1);
  CHECK(h.started == std::vector<std::string>{"op-rm"});
  h.uut.submit_always(Pending{VmmExitedWork{1}, {}});
  CHECK(h.started.size() == 1);
}

TEST_CASE("each request kind runs as its own operation kind") {
  VmCreateWork create;
  create.env.op_id = "op-create";
  VmReconcile reconcile;
  reconcile.env.op_id = "op-reconcile";
  CHECK(op_name(create) == "vm.create");
  CHECK(op_id_of(create) == "op-create");
  CHECK(op_name(reconcile) == "vm.reconcile");
  CHECK(op_id_of(reconcile) == "op-reconcile");
  CHECK(op_name(VmmExitedWork{}) == "vm.vmm_exited");
  CHECK(op_name(action(VmAction::remove, "x")) == "vm.delete");
  CHECK(op_name(action(VmAction::restart, "x")) == "vm.restart");
  CHECK(op_name(action(static_cast<VmAction>(99), "x")) == "vm.unknown");
}
