// `doctor --fix` against real leftovers of every kind it knows, made the way
// they happen: a daemon killed while a VM runs, its record lost, stray
// directories. It used to crash bangerd as soon as there was anything to fix.
#include "tests/integration/helpers.hpp"

#include "messages/home_layout.hpp"
#include "storage/store.hpp"

#include <net/if.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <set>

using namespace banger;
using namespace banger::test;
using namespace std::chrono_literals;

namespace {

std::string describe(const DoctorReport& report) {
  std::string out;
  for (auto& f : report.findings)
    out += f.kind + " " + f.object + " (" + f.detail + ")" + (f.fixed ? " fixed" : "") + "\n";
  return out;
}

} // namespace

TEST_CASE("doctor --fix repairs every kind of leftover in one run and bangerd keeps serving") {
  BANGER_REQUIRE_ROOT();
  Running env;
  auto& host = env.host;
  auto vm = create_vm(host, "leak", true, {{static_cast<std::uint16_t>(20000 + ::getpid() % 20000), 80, "tcp"}});
  REQUIRE_MESSAGE(vm.ok(), (vm.ok() ? "" : vm.error().message));
  REQUIRE(host.vmm_pids().size() == 1);
  // The daemon dies while the VM runs and its record is lost: VMM, tap,
  // runtime directory, VM directory and port rules now belong to no record.
  host.stop_daemon(SIGKILL);
  {
    auto store = Store::open(HomeLayout{host.home()}.database());
    REQUIRE(store.ok());
    REQUIRE((*store)->delete_vm(vm->id).ok());
  }
  auto stray_vm_dir = host.path("state/vms/0000000000000001");
  auto stray_run_dir = host.path("run/vms/0000000000000002");
  std::filesystem::create_directories(stray_vm_dir);
  std::filesystem::create_directories(stray_run_dir);
  host.start_daemon();
  host.wait_ready();

  auto found = host.ask<DoctorReport>(DoctorRequest{});
  REQUIRE_MESSAGE(found.ok(), (found.ok() ? "" : found.error().message));
  std::set<std::string> kinds;
  for (auto& f : found->findings)
    kinds.insert(f.kind);
  const std::set<std::string> every_kind{"process", "tap", "socket", "rootfs", "ports"};
  CHECK_MESSAGE(kinds == every_kind, describe(*found));

  DoctorRequest fix;
  fix.fix = true;
  auto fixed = host.ask<DoctorReport>(fix);
  REQUIRE_MESSAGE(fixed.ok(), (fixed.ok() ? "" : fixed.error().message));
  CHECK(fixed->findings.size() == found->findings.size());
  for (auto& f : fixed->findings)
    CHECK_MESSAGE(f.fixed, describe(*fixed));

  CHECK(host.daemon_running());
  auto status = host.ask<DaemonStatus>(DaemonStatusRequest{}, 10s);
  REQUIRE_MESSAGE(status.ok(), (status.ok() ? "" : status.error().message));
  CHECK(status->helper_reachable);

  // The VMM was sent SIGKILL; the host shows it gone once the kernel has
  // reaped it, and then a second doctor has nothing left to say.
  std::string last;
  bool clean = eventually([&] {
    auto again = host.ask<DoctorReport>(DoctorRequest{}, 10s);
    last = again.ok() ? describe(*again) : again.error().message;
    return again.ok() && again->findings.empty();
  }, 10s, 50ms);
  CHECK_MESSAGE(clean, last);
  CHECK(host.vmm_pids().empty());
  CHECK(if_nametoindex(tap_name(vm->id).c_str()) == 0);
  CHECK_FALSE(std::filesystem::exists(host.path("run/vms/" + vm->id)));
  CHECK_FALSE(std::filesystem::exists(host.path("state/vms/" + vm->id)));
  CHECK_FALSE(std::filesystem::exists(stray_vm_dir));
  CHECK_FALSE(std::filesystem::exists(stray_run_dir));
}
