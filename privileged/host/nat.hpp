// Optional NAT for the VM subnet: one nftables table per bridge, written
// in-process through libnftables (no `nft` or `iptables` process).
#pragma once

#include "messages/result.hpp"
#include "privileged/host/validate.hpp"

#include <string>
#include <string_view>

namespace banger::host {

/// The nftables table banger owns for `bridge` (family ip): "banger_<bridge>".
std::string nat_table_name(std::string_view bridge);

/// Masquerades traffic from `subnet` leaving through any interface but
/// `bridge`, and turns on IPv4 forwarding (host wide, left on). Replaces the
/// table atomically, so calling it again is harmless.
Status ensure_nat(std::string_view bridge, const Ipv4Subnet& subnet);

/// Removes banger's table for `bridge`; not_found if there is none. IPv4
/// forwarding is left as it is: other software may rely on it.
Status remove_nat(std::string_view bridge);

/// Whether banger's table for `bridge` exists.
Result<bool> nat_present(std::string_view bridge);

} // namespace banger::host
