// Published ports (vm create -p): DNAT from the host's addresses to a
// guest, in an nftables table of its own per bridge, written in-process
// through libnftables like NAT (nat.hpp).
//
// Its own table, not NAT's: ensure_nat replaces its table whole, which
// would drop every published port each time NAT is ensured again.
//
//   table ip banger_ports_<bridge>
//     prerouting  (nat, dstnat)  fib daddr type local      jump published
//     output      (nat, -100)    daddr not 127/8, local     jump published
//     postrouting (nat, srcnat)  to the bridge, from the subnet, DNATed: masquerade
//     published                  one rule per mapping, comment "vm:<id>"
//
// prerouting answers other hosts (and guests); output answers the host
// itself. Loopback is left out on purpose: a DNATed packet from 127.0.0.1
// would leave through the bridge with a loopback source, which the kernel
// drops unless route_localnet is on, and that setting opens 127/8 to the
// whole network. Left out, a connection to 127.0.0.1:PORT is refused at
// once instead of hanging. The masquerade is for a guest reaching another
// guest (or itself) through a published port: without it the answer would
// go straight back over the bridge from an address the client never asked.
#pragma once

#include "messages/records.hpp"
#include "messages/result.hpp"
#include "privileged/host/validate.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace banger::host {

/// The nftables table (family ip) of `bridge`'s published ports:
/// "banger_ports_<bridge>". Bridge names have no '_', so it never is
/// another bridge's NAT table (nat_table_name).
std::string ports_table_name(std::string_view bridge);

/// A publish request, validated.
struct PortsSpec {
  std::string vm_id;
  std::uint32_t guest_ip = 0; ///< host byte order
  std::vector<PortMapping> ports;
};

/// `vm_id` a VM id, `guest_ip` a dotted quad of a guest address of
/// `subnet` (not its network, gateway or broadcast address), `ports` as
/// check_port_mappings takes them (messages/published_ports.hpp).
Result<PortsSpec> validate_ports(const Ipv4Subnet& subnet, std::string_view vm_id,
                                 std::string_view guest_ip, const std::vector<PortMapping>& ports);

/// Makes spec.vm_id's rules exactly spec.ports (none: unpublish), in one
/// transaction, and turns on IPv4 forwarding (host wide, left on: other
/// hosts reach the guest through the host's forwarding path). Refused with
/// conflict, naming the port and the VM, when another VM has published one
/// of the host ports for the same protocol; then nothing changes.
Status publish_ports(std::string_view bridge, const Ipv4Subnet& subnet, const PortsSpec& spec);

/// Removes `vm_id`'s rules; none (or no table) is done.
Status unpublish_ports(std::string_view bridge, std::string_view vm_id);

/// The VM ids with rules in `bridge`'s table, sorted, each once.
Result<std::vector<std::string>> published_vms(std::string_view bridge);

/// Removes `bridge`'s ports table; not_found if there is none.
Status remove_ports_table(std::string_view bridge);

} // namespace banger::host
