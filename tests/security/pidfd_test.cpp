// Signals reach exactly the VMM the helper launched. A start time has clock-
// tick resolution, so a pid reused within the same tick carries the identity
// the registry recorded; only the pidfd taken at launch tells the two apart.
#include "privileged/host/pidfd.hpp"
#include "privileged/host/process.hpp"
#include "privileged/host/vmm_registry.hpp"
#include "tests/security/fixtures.hpp"
#include "tests/support/result.hpp"

#include <csignal>
#include <doctest/doctest.h>

using namespace banger;
using banger::test::code_of;
using namespace banger::host;
namespace fs = std::filesystem;

namespace {

/// A pidfd of a process that has exited and been reaped: what the registry
/// holds for a VMM after its exit.
std::shared_ptr<const UniqueFd> pidfd_of_exited_process() {
  host_test::ChildProcess short_lived({host_test::find_program("sleep").string(), "60"});
  auto pidfd = std::make_shared<UniqueFd>(open_pidfd(short_lived.pid()));
  REQUIRE(pidfd->valid());
  short_lived.kill_and_reap();
  return pidfd;
}

} // namespace

TEST_CASE("a pid whose launched VMM exited is not signalled, even with the recorded start time") {
  host_test::TestHome home;
  std::string vm = host_test::random_vm_id();
  VmmMatcher matcher{home.layout(), {host_test::find_program("sleep")}};
  // The live process now holding the pid, with the start time the registry
  // recorded (as after a reuse within the same clock tick).
  host_test::ChildProcess newcomer({host_test::find_program("sleep").string(), "60"});
  REQUIRE(test::eventually([&] {
    return fs::read_symlink("/proc/" + std::to_string(newcomer.pid()) + "/exe").filename()
           == "sleep";
  }));
  auto identity = read_identity(newcomer.pid());
  REQUIRE(identity);
  LaunchedVmms launched;
  launched.add(VmmEntry{*identity, vm, pidfd_of_exited_process()});

  for (const char* signal : {"KILL", "TERM", "USR1"}) {
    CAPTURE(signal);
    auto sent = signal_vmm(*identity, vm, signal, launched, matcher);
    CHECK(code_of(sent) == Errc::not_found);
  }
  CHECK(host_test::process_running(newcomer.pid()));
  CHECK(launched.prune() == 1);
}

TEST_CASE("a launched VMM is signalled through the pidfd it was launched with") {
  host_test::TestHome home;
  std::string vm = host_test::random_vm_id();
  // The matcher would refuse this process (no configured executable): the
  // registry's pidfd alone vouches for it.
  VmmMatcher matcher{home.layout(), {}};
  host_test::ChildProcess vmm({host_test::find_program("sleep").string(), "60"});
  auto identity = read_identity(vmm.pid());
  REQUIRE(identity);
  LaunchedVmms launched;
  launched.add(VmmEntry{*identity, vm, std::make_shared<UniqueFd>(open_pidfd(vmm.pid()))});
  CHECK(signal_vmm(*identity, vm, "KILL", launched, matcher));
  CHECK(test::eventually([&] { return !host_test::process_running(vmm.pid()); }));
}

TEST_CASE("a process the registry does not hold is verified by exe and command line") {
  host_test::TestHome home;
  std::string vm = host_test::random_vm_id();
  // Right executable, right start time, but no mention of the VM's run dir.
  auto sleep = host_test::find_program("sleep");
  VmmMatcher matcher{home.layout(), {sleep}};
  host_test::ChildProcess impostor({sleep.string(), "60"});
  REQUIRE(test::eventually([&] {
    return fs::read_symlink("/proc/" + std::to_string(impostor.pid()) + "/exe").filename()
           == "sleep";
  }));
  auto identity = read_identity(impostor.pid());
  REQUIRE(identity);
  LaunchedVmms launched;
  launched.add(VmmEntry{*identity, vm, nullptr}); // an entry without a pidfd proves nothing
  CHECK(code_of(signal_vmm(*identity, vm, "KILL", launched, matcher)) == Errc::helper_refused);
  CHECK(host_test::process_running(impostor.pid()));
}

TEST_CASE("the registry lets go of the pidfds of exited VMMs when it adds one") {
  std::string vm = host_test::random_vm_id();
  host_test::ChildProcess live({host_test::find_program("sleep").string(), "60"});
  auto identity = read_identity(live.pid());
  REQUIRE(identity);
  LaunchedVmms launched;
  auto exited = pidfd_of_exited_process();
  launched.add(VmmEntry{ProcessIdentity{1 << 22, 1}, vm, exited});
  REQUIRE(launched.size() == 1);
  launched.add(VmmEntry{*identity, vm, std::make_shared<UniqueFd>(open_pidfd(live.pid()))});
  CHECK(launched.size() == 1);
  CHECK(launched.contains(*identity, vm));
  CHECK(exited.use_count() == 1); // only this test holds it now
}
