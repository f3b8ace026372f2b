// banger-helper coming back after it died: what it left half-done is
// finished without a daemon restart. The helper sweeps, before it serves,
// the runtime of VMs without a VMM (and a tap it was making, proven its own
// by the intent record); bangerd reconciles every VM once the link is up.
#include "messages/home_layout.hpp"
#include "tests/integration/helpers.hpp"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

using namespace banger;
using namespace banger::test;
using namespace std::chrono_literals;

namespace {

bool device_exists(const std::string& name) {
  return std::filesystem::exists("/sys/class/net/" + name);
}

/// A tap-fc-<8 hex> name no VM of this run has.
std::string spare_tap(unsigned salt) {
  char name[16];
  std::snprintf(name, sizeof name, "tap-fc-%08x", (static_cast<unsigned>(::getpid()) << 8) ^ salt);
  return name;
}

bool make_bare_tap(const std::string& name) {
  return std::system(("ip tuntap add dev " + name + " mode tap").c_str()) == 0;
}

void remove_device(const std::string& name) {
  if (device_exists(name))
    std::system(("ip link del " + name).c_str());
}

} // namespace

TEST_CASE("a stop whose teardown failed while the helper was down is finished once the helper is back") {
  BANGER_REQUIRE_ROOT();
  Running env;
  auto& host = env.host;
  auto vm = create_vm(host, "settled", true);
  REQUIRE_MESSAGE(vm.ok(), (vm.ok() ? "" : vm.error().message));
  // The guest powers off, but nobody can take its tap and run dir back.
  host.stop_helper(SIGKILL);
  auto stopped = act(host, "settled", VmAction::stop);
  REQUIRE_FALSE(stopped.ok());
  auto shown = show(host, "settled");
  REQUIRE(shown.ok());
  REQUIRE(shown->runtime.state == VmState::error);
  host.start_helper();
  host.wait_ready();
  // Nobody asks again: the daemon reconciles the VM when the link is up.
  bool settled = eventually([&] {
    auto now = show(host, "settled");
    return now.ok() && now->runtime.state == VmState::stopped && now->runtime.tap.empty()
           && now->runtime.stage.empty();
  });
  CHECK(settled);
  CHECK_FALSE(host.tap_exists(vm->id));
  CHECK_FALSE(std::filesystem::exists(host.path("run/vms/" + vm->id)));
  auto started = act(host, "settled", VmAction::start);
  CHECK_MESSAGE(started.ok(), (started.ok() ? "" : started.error().message));
}

TEST_CASE("banger-helper removes at start the runtime of VMs without a VMM and a tap it was making when it died") {
  BANGER_REQUIRE_ROOT();
  Running env;
  auto& host = env.host;
  auto vm = create_vm(host, "swept", true);
  REQUIRE_MESSAGE(vm.ok(), (vm.ok() ? "" : vm.error().message));
  auto tap = tap_name(vm->id);
  auto run_dir = host.path("run/vms/" + vm->id);
  REQUIRE(device_exists(tap));
  REQUIRE(std::filesystem::exists(run_dir));
  // The helper dies, then the VMM: nothing is left to use the tap or the run
  // directory, and the daemon cannot ask for their removal.
  host.stop_helper(SIGKILL);
  for (int pid : host.vmm_pids())
    ::kill(pid, SIGKILL);
  REQUIRE(eventually([&] { return host.vmm_pids().empty(); }));
  // A tap the dead helper was making: created, not marked yet, its intent
  // record written. And a stranger's bare tap with no record.
  auto half_made = spare_tap(0x5a);
  auto stranger = spare_tap(0xa5);
  REQUIRE(make_bare_tap(half_made));
  REQUIRE(make_bare_tap(stranger));
  std::filesystem::create_directories(host.path("run/taps"));
  std::ofstream(host.path("run/taps/" + half_made)) << vm->id << "\n";
  host.start_helper();
  host.wait_ready();
  CHECK_FALSE(device_exists(half_made));
  CHECK_FALSE(std::filesystem::exists(host.path("run/taps/" + half_made)));
  CHECK(device_exists(stranger)); // not proven ours: left alone
  CHECK(eventually([&] { return !device_exists(tap) && !std::filesystem::exists(run_dir); }));
  // The daemon settles the record: the VM is stopped and starts again.
  CHECK(eventually([&] {
    auto shown = show(host, "swept");
    return shown.ok() && shown->runtime.state != VmState::running && shown->runtime.stage.empty();
  }));
  auto started = act(host, "swept", VmAction::start);
  CHECK_MESSAGE(started.ok(), (started.ok() ? "" : started.error().message));
  remove_device(half_made);
  remove_device(stranger);
}
