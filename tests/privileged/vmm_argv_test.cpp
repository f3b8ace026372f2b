// The command lines banger-helper builds for each VMM kind.
#include "privileged/host/vmm_argv.hpp"
#include "tests/security/fixtures.hpp"

#include <algorithm>
#include <doctest/doctest.h>

using namespace banger;
using namespace banger::host;

namespace {

VmmSpec qemu_spec() {
  HomeLayout layout("/h");
  std::string vm = "0123456789abcdef";
  VmmSpec spec;
  spec.kind = VmmKind::qemu;
  spec.vm_id = vm;
  spec.binary = "/opt/qemu/bin/qemu-system-x86_64";
  spec.run_dir = layout.vm_run_dir(vm);
  spec.api_socket = layout.vm_api_socket(vm);
  spec.log_path = layout.vm_log(vm);
  spec.kernel = "/h/images/base/vmlinux";
  spec.rootfs = layout.vm_rootfs(vm);
  spec.qmp_socket = layout.vm_qmp_socket(vm);
  spec.agent_socket = layout.vm_agent_socket(vm);
  spec.tap = tap_name(vm);
  spec.mac = *parse_mac("02:fc:ac:1e:00:02");
  spec.cpus = 2;
  spec.memory_mib = 512;
  spec.boot_args = "console=ttyS0 ip=172.30.0.2::172.30.0.1:255.255.255.0";
  spec.accel = Accel::kvm;
  return spec;
}

} // namespace

TEST_CASE("firecracker gets its API socket and the VM id") {
  HomeLayout layout("/h");
  VmmSpec spec;
  spec.kind = VmmKind::firecracker;
  spec.vm_id = "0123456789abcdef";
  spec.binary = "/usr/bin/firecracker";
  spec.api_socket = layout.vm_api_socket(spec.vm_id);
  CHECK(firecracker_argv(spec) ==
        std::vector<std::string>{"/usr/bin/firecracker", "--api-sock",
                                 "/h/run/vms/0123456789abcdef/api.sock", "--id",
                                 "0123456789abcdef"});
  CHECK(vmm_argv(spec) == firecracker_argv(spec));
}

TEST_CASE("the jailer gets ids, the VMM user and a chroot in the run dir") {
  VmmSpec spec;
  spec.kind = VmmKind::jailer;
  spec.vm_id = "0123456789abcdef";
  spec.binary = "/usr/bin/jailer";
  spec.exec_file = "/usr/bin/firecracker";
  spec.jail_user = Ownership{990, 991};
  spec.chroot_base = "/h/run/vms/0123456789abcdef/jail";
  CHECK(jailer_argv(spec) ==
        std::vector<std::string>{"/usr/bin/jailer", "--id", "0123456789abcdef",
                                 "--exec-file", "/usr/bin/firecracker", "--uid",
                                 "990", "--gid", "991", "--chroot-base-dir",
                                 "/h/run/vms/0123456789abcdef/jail", "--",
                                 "--api-sock", "/api.sock"});
}

TEST_CASE("qemu gets a microvm with disk, tap, serial log, QMP and the agent's port") {
  auto spec = qemu_spec();
  CHECK(qemu_argv(spec) ==
        std::vector<std::string>{
            "/opt/qemu/bin/qemu-system-x86_64",
            "-M",
            "microvm,x-option-roms=off,rtc=on",
            "-nodefaults",
            "-no-user-config",
            "-nographic",
            "-accel",
            "kvm",
            "-smp",
            "2",
            "-m",
            "512",
            "-kernel",
            "/h/images/base/vmlinux",
            "-append",
            "console=ttyS0 ip=172.30.0.2::172.30.0.1:255.255.255.0",
            "-drive",
            "id=root,file=/h/state/vms/0123456789abcdef/rootfs.img,format=raw,"
            "if=none",
            "-device",
            "virtio-blk-device,drive=root",
            "-netdev",
            "tap,id=net0,ifname=tap-fc-01234567,script=no,downscript=no",
            "-device",
            "virtio-net-device,netdev=net0,mac=02:fc:ac:1e:00:02",
            "-chardev",
            "file,id=serial0,path=/h/state/vms/0123456789abcdef/vmm.log,"
            "append=on",
            "-serial",
            "chardev:serial0",
            "-qmp",
            "unix:/h/run/vms/0123456789abcdef/qmp.sock,server=on,wait=off",
            "-device",
            "virtio-serial-device,max_ports=2",
            "-chardev",
            "socket,id=agent0,path=/h/run/vms/0123456789abcdef/agent.sock,"
            "server=on,wait=off",
            "-device",
            "virtserialport,chardev=agent0,name=org.banger.agent.0"});
}

TEST_CASE("qemu gets -initrd only when there is one") {
  auto spec = qemu_spec();
  auto without = qemu_argv(spec);
  CHECK(std::find(without.begin(), without.end(), "-initrd") == without.end());
  spec.initrd = "/h/images/base/initrd.img";
  auto with = qemu_argv(spec);
  auto it = std::find(with.begin(), with.end(), "-initrd");
  REQUIRE(it != with.end());
  CHECK(*(it + 1) == "/h/images/base/initrd.img");
}

TEST_CASE("a qemu restore is the boot's machine, waiting for its migration stream") {
  auto spec = qemu_spec();
  auto boot = qemu_argv(spec);
  CHECK(std::find(boot.begin(), boot.end(), "-incoming") == boot.end());
  spec.restore = true;
  auto restore = qemu_argv(spec);
  // Same devices in the same order: the stream only loads into that machine.
  REQUIRE(restore.size() == boot.size() + 3);
  CHECK(std::equal(boot.begin(), boot.end(), restore.begin()));
  // Paused once loaded (-S), until the daemon lets it run.
  CHECK(restore[boot.size()] == "-S");
  CHECK(restore[boot.size() + 1] == "-incoming");
  CHECK(restore[boot.size() + 2] == "defer");
}

TEST_CASE("a validated restore launch of qemu waits for its stream; a boot does not") {
  host_test::TestHome home;
  auto vm = host_test::random_vm_id();
  VmmConfig config;
  config.qemu_bin = "/usr/bin/qemu-system-x86_64";
  LaunchRequest request;
  request.kind = VmmKind::qemu;
  request.vm_id = vm;
  request.kernel = host_test::write_vm_files(home.layout(), vm);
  request.tap = tap_name(vm);
  request.mac = "02:fc:00:00:00:02";
  auto boot = validate_launch(request, home.layout(), config);
  REQUIRE(boot);
  CHECK(qemu_argv(*boot).back() != "defer");
  request.restore = true;
  auto restore = validate_launch(request, home.layout(), config);
  REQUIRE(restore);
  auto argv = qemu_argv(*restore);
  REQUIRE(argv.size() >= 3);
  CHECK(argv[argv.size() - 3] == "-S");
  CHECK(argv[argv.size() - 2] == "-incoming");
  CHECK(argv.back() == "defer");
}

TEST_CASE("commas in paths cannot add qemu options") {
  CHECK(qemu_escape("/h,o/x") == "/h,,o/x");
  HomeLayout layout("/home,file=/etc/shadow");
  auto spec = qemu_spec();
  spec.rootfs = layout.vm_rootfs(spec.vm_id);
  auto argv = qemu_argv(spec);
  auto drive = std::find(argv.begin(), argv.end(), "-drive");
  REQUIRE(drive != argv.end());
  CHECK(*(drive + 1) ==
        "id=root,file=/home,,file=/etc/shadow/state/vms/0123456789abcdef/"
        "rootfs.img,format=raw,if=none");
}

TEST_CASE("kinds and accelerators parse from their names only") {
  CHECK(*parse_vmm_kind("firecracker") == VmmKind::firecracker);
  CHECK(*parse_vmm_kind("jailer") == VmmKind::jailer);
  CHECK(*parse_vmm_kind("qemu") == VmmKind::qemu);
  CHECK_FALSE(parse_vmm_kind("bash"));
  CHECK(*parse_accel("kvm") == Accel::kvm);
  CHECK(*parse_accel("tcg") == Accel::tcg);
  CHECK_FALSE(parse_accel("hvf"));
}
