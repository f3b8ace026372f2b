// Published ports (vm create -p HOST:GUEST[/tcp|udp]): one rule set for the
// CLI (before it contacts anything), the daemon (at its edge, and when it
// reads its store) and banger-helper (before it writes nftables rules).
#pragma once

#include "messages/records.hpp"
#include "messages/result.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace banger {

/// The most mappings one VM may publish: each is a rule in the host's
/// nftables ruleset, looked at for every new connection to the host.
inline constexpr std::size_t max_published_ports = 32;

/// "18080:8080/tcp".
std::string to_string(const PortMapping& mapping);

/// `HOST:GUEST` or `HOST:GUEST/PROTO` with decimal ports 1-65535 (no sign,
/// no leading zero) and PROTO tcp or udp (default tcp): invalid_argument
/// otherwise, quoting an excerpt of the text.
Result<PortMapping> parse_port_mapping(std::string_view text);

/// Every mapping with ports 1-65535 and protocol tcp or udp, at most
/// max_published_ports of them, and no host port twice for one protocol
/// (tcp 53 and udp 53 are two ports): invalid_argument otherwise.
Status check_port_mappings(const std::vector<PortMapping>& mappings);

/// The mappings as one comma-separated list ("18080:8080/tcp,53:53/udp"),
/// "" for none: the store's column and the compact form `vm ls` prints.
std::string format_port_mappings(const std::vector<PortMapping>& mappings);

/// The inverse of format_port_mappings, checked by check_port_mappings.
Result<std::vector<PortMapping>> parse_port_mappings(std::string_view list);

} // namespace banger
