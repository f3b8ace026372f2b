// The guest kernel's command line, the same for every VMM kind (Firecracker
// takes it in boot-source, QEMU on its -append) and for banger-load's floor.
#pragma once

#include <string>

namespace banger {

/// Console, reboot/panic behavior and the guest network configuration
/// (ip=guest::gateway:netmask::eth0:off), then the image's own arguments.
std::string kernel_command_line(const std::string& guest_ip, const std::string& gateway,
                                const std::string& netmask, const std::string& image_args);

} // namespace banger
