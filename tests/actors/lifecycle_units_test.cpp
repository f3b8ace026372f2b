// The CAF-free parts of first-contact lifecycle behaviour: what a VMM's log
// says about how it ended, whether a size fits the host, readable names and
// an operation's stages across two actors.
#include "actors/directory_actor.hpp"
#include "actors/host_capacity.hpp"
#include "actors/op_stages.hpp"
#include "actors/vm_names.hpp"
#include "actors/vmm_log.hpp"
#include "tests/support/process.hpp"

#include <doctest/doctest.h>

#include <fstream>
#include <set>

using namespace banger;

TEST_CASE("the last error lines of a VMM log are its own words, not the noise around them") {
  std::string qemu = "SeaBIOS booting\n"
                     "qemu-system-x86_64: cannot set up guest memory 'microvm.ram': Cannot allocate memory\n";
  CHECK(last_error_lines(qemu) ==
        "qemu-system-x86_64: cannot set up guest memory 'microvm.ram': Cannot allocate memory");
  std::string fc = "[anonymous-instance:main] Running Firecracker v1.16.1\n"
                   "[anonymous-instance:main] Error: could not load kernel: Invalid ELF magic number\n"
                   "\n[anonymous-instance:main] Firecracker exiting with error. exit_code=1\n";
  CHECK(last_error_lines(fc) == "[anonymous-instance:main] Error: could not load kernel: Invalid ELF "
                                "magic number; [anonymous-instance:main] Firecracker exiting with "
                                "error. exit_code=1");
  // A saved state QEMU cannot load: the reason comes first, in its own words.
  std::string restore = "qemu-system-x86_64: Size mismatch: microvm.ram: 0x20000000 != 0x10000000: "
                        "Invalid argument\n"
                        "qemu-system-x86_64: error while loading state for instance 0x0 of device 'ram'\n"
                        "qemu-system-x86_64: load of migration failed: Invalid argument\n";
  CHECK(last_error_lines(restore).find("qemu-system-x86_64: Size mismatch: microvm.ram") == 0);
  CHECK(last_error_lines("qemu-system-x86_64: Not a migration stream\n"
                         "qemu-system-x86_64: load of migration failed: Invalid argument\n")
        == "qemu-system-x86_64: Not a migration stream; qemu-system-x86_64: load of migration "
           "failed: Invalid argument");
  // A command line's "panic=1" is no error.
  CHECK(last_error_lines("boot_args: console=ttyS0 panic=1\nkilling the process.\n", 1)
        == "killing the process.");
  // No error word: the last lines, as they are.
  CHECK(last_error_lines("one\ntwo\nthree\nfour\n", 2) == "three; four");
  CHECK(last_error_lines("\n\n").empty());
  // Control characters (a console's escapes) never reach a message.
  CHECK(last_error_lines("\x1b[2Jpanic: boom\n").find('\x1b') == std::string::npos);
  CHECK(last_error_lines(std::string(1000, 'x')).size() == 300);
}

TEST_CASE("a guest's power-off or reboot is read from the kernel's last console line") {
  CHECK(guest_shutdown("[ 3.1] reboot: Power down\n") == std::optional<std::string>{"power off"});
  CHECK(guest_shutdown("[ 3.1] reboot: Restarting system\n") == std::optional<std::string>{"reboot"});
  CHECK(guest_shutdown("reboot: Power down\n...booting again\nreboot: System halted\n")
        == std::optional<std::string>{"halt"});
  CHECK_FALSE(guest_shutdown("Kernel panic - not syncing: VFS: Unable to mount root fs\n"));
}

TEST_CASE("only the log written since the launch counts") {
  banger::test::TempDir dir;
  auto path = dir.path() + "/vmm.log";
  CHECK(log_size(path) == 0);
  { std::ofstream(path) << "reboot: Power down\n"; }
  auto offset = log_size(path);
  CHECK(offset == 19);
  { std::ofstream(path, std::ios::app) << "Error: this launch\n"; }
  CHECK(read_log_since(path, offset) == "Error: this launch\n");
  CHECK_FALSE(guest_shutdown(read_log_since(path, offset)));
  // Truncated since: all of it is new.
  { std::ofstream(path, std::ios::trunc) << "x\n"; }
  CHECK(read_log_since(path, offset) == "x\n");
  CHECK(read_log_since(path, 0, 1) == "\n");
}

TEST_CASE("a size is held to the host's memory and CPUs, vCPUs unless overcommit is allowed") {
  HostTotals host{4, 8192};
  CHECK(fits_host(4, 8192, host, false));
  auto memory = fits_host(1, 8193, host, false);
  REQUIRE_FALSE(memory);
  CHECK(memory.error().code == Errc::invalid_argument);
  CHECK(memory.error().message == "memory 8193 MiB is more than this host has (8192 MiB in all)");
  auto cpus = fits_host(5, 256, host, false);
  REQUIRE_FALSE(cpus);
  CHECK(cpus.error().message.find("vmm.cpu-overcommit") != std::string::npos);
  CHECK(fits_host(5, 256, host, true));
  CHECK_FALSE(fits_host(1, 8193, host, true)); // memory has no overcommit
  CHECK(fits_host(64, 1 << 20, HostTotals{}, false)); // unknown: not checked
  CHECK(mem_total_mib("MemFree: 10 kB\nMemTotal:       24684092 kB\n") == 24105);
  CHECK(mem_total_mib("nothing\n") == 0);
  CHECK(host_capacity().memory_mib > 0);
}

TEST_CASE("generated VM names are readable, valid and spread out") {
  std::set<std::string> names;
  for (std::uint64_t draw = 0; draw < 2000; ++draw) {
    auto name = readable_vm_name(draw * 7919, 0);
    CHECK(is_valid_name(name));
    CHECK(name.find('-') != std::string::npos);
    names.insert(name);
  }
  CHECK(names.size() > 1500);
  auto numbered = readable_vm_name(123456789, 4);
  CHECK(is_valid_name(numbered));
  CHECK(std::count(numbered.begin(), numbered.end(), '-') == 2);
  CHECK(random_draw() != random_draw());
}

TEST_CASE("an operation run by two actors keeps the first one's stages ahead of the second's") {
  OperationStatus node;
  node.started_at_us = 100;
  enter_stage(node, "resolve_image", 100);
  enter_stage(node, "allocate", 150);
  CHECK(node.stages[0].duration_us == 50);
  CHECK(node.stage == "allocate");
  OperationStatus vm;
  vm.started_at_us = 300;
  enter_stage(vm, "prepare_rootfs", 300);
  continue_from(vm, node);
  CHECK(vm.started_at_us == 100);
  CHECK(vm.stages[1].duration_us == 150); // closed at the hand-over (300)
  REQUIRE(vm.stages.size() == 3);
  CHECK(vm.stages[0].name == "resolve_image");
  CHECK(vm.stages[2].name == "prepare_rootfs");
  end_status(vm, Error{Errc::vmm_failed, "boom"}, 400);
  CHECK(vm.outcome == OperationOutcome::failed);
  CHECK(vm.error_message == "boom");
  CHECK_FALSE(vm.stages.back().ok);
  CHECK(vm.stages.back().duration_us == 100);
  CHECK(vm.stages_total == 3);
}
