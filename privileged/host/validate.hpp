// Pure validators for everything a caller of banger-helper can send. Each runs
// before any system call and answers invalid_argument for malformed input and
// helper_refused for well-formed input outside the allow-list. Path checks
// that need the file system live in paths.hpp.
#pragma once

#include "messages/host_network.hpp"
#include "messages/result.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>

namespace banger::host {

/// Longest path accepted anywhere (PATH_MAX without its terminating NUL).
inline constexpr std::size_t max_path_length = 4095;

/// Longest kernel command line accepted (x86 COMMAND_LINE_SIZE - 1).
inline constexpr std::size_t max_boot_args_length = 2047;

/// Length within [min_length, max_length] and no NUL or control character
/// (bytes < 0x20 and 0x7f). `field` names the value in the error message.
Status validate_text(std::string_view field, std::string_view value,
                     std::size_t min_length, std::size_t max_length);

/// Exactly 16 lowercase hex digits.
Status validate_vm_id(std::string_view vm_id);

/// `tap-fc-` followed by exactly 8 lowercase hex digits.
Status validate_tap_name(std::string_view tap);

/// A banger tap name that is also the tap of `vm_id` (tap_name(vm_id)).
Status validate_tap_name_for(std::string_view tap, std::string_view vm_id);

/// Bridge names and subnets follow the rules banger.conf's settings table
/// uses (messages/host_network.hpp): one rule set for init, daemon and helper.
using banger::validate_bridge_name;

/// A VM or image name: `[a-z0-9][a-z0-9-]{0,62}`.
Status validate_banger_name(std::string_view name);

/// A signal from the allow-list (HUP INT QUIT KILL USR1 USR2 TERM), by name
/// with or without the SIG prefix in any case, or by decimal number. Returns
/// the signal number.
Result<int> parse_signal(std::string_view signal);

/// Upper-case name without SIG prefix of an allowed signal; "" otherwise.
std::string_view allowed_signal_name(int signo);

/// A pid the helper may act on: in (1, pid_max] (invalid_argument otherwise)
/// and neither 1, the helper itself nor `caller_pid` (helper_refused).
Result<pid_t> validate_pid(long long pid,
                           std::optional<pid_t> caller_pid = std::nullopt);

/// A locally administered unicast MAC address.
struct MacAddress {
  std::array<std::uint8_t, 6> bytes{};

  /// Lowercase, colon separated: "02:fc:0a:00:00:02".
  std::string to_string() const;
  bool operator==(const MacAddress&) const = default;
};

/// Parses `xx:xx:xx:xx:xx:xx` (hex in either case); refuses multicast and
/// globally administered addresses.
Result<MacAddress> parse_mac(std::string_view mac);

using banger::Ipv4Subnet;
using banger::ipv4_to_string;
using banger::parse_ipv4_subnet;

/// Four decimal octets without leading zeros ("172.30.0.5"), in host byte
/// order; nullopt for anything else.
std::optional<std::uint32_t> parse_dotted_quad(std::string_view text);

/// A route to a cluster peer's guest subnet (helper request peer.route).
struct PeerRoute {
  Ipv4Subnet subnet;
  std::uint32_t gateway = 0; ///< host byte order
};

/// `subnet` a guest subnet as parse_ipv4_subnet takes it that does not
/// overlap `own` (this host's guest subnet), and `gateway` a dotted quad
/// (no leading zeros) of a unicast address outside both subnets: not
/// 0.0.0.0/8, loopback, link-local, multicast, reserved or broadcast.
/// Whether the gateway is on a directly connected network is checked
/// against the host when the route is made (install_peer_route).
Result<PeerRoute> validate_peer_route(const Ipv4Subnet& own, std::string_view subnet,
                                      std::string_view gateway);

} // namespace banger::host
