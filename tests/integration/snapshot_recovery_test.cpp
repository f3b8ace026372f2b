// The daemon SIGKILLed in the middle of a suspend or of the start that
// restores one: after its restart the VM is in the state before or the
// state after, never one that names a half-written file, and what was cut
// off can simply be done again.
#include "tests/integration/helpers.hpp"

#include <csignal>
#include <filesystem>
#include <thread>

using namespace banger;
using namespace banger::test;
using namespace std::chrono_literals;

namespace {

Result<VmRecord> act_on(Host& host, const std::string& ref, VmAction action) {
  VmActionRequest request;
  request.ref = ref;
  request.action = action;
  return reported(host.ask<VmRecord>(request), "action on " + ref);
}

/// Waits until the VM's running operation is at `stage`.
bool at_stage(Host& host, const std::string& ref, const std::string& stage) {
  return eventually([&] {
    auto shown = show(host, ref);
    return shown.ok() && shown->runtime.stage == stage;
  });
}

void restart_daemon(Host& host) {
  host.start_daemon();
  host.wait_ready();
}

} // namespace

TEST_CASE("a daemon killed while a suspend saves the state finds the VM paused, and the "
          "suspend then completes") {
  BANGER_REQUIRE_ROOT();
  Faults faults;
  Running env{HostOptions{{}, {faults.env()}}};
  auto& host = env.host;
  // fc-stub reads its faults when it starts: this VM's VMM answers every
  // call a second late, which holds the suspend at each step long enough
  // for the kill to land in the save.
  faults.set("* response-delay-ms 1000\n");
  auto vm = create_vm(host, "midsave", true);
  REQUIRE(vm.ok());
  std::thread suspender([&] { (void)act_on(host, "midsave", VmAction::suspend); });
  REQUIRE(at_stage(host, "midsave", "save_state"));
  host.stop_daemon(SIGKILL);
  suspender.join();
  faults.set("");
  restart_daemon(host);
  // The VMM is adopted as it was recorded: paused, its guest intact; no
  // saved state is named by the record.
  REQUIRE(eventually([&] {
    auto shown = show(host, "midsave");
    return shown.ok() && shown->runtime.state == VmState::paused && shown->runtime.stage.empty();
  }));
  auto shown = show(host, "midsave");
  REQUIRE(shown.ok());
  CHECK(shown->runtime.saved.empty());
  CHECK(host.vmm_pids().size() == 1);
  // Done again, it completes: the files it leaves are whole and named.
  auto suspended = act_on(host, "midsave", VmAction::suspend);
  REQUIRE(suspended.ok());
  CHECK(suspended->runtime.state == VmState::suspended);
  CHECK(std::filesystem::exists(suspended->runtime.saved.state_path));
  CHECK_FALSE(std::filesystem::exists(suspended->runtime.saved.state_path + ".partial"));
  CHECK(eventually([&] { return host.vmm_pids().empty(); }));
  auto running = act_on(host, "midsave", VmAction::start);
  REQUIRE(running.ok());
  CHECK(running->runtime.state == VmState::running);
}

TEST_CASE("a daemon killed while a start loads the saved state finds the VM suspended with "
          "its files, and the next start restores it") {
  BANGER_REQUIRE_ROOT();
  Faults faults;
  Running env{HostOptions{{}, {faults.env()}}};
  auto& host = env.host;
  auto vm = create_vm(host, "midload", true);
  REQUIRE(vm.ok());
  auto suspended = act_on(host, "midload", VmAction::suspend);
  REQUIRE(suspended.ok());
  auto saved = suspended->runtime.saved;
  REQUIRE_FALSE(saved.empty());
  faults.set("* response-delay-ms 3000\n");
  std::thread starter([&] { (void)act_on(host, "midload", VmAction::start); });
  REQUIRE(at_stage(host, "midload", "restore_state"));
  host.stop_daemon(SIGKILL);
  starter.join();
  faults.set("");
  restart_daemon(host);
  REQUIRE(eventually([&] {
    auto shown = show(host, "midload");
    return shown.ok() && shown->runtime.state == VmState::suspended && host.vmm_pids().empty();
  }));
  auto shown = show(host, "midload");
  REQUIRE(shown.ok());
  CHECK(shown->runtime.saved == saved);
  CHECK(shown->runtime.last_error.find("interrupted") != std::string::npos);
  CHECK(std::filesystem::exists(saved.state_path));
  CHECK(std::filesystem::exists(saved.memory_path));
  CHECK_FALSE(host.tap_exists(vm->id));
  auto running = act_on(host, "midload", VmAction::start);
  REQUIRE_MESSAGE(running.ok(), (running.ok() ? "" : running.error().message));
  CHECK(running->runtime.state == VmState::running);
  CHECK(running->runtime.saved.empty());
  CHECK_FALSE(std::filesystem::exists(saved.state_path));
}
