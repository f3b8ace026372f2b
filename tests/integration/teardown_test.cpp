// banger-helper dying under a connected daemon: requests in flight fail at
// once instead of at their timeout, and a teardown it cannot finish is never
// reported as done (the VM stays in `error`, naming what is left, until a
// later stop or rm finishes it).
#include "messages/home_layout.hpp"
#include "tests/integration/helpers.hpp"

#include <csignal>
#include <filesystem>
#include <thread>

using namespace banger;
using namespace banger::test;
using namespace std::chrono_literals;

namespace {

using Clock = std::chrono::steady_clock;

bool stage_is(Host& host, const std::string& ref, const std::string& stage) {
  auto shown = show(host, ref);
  return shown.ok() && shown->runtime.stage == stage;
}

std::string message(const Result<VmRecord>& r) {
  return r.ok() ? std::string("ok") : r.error().message;
}

} // namespace

TEST_CASE("a request in flight to a helper that is killed fails at once and the queue moves on") {
  BANGER_REQUIRE_ROOT();
  Running env;
  auto& host = env.host;
  auto vm = create_vm(host, "inflight", false);
  REQUIRE(vm.ok());
  // A stopped helper takes the launch request and never answers it.
  host.signal_helper(SIGSTOP);
  Result<VmRecord> started = Error{Errc::internal, "not answered"};
  std::thread starter([&] { started = act(host, "inflight", VmAction::start); });
  bool in_flight = eventually([&] { return stage_is(host, "inflight", "launch_vmm"); });
  auto killed_at = Clock::now();
  host.stop_helper(SIGKILL);
  starter.join();
  auto waited = Clock::now() - killed_at;
  REQUIRE(in_flight);
  REQUIRE_FALSE(started.ok());
  CHECK_MESSAGE(started.error().code == Errc::helper_unavailable, started.error().message);
  // The link's request timeout is 10 s: the down message ends it instead.
  CHECK(waited < 3s);
  // The VM's queue is free: the next request is served at once.
  auto before = Clock::now();
  auto stopped = act(host, "inflight", VmAction::stop);
  CHECK(Clock::now() - before < 3s);
  CHECK_MESSAGE(stopped.ok(), message(stopped));
  host.start_helper();
  host.wait_ready();
  auto again = act(host, "inflight", VmAction::start);
  REQUIRE_MESSAGE(again.ok(), message(again));
  CHECK(again->runtime.state == VmState::running);
}
