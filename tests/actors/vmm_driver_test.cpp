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
}

TEST_CASE("the kernel command line configures the guest's network, then the image's arguments") {
  CHECK(kernel_command_line("172.30.0.2", "172.30.0.1", "255.255.255.0", "")
        == "console=ttyS0 reboot=k panic=1 pci=off "
           "ip=172.30.0.2::172.30.0.1:255.255.255.0::eth0:off");
  CHECK(kernel_command_line("10.0.0.9", "10.0.0.1", "255.255.0.0", "quiet init=/sbin/init")
        == "console=ttyS0 reboot=k panic=1 pci=off "
           "ip=10.0.0.9::10.0.0.1:255.255.0.0::eth0:off quiet init=/sbin/init");
}
