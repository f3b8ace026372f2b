// The DNS servers a guest is given (network.dns): the host's own upstream
// resolvers by default, or a list from banger.conf. They reach the guest in
// the dns0/dns1 fields of the kernel's ip= argument, which the image's init
// writes into /etc/resolv.conf (tools/image/build-image.sh).
//
// Loopback resolvers (systemd-resolved's 127.0.0.53, a local dnsmasq on
// 127.0.0.1) are never handed on: inside the guest, 127.0.0.0/8 is the
// guest itself. When the host's /etc/resolv.conf names only such a stub,
// systemd-resolved's list of upstream servers
// (/run/systemd/resolve/resolv.conf) is used instead. IPv6 servers are left
// out as well: guests get only IPv4 (ip= and NAT are IPv4).
#pragma once

#include "messages/result.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace banger {

/// The kernel's ip= has two DNS fields.
inline constexpr std::size_t max_guest_dns = 2;

/// The nameserver lines of a resolv.conf that a guest can use: IPv4, not
/// loopback, not 0.0.0.0 or link-local, in file order, without duplicates,
/// at most max_guest_dns.
std::vector<std::string> guest_resolvers(std::string_view resolv_conf);

/// Whether a resolv.conf names a loopback nameserver (a local stub).
bool names_loopback_resolver(std::string_view resolv_conf);

/// network.dns: "auto", "none", or 1-2 comma-separated IPv4 addresses that
/// guest_resolvers would keep. invalid_argument otherwise.
Status validate_dns_setting(std::string_view value);

/// What a guest gets for a valid network.dns: for "auto", the host's
/// resolvers read from `resolv_conf` (falling back to `upstream_conf` when
/// that names only loopback stubs); may be empty.
std::vector<std::string> guest_dns(std::string_view setting,
                                   const std::string& resolv_conf = "/etc/resolv.conf",
                                   const std::string& upstream_conf =
                                     "/run/systemd/resolve/resolv.conf");

} // namespace banger
