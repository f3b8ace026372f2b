// The guest kernel's command line, the same for every VMM kind (Firecracker
// takes it in boot-source, QEMU on its -append) and for banger-load's floor.
#pragma once

#include <string>
#include <vector>

namespace banger {

/// What the guest learns about itself from the kernel's ip= argument
/// (Documentation/admin-guide/nfs/nfsroot.rst's layout:
/// client:server:gateway:netmask:hostname:device:autoconf:dns0:dns1). The
/// image's init reads it (tools/image/build-image.sh): the address and
/// default route, the hostname, and /etc/resolv.conf from dns0/dns1.
struct GuestBoot {
  std::string guest_ip;
  std::string gateway;
  std::string netmask;
  std::string hostname;         ///< the VM's name; empty: the image's own
  std::vector<std::string> dns; ///< at most two IPv4 addresses (more are dropped)
};

/// Console, reboot/panic behavior and ip=, then the image's own arguments.
std::string kernel_command_line(const GuestBoot& guest, const std::string& image_args);

/// The same without a hostname or DNS servers.
std::string kernel_command_line(const std::string& guest_ip, const std::string& gateway,
                                const std::string& netmask, const std::string& image_args);

} // namespace banger
