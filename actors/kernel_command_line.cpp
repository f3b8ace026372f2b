#include "actors/kernel_command_line.hpp"

namespace banger {

std::string kernel_command_line(const GuestBoot& guest, const std::string& image_args) {
  std::string line = "console=ttyS0 reboot=k panic=1 pci=off ip=" + guest.guest_ip + "::"
                     + guest.gateway + ":" + guest.netmask + ":" + guest.hostname + ":eth0:off";
  // Trailing empty fields are left out: the line stays as short as before
  // for a guest without DNS servers.
  for (std::size_t i = 0; i < guest.dns.size() && i < 2; ++i)
    line += ":" + guest.dns[i];
  if (!image_args.empty())
    line += " " + image_args;
  return line;
}

std::string kernel_command_line(const std::string& guest_ip, const std::string& gateway,
                                const std::string& netmask, const std::string& image_args) {
  return kernel_command_line(GuestBoot{guest_ip, gateway, netmask, {}, {}}, image_args);
}

} // namespace banger
