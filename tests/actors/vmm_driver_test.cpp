// The VMM kind is looked up once, by name, and the kernel command line is
// the same for every kind.
#include "actors/kernel_command_line.hpp"
#include "actors/vmm_driver.hpp"

#include <doctest/doctest.h>

using namespace banger;

TEST_CASE("each VMM kind gets its own driver and an unknown kind the default") {
  CHECK(&vm::vmm_driver("firecracker") == &vm::firecracker_vmm());
  CHECK(&vm::vmm_driver("qemu") == &vm::qemu_vmm());
  CHECK(&vm::firecracker_vmm() != &vm::qemu_vmm());
  CHECK(&vm::vmm_driver("") == &vm::firecracker_vmm());
  // A saved state names the kind that wrote it, and only Firecracker's is
  // two files.
  CHECK(vm::firecracker_vmm().name() == "firecracker");
  CHECK(vm::qemu_vmm().name() == "qemu");
  CHECK(vm::firecracker_vmm().keeps_memory_apart());
  CHECK_FALSE(vm::qemu_vmm().keeps_memory_apart());
}

TEST_CASE("the kernel command line configures the guest's network, then the image's arguments") {
  CHECK(kernel_command_line("172.30.0.2", "172.30.0.1", "255.255.255.0", "")
        == "console=ttyS0 reboot=k panic=1 pci=off "
           "ip=172.30.0.2::172.30.0.1:255.255.255.0::eth0:off");
  CHECK(kernel_command_line("10.0.0.9", "10.0.0.1", "255.255.0.0", "quiet init=/sbin/init")
        == "console=ttyS0 reboot=k panic=1 pci=off "
           "ip=10.0.0.9::10.0.0.1:255.255.0.0::eth0:off quiet init=/sbin/init");
}

TEST_CASE("the VM's name and its DNS servers reach the guest in ip='s hostname and dns fields") {
  GuestBoot guest{"172.30.0.5", "172.30.0.1", "255.255.255.0", "web1", {"192.0.2.53"}};
  CHECK(kernel_command_line(guest, "root=/dev/vda rw")
        == "console=ttyS0 reboot=k panic=1 pci=off "
           "ip=172.30.0.5::172.30.0.1:255.255.255.0:web1:eth0:off:192.0.2.53 root=/dev/vda rw");
  guest.dns = {"192.0.2.53", "198.51.100.1", "203.0.113.1"}; // ip= has two fields
  CHECK(kernel_command_line(guest, "")
        == "console=ttyS0 reboot=k panic=1 pci=off "
           "ip=172.30.0.5::172.30.0.1:255.255.255.0:web1:eth0:off:192.0.2.53:198.51.100.1");
  guest.dns.clear();
  CHECK(kernel_command_line(guest, "")
        == "console=ttyS0 reboot=k panic=1 pci=off "
           "ip=172.30.0.5::172.30.0.1:255.255.255.0:web1:eth0:off");
}
