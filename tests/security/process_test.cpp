// Launch validation and signalling refuse everything that is not one of the
// VM's own VMMs, and the processes involved keep running.
#include "privileged/host/process.hpp"
#include "privileged/host/rundir.hpp"
#include "privileged/host/vmm_registry.hpp"
#include "tests/security/fixtures.hpp"
#include "tests/support/result.hpp"

#include <csignal>
#include <doctest/doctest.h>

using namespace banger;
using banger::test::code_of;
using namespace banger::host;
using namespace std::string_literals;
namespace fs = std::filesystem;

#ifndef BANGER_FAKE_VMM
#error "BANGER_FAKE_VMM must name the fake VMM binary"
#endif

namespace {

/// A home with one VM whose fake VMM (a "firecracker") is running.
struct Fixture {
  host_test::TestHome home;
  std::string vm = host_test::random_vm_id();
  VmmConfig config;
  LaunchedVmms launched;
  host_test::ProcessGuard guard;
  ProcessIdentity identity;

  Fixture() {
    config.firecracker_bin = BANGER_FAKE_VMM;
    config.qemu_bin = BANGER_FAKE_VMM;
    fs::create_directories(home.outside());
    host_test::write_file(home.outside() / "vmlinux", "kernel");
    host_test::write_file(home.layout().images_dir() / "vmlinux", "kernel");
  }

  VmmMatcher matcher() const {
    return VmmMatcher{home.layout(), config.vmm_executables()};
  }

  void launch() {
    REQUIRE(create_run_dir(home.layout(), vm, host_test::self_owner()));
    auto spec = validate_launch(firecracker_request(), home.layout(), config);
    REQUIRE(spec);
    auto vmm = launch_vmm(*spec, home.layout());
    REQUIRE(vmm);
    guard.reset(vmm->identity.pid);
    identity = vmm->identity;
    launched.add(VmmEntry{identity, vm, std::make_shared<UniqueFd>(std::move(vmm->pidfd))});
    REQUIRE(test::eventually([&] {
      return host_test::read_file(home.layout().vm_log(vm))
                 .find("fake-vmm: ready") != std::string::npos;
    }));
  }

  /// A firecracker launch of `vm` whose kernel and rootfs exist.
  LaunchRequest firecracker_request() const {
    LaunchRequest request;
    request.vm_id = vm;
    request.kernel = host_test::write_vm_files(home.layout(), vm);
    return request;
  }

  LaunchRequest qemu_request() const {
    LaunchRequest request = firecracker_request();
    request.kind = VmmKind::qemu;
    request.tap = tap_name(vm);
    request.mac = "02:fc:00:00:00:02";
    request.boot_args = "console=ttyS0";
    return request;
  }
};

bool still_running(pid_t pid) {
  char state = host_test::process_state(pid);
  return state != 0 && state != 'Z' && state != 'X' && state != 'T';
}

} // namespace

TEST_CASE("signals outside the allow-list are refused and the VMM runs on") {
  Fixture f;
  f.launch();
  for (std::string signal : {"STOP"s, "CONT"s, "SEGV"s, "0"s, "99"s, "19"s}) {
    auto uut = signal_vmm(f.identity, f.vm, signal, f.launched, f.matcher());
    CHECK(code_of(uut) == Errc::helper_refused);
  }
  for (std::string signal : {"TERM;"s, "TERM\0"s, "-9"s, ""s, "KILL -1"s})
    CHECK(code_of(signal_vmm(f.identity, f.vm, signal, f.launched,
                             f.matcher())) == Errc::invalid_argument);
  CHECK(still_running(f.identity.pid));
}

TEST_CASE("pid 1, the helper's own pid and the caller's pid are refused") {
  Fixture f;
  auto init = read_identity(1);
  REQUIRE(init);
  CHECK(code_of(signal_vmm(*init, f.vm, "TERM", f.launched, f.matcher())) ==
        Errc::helper_refused);
  auto self = read_identity(::getpid());
  REQUIRE(self);
  CHECK(code_of(signal_vmm(*self, f.vm, "TERM", f.launched, f.matcher())) ==
        Errc::helper_refused);
  host_test::ChildProcess caller(
      {host_test::find_program("sleep").string(), "60"});
  REQUIRE(test::eventually(
      [&] { return host_test::process_running(caller.pid()); }));
  auto caller_identity = read_identity(caller.pid());
  REQUIRE(caller_identity);
  CHECK(code_of(signal_vmm(*caller_identity, f.vm, "TERM", f.launched,
                           f.matcher(), caller.pid())) == Errc::helper_refused);
  CHECK(host_test::process_running(caller.pid()));
}

TEST_CASE("malformed pids are rejected before any system call") {
  Fixture f;
  for (pid_t pid : {0, -1, -4242})
    CHECK(code_of(signal_vmm(ProcessIdentity{pid, 1}, f.vm, "TERM", f.launched,
                             f.matcher())) == Errc::invalid_argument);
}

TEST_CASE("an unrelated live process is refused and keeps running") {
  Fixture f;
  host_test::ChildProcess unrelated(
      {host_test::find_program("sleep").string(), "60"});
  REQUIRE(test::eventually([&] {
    auto exe =
        fs::read_symlink("/proc/" + std::to_string(unrelated.pid()) + "/exe");
    return exe.filename() == "sleep";
  }));
  auto identity = read_identity(unrelated.pid());
  REQUIRE(identity);
  CHECK(code_of(signal_vmm(*identity, f.vm, "KILL", f.launched, f.matcher())) ==
        Errc::helper_refused);
  CHECK_FALSE(is_banger_vmm(*identity, f.vm, f.matcher()));
  CHECK(host_test::process_running(unrelated.pid()));
}

TEST_CASE("a forged start time is refused, even for a real VMM") {
  Fixture f;
  f.launch();
  ProcessIdentity forged{f.identity.pid, f.identity.start_time + 1};
  CHECK(code_of(signal_vmm(forged, f.vm, "KILL", f.launched, f.matcher())) ==
        Errc::helper_refused);
  host_test::ChildProcess unrelated(
      {host_test::find_program("sleep").string(), "60"});
  auto identity = read_identity(unrelated.pid());
  REQUIRE(identity);
  ProcessIdentity forged_unrelated{identity->pid, identity->start_time + 7};
  CHECK(code_of(signal_vmm(forged_unrelated, f.vm, "KILL", f.launched,
                           f.matcher())) == Errc::helper_refused);
  CHECK(still_running(f.identity.pid));
  CHECK(host_test::process_running(unrelated.pid()));
}

TEST_CASE("a VMM that exited and was reaped is never signalled again") {
  Fixture f;
  f.launch();
  auto gone = f.identity;
  REQUIRE(::kill(gone.pid, SIGKILL) == 0);
  REQUIRE(f.guard.wait_exit() != -1);
  // The registry still lists it: the identity check must catch it anyway.
  auto uut = signal_vmm(gone, f.vm, "TERM", f.launched, f.matcher());
  REQUIRE_FALSE(uut);
  // Gone (not_found), or recycled by another process already (refused).
  CHECK((uut.error().code == Errc::not_found ||
         uut.error().code == Errc::helper_refused));
  CHECK_FALSE(is_banger_vmm(gone, f.vm, f.matcher()));
  CHECK(f.launched.prune() == 1);
}

TEST_CASE("a VMM is refused as the VMM of another VM") {
  Fixture f;
  f.launch();
  std::string other = host_test::random_vm_id();
  CHECK(code_of(signal_vmm(f.identity, other, "KILL", f.launched,
                           f.matcher())) == Errc::helper_refused);
  CHECK_FALSE(is_banger_vmm(f.identity, other, f.matcher()));
  CHECK(still_running(f.identity.pid));
}

TEST_CASE(
    "a configured binary that does not name the VM's run dir is refused") {
  Fixture f;
  std::string run_dir_elsewhere =
      (f.home.outside() / "run/vms" / f.vm).string();
  host_test::ChildProcess impostor(
      {BANGER_FAKE_VMM, "--id", f.vm, "--api-sock", run_dir_elsewhere + "/x"});
  REQUIRE(test::eventually([&] {
    auto exe =
        fs::read_symlink("/proc/" + std::to_string(impostor.pid()) + "/exe");
    return exe == fs::canonical(BANGER_FAKE_VMM);
  }));
  auto identity = read_identity(impostor.pid());
  REQUIRE(identity);
  CHECK(code_of(signal_vmm(*identity, f.vm, "KILL", f.launched, f.matcher())) ==
        Errc::helper_refused);
  CHECK(host_test::process_running(impostor.pid()));
}

TEST_CASE("a kernel outside images/ is refused for a qemu launch") {
  Fixture f;
  fs::create_symlink(f.home.outside() / "vmlinux",
                     f.home.layout().images_dir() / "escape");
  for (std::string kernel : {"../outside/vmlinux"s, "escape"s, "/etc/passwd"s,
                             (f.home.outside() / "vmlinux").string()}) {
    auto request = f.qemu_request();
    request.kernel = kernel;
    CHECK(code_of(validate_launch(request, f.home.layout(), f.config)) ==
          Errc::helper_refused);
    request = f.qemu_request();
    request.initrd = kernel;
    CHECK(code_of(validate_launch(request, f.home.layout(), f.config)) ==
          Errc::helper_refused);
  }
}

TEST_CASE("under TCG the host's TSC frequency is appended to the boot args, once") {
  Fixture f;
  auto request = f.qemu_request();
  request.accel = Accel::tcg;
  request.tsc_khz = 2100000;
  auto spec = validate_launch(request, f.home.layout(), f.config);
  REQUIRE(spec);
  CHECK(spec->boot_args == "console=ttyS0 tsc_early_khz=2100000");
  request.boot_args = "console=ttyS0 tsc_early_khz=1000000"; // the image pins its own
  CHECK(validate_launch(request, f.home.layout(), f.config)->boot_args == request.boot_args);
  request = f.qemu_request();
  request.accel = Accel::kvm; // KVM guests get kvmclock
  request.tsc_khz = 2100000;
  CHECK(validate_launch(request, f.home.layout(), f.config)->boot_args == "console=ttyS0");
}

TEST_CASE("hostile launch fields are rejected") {
  Fixture f;
  CHECK(validate_launch(f.qemu_request(), f.home.layout(), f.config));
  auto with = [&](auto change) {
    auto request = f.qemu_request();
    change(request);
    return code_of(validate_launch(request, f.home.layout(), f.config));
  };
  CHECK(with([](LaunchRequest& r) { r.vm_id = "../../etc"; }) ==
        Errc::invalid_argument);
  CHECK(with([](LaunchRequest& r) { r.tap = "tap-fc-1234567;rm"; }) ==
        Errc::invalid_argument);
  CHECK(with([](LaunchRequest& r) { r.tap = "tap-fc-ffffffff"; }) ==
        Errc::helper_refused);
  CHECK(with([](LaunchRequest& r) { r.mac = "01:00:5e:00:00:01"; }) ==
        Errc::helper_refused);
  CHECK(with([](LaunchRequest& r) { r.mac = "02:fc:00:00:00:02,id=x"; }) ==
        Errc::invalid_argument);
  CHECK(with([](LaunchRequest& r) { r.boot_args = "init=/bin/sh\0x"s; }) ==
        Errc::invalid_argument);
  CHECK(with([](LaunchRequest& r) { r.boot_args = std::string(5000, 'a'); }) ==
        Errc::invalid_argument);
  CHECK(with([](LaunchRequest& r) { r.cpus = 0; }) == Errc::invalid_argument);
  CHECK(with([](LaunchRequest& r) { r.cpus = 1000; }) ==
        Errc::invalid_argument);
  CHECK(with([](LaunchRequest& r) { r.memory_mib = 1; }) ==
        Errc::invalid_argument);
  CHECK(with([](LaunchRequest& r) { r.memory_mib = 0xffffffffu; }) ==
        Errc::invalid_argument);
  CHECK(with([](LaunchRequest& r) { r.kernel = "vmlinux\0../../x"s; }) ==
        Errc::invalid_argument);
}

TEST_CASE("the VMM binary comes only from the helper's configuration") {
  Fixture f;
  auto request = f.firecracker_request();
  auto spec = validate_launch(request, f.home.layout(), f.config);
  REQUIRE(spec);
  CHECK(spec->binary == fs::path(BANGER_FAKE_VMM));
  CHECK(firecracker_argv(*spec).front() == BANGER_FAKE_VMM);

  VmmConfig unconfigured;
  CHECK(code_of(validate_launch(request, f.home.layout(), unconfigured)) ==
        Errc::helper_refused);
  VmmConfig relative;
  relative.firecracker_bin = "firecracker";
  CHECK(code_of(validate_launch(request, f.home.layout(), relative)) ==
        Errc::helper_refused);
  request.kind = VmmKind::jailer;
  VmmConfig no_user = f.config;
  no_user.jailer_bin = BANGER_FAKE_VMM;
  CHECK(code_of(validate_launch(request, f.home.layout(), no_user)) ==
        Errc::invalid_argument);
}

TEST_CASE("a launch into a run dir planted as a symlink is refused") {
  Fixture f;
  fs::create_directories(f.home.layout().run_dir() / "vms");
  fs::create_directories(f.home.outside() / "run");
  fs::create_directory_symlink(f.home.outside() / "run",
                               f.home.layout().vm_run_dir(f.vm));
  auto request = f.firecracker_request();
  auto spec = validate_launch(request, f.home.layout(), f.config);
  REQUIRE(spec);
  CHECK(code_of(launch_vmm(*spec, f.home.layout())) == Errc::helper_refused);
  CHECK(fs::is_empty(f.home.outside() / "run"));
}

TEST_CASE("a vmm.log planted as a symlink is not written through") {
  Fixture f;
  REQUIRE(create_run_dir(f.home.layout(), f.vm, host_test::self_owner()));
  fs::create_directories(f.home.layout().vm_dir(f.vm));
  host_test::write_file(f.home.outside() / "victim", "victim");
  fs::create_symlink(f.home.outside() / "victim", f.home.layout().vm_log(f.vm));
  auto request = f.firecracker_request();
  auto spec = validate_launch(request, f.home.layout(), f.config);
  REQUIRE(spec);
  CHECK(code_of(launch_vmm(*spec, f.home.layout())) == Errc::helper_refused);
  CHECK(host_test::read_file(f.home.outside() / "victim") == "victim");
}
