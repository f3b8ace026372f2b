// The VM lifecycle against real processes: banger-helper, bangerd and
// fc-stub, driven by a CAF client over mutual TLS.
#include "tests/integration/helpers.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <unistd.h>

using namespace banger;
using namespace banger::test;
using namespace std::chrono_literals;

namespace {

VmRecord create(Host& host, const std::string& name, bool start) {
  auto vm = create_vm(host, name, start);
  REQUIRE_MESSAGE(vm.ok(), (vm.ok() ? "" : vm.error().message));
  return *vm;
}

} // namespace

TEST_CASE("a VM goes through create, start, stop and delete, leaving nothing behind") {
  BANGER_REQUIRE_ROOT();
  Running env;
  auto& host = env.host;
  auto vm = create(host, "web", false);
  CHECK(vm.runtime.state == VmState::created);
  CHECK(std::filesystem::exists(vm.runtime.rootfs_path));

  auto started = act(host, "web", VmAction::start);
  REQUIRE_MESSAGE(started.ok(), (started.ok() ? "" : started.error().message));
  CHECK(started->runtime.state == VmState::running);
  CHECK(started->runtime.pid > 0);
  CHECK(host.tap_exists(vm.id));
  CHECK(host.vmm_pids().size() == 1);
  CHECK(started->runtime.boot.instance_started_us > 0);

  auto again = act(host, vm.id, VmAction::start);
  REQUIRE(again.ok());
  CHECK(again->runtime.pid == started->runtime.pid); // already running: unchanged

  auto stopped = act(host, vm.id.substr(0, 6), VmAction::stop);
  REQUIRE_MESSAGE(stopped.ok(), (stopped.ok() ? "" : stopped.error().message));
  CHECK(stopped->runtime.state == VmState::stopped);
  CHECK(stopped->runtime.last_stop == StopRung::graceful);
  CHECK(stopped->runtime.pid == 0);
  CHECK_FALSE(host.tap_exists(vm.id));
  CHECK(host.vmm_pids().empty());
  CHECK_FALSE(std::filesystem::exists(host.path("run/vms/" + vm.id)));

  auto twice = act(host, "web", VmAction::stop);
  REQUIRE(twice.ok());
  CHECK(twice->runtime.state == VmState::stopped);

  REQUIRE(act(host, "web", VmAction::start).ok());
  auto deleted = act(host, "web", VmAction::remove);
  REQUIRE_MESSAGE(deleted.ok(), (deleted.ok() ? "" : deleted.error().message));
  CHECK_FALSE(host.tap_exists(vm.id));
  CHECK(host.vmm_pids().empty());
  CHECK_FALSE(std::filesystem::exists(host.path("state/vms/" + vm.id)));
  auto gone = show(host, "web");
  REQUIRE_FALSE(gone.ok());
  CHECK(gone.error().code == Errc::not_found);
  CHECK(gone.error().message.find("(op-") != std::string::npos);
  // The name is free again at once.
  create(host, "web", false);
}

TEST_CASE("a stop that the guest ignores ends by timeout and says so") {
  BANGER_REQUIRE_ROOT();
  TempDir faults_dir;
  auto faults = faults_dir.path() + "/faults";
  {
    std::ofstream out(faults);
    out << "* ignore-ctrl-alt-del\n";
  }
  Running env{HostOptions{{"vmm.stop-grace=300ms"}, {"FC_STUB_FAULTS=" + faults}}};
  auto vm = create(env.host, "stubborn", true);
  auto stopped = act(env.host, "stubborn", VmAction::stop);
  REQUIRE_MESSAGE(stopped.ok(), (stopped.ok() ? "" : stopped.error().message));
  CHECK(stopped->runtime.last_stop == StopRung::timeout);
  CHECK(env.host.vmm_pids().empty());
  CHECK_FALSE(env.host.tap_exists(vm.id));
}

TEST_CASE("kill takes a signal by name or number and refuses others") {
  BANGER_REQUIRE_ROOT();
  Running env;
  auto& host = env.host;
  create(host, "k", true);
  auto refused = act(host, "k", VmAction::kill, "STOP");
  REQUIRE_FALSE(refused.ok());
  CHECK((refused.error().code == Errc::invalid_argument
         || refused.error().code == Errc::helper_refused));
  CHECK(refused.error().message.find("(op-") != std::string::npos);
  CHECK(show(host, "k")->runtime.state == VmState::running);
  CHECK(host.vmm_pids().size() == 1);

  auto killed = act(host, "k", VmAction::kill, "KILL");
  REQUIRE_MESSAGE(killed.ok(), (killed.ok() ? "" : killed.error().message));
  CHECK(killed->runtime.state == VmState::stopped);
  CHECK(killed->runtime.last_stop == StopRung::signal);
  CHECK(host.vmm_pids().empty());

  REQUIRE(act(host, "k", VmAction::start).ok());
  auto by_number = act(host, "k", VmAction::kill, "15");
  REQUIRE(by_number.ok());
  CHECK(by_number->runtime.last_stop == StopRung::signal);
  CHECK(host.vmm_pids().empty());
}

TEST_CASE("restart is one operation that ends running with a new VMM") {
  BANGER_REQUIRE_ROOT();
  Running env;
  auto vm = create(env.host, "r", true);
  auto restarted = act(env.host, "r", VmAction::restart);
  REQUIRE_MESSAGE(restarted.ok(), (restarted.ok() ? "" : restarted.error().message));
  CHECK(restarted->runtime.state == VmState::running);
  CHECK(restarted->runtime.pid != vm.runtime.pid);
  CHECK(env.host.vmm_pids().size() == 1);
}
