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

TEST_CASE("a request in flight to a hung helper fails when its ping does, not at its timeout") {
  BANGER_REQUIRE_ROOT();
  Running env;
  auto& host = env.host;
  // Rootfs work has a 120 s timeout; a helper that stops answering is found
  // out by the link's ping within about 6 s.
  host.signal_helper(SIGSTOP);
  auto before = Clock::now();
  auto created = create_vm(host, "hung", false);
  auto waited = Clock::now() - before;
  REQUIRE_FALSE(created.ok());
  CHECK_MESSAGE(created.error().code == Errc::helper_unavailable, created.error().message);
  CHECK(waited < 15s);
  // The helper may yet make the rootfs it was asked for: the failed create
  // could not release it, so the VM stays, in `error`, until rm.
  auto shown = show(host, "hung");
  REQUIRE(shown.ok());
  CHECK(shown->runtime.state == VmState::error);
  CHECK_MESSAGE(shown->runtime.last_error.find("rm tries again") != std::string::npos,
                shown->runtime.last_error);
  host.signal_helper(SIGCONT);
  // The request it held is served now, for nobody: wait for its rootfs.
  REQUIRE(eventually(
    [&] { return std::filesystem::exists(host.path("state/vms/" + shown->id + "/rootfs.img")); }));
  host.wait_ready();
  auto removed = act(host, "hung", VmAction::remove);
  REQUIRE_MESSAGE(removed.ok(), message(removed));
  CHECK_FALSE(std::filesystem::exists(host.path("state/vms/" + shown->id)));
  auto doctor = host.ask<DoctorReport>(DoctorRequest{});
  REQUIRE(doctor.ok());
  CHECK(doctor->findings.empty());
}

TEST_CASE("a stop whose teardown fails leaves the VM in error naming what is left; the next stop finishes it") {
  BANGER_REQUIRE_ROOT();
  Running env;
  auto& host = env.host;
  auto vm = create_vm(host, "leaky", true);
  REQUIRE_MESSAGE(vm.ok(), (vm.ok() ? "" : vm.error().message));
  auto tap = tap_name(vm->id);
  auto run_dir = host.path("run/vms/" + vm->id);
  // The guest still powers off (the daemon talks to the VMM directly), but
  // nobody can take the tap and the run directory back.
  host.stop_helper(SIGKILL);
  auto stopped = act(host, "leaky", VmAction::stop);
  REQUIRE_FALSE(stopped.ok());
  CHECK_MESSAGE(stopped.error().code == Errc::helper_unavailable, stopped.error().message);
  auto shown = show(host, "leaky");
  REQUIRE(shown.ok());
  CHECK(shown->runtime.state == VmState::error);
  const auto& why = shown->runtime.last_error;
  CHECK_MESSAGE(why.find("tap " + tap) != std::string::npos, why);
  CHECK_MESSAGE(why.find("run dir " + run_dir) != std::string::npos, why);
  CHECK(host.tap_exists(vm->id));
  CHECK(std::filesystem::exists(run_dir));
  CHECK(host.vmm_pids().empty());

  host.start_helper();
  host.wait_ready();
  auto again = act(host, "leaky", VmAction::stop);
  REQUIRE_MESSAGE(again.ok(), message(again));
  CHECK(again->runtime.state == VmState::stopped);
  CHECK_FALSE(host.tap_exists(vm->id));
  CHECK_FALSE(std::filesystem::exists(run_dir));
  CHECK(host.vmm_pids().empty());
}

TEST_CASE("an rm that cannot release everything keeps the VM; a later rm removes it all") {
  BANGER_REQUIRE_ROOT();
  Running env;
  auto& host = env.host;
  auto vm = create_vm(host, "sticky", true);
  REQUIRE_MESSAGE(vm.ok(), (vm.ok() ? "" : vm.error().message));
  auto run_dir = host.path("run/vms/" + vm->id);
  auto vm_dir = host.path("state/vms/" + vm->id);
  host.stop_helper(SIGKILL);
  // Running: the VMM cannot be killed without the helper.
  auto refused = act(host, "sticky", VmAction::remove);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code == Errc::helper_unavailable);
  auto shown = show(host, "sticky");
  REQUIRE(shown.ok());
  CHECK(shown->runtime.state == VmState::running);
  CHECK(host.vmm_pids().size() == 1);
  // Stopped with its tap and run directory left: rm cannot take them back.
  REQUIRE_FALSE(act(host, "sticky", VmAction::stop).ok());
  auto leftover = act(host, "sticky", VmAction::remove);
  REQUIRE_FALSE(leftover.ok());
  CHECK(leftover.error().code == Errc::helper_unavailable);
  shown = show(host, "sticky");
  REQUIRE(shown.ok());
  CHECK(shown->runtime.state == VmState::error);
  CHECK_MESSAGE(shown->runtime.last_error.find("tap " + tap_name(vm->id)) != std::string::npos,
                shown->runtime.last_error);
  CHECK(std::filesystem::exists(vm_dir));

  host.start_helper();
  host.wait_ready();
  auto removed = act(host, "sticky", VmAction::remove);
  REQUIRE_MESSAGE(removed.ok(), message(removed));
  CHECK_FALSE(show(host, "sticky").ok());
  CHECK_FALSE(host.tap_exists(vm->id));
  CHECK_FALSE(std::filesystem::exists(run_dir));
  CHECK_FALSE(std::filesystem::exists(vm_dir));
  CHECK(host.vmm_pids().empty());
  auto doctor = host.ask<DoctorReport>(DoctorRequest{});
  REQUIRE(doctor.ok());
  CHECK(doctor->findings.empty());
}
