#include "actors/kernel_command_line.hpp"

namespace banger {

std::string kernel_command_line(const std::string& guest_ip, const std::string& gateway,
                                const std::string& netmask, const std::string& image_args) {
  std::string line = "console=ttyS0 reboot=k panic=1 pci=off ip=" + guest_ip + "::" + gateway
                     + ":" + netmask + "::eth0:off";
  if (!image_args.empty())
    line += " " + image_args;
  return line;
}

} // namespace banger
