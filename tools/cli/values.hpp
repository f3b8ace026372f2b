// The value syntaxes banger's command lines share (the CLI and
// banger-load): durations, bounded numbers, HOST:PORT. No command table, so
// a tool that only parses values links none of the CLI's commands.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace banger::cli {

/// "30s", "500ms", "2m", "1h", or plain seconds ("45").
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);
/// Decimal unsigned integer within [0, max].
std::optional<std::uint64_t> parse_number(std::string_view text,
                                          std::uint64_t max);

/// HOST:PORT (IPv6 in brackets: [::1]:7420).
struct HostPort {
  std::string host;
  std::uint16_t port = 0;
};
std::optional<HostPort> parse_host_port(std::string_view text);

} // namespace banger::cli
