#include "tools/cli/values.hpp"

#include "messages/numbers.hpp"

#include <charconv>

namespace banger::cli {

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9')
    ++digits;
  if (digits == 0)
    return std::nullopt;
  std::uint64_t n = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + digits, n);
  if (ec != std::errc{} || n > 1000ull * 1000 * 1000)
    return std::nullopt;
  auto unit = text.substr(digits);
  using std::chrono::milliseconds;
  if (unit == "ms")
    return milliseconds(n);
  if (unit.empty() || unit == "s")
    return milliseconds(n * 1000);
  if (unit == "m" || unit == "min")
    return milliseconds(n * 60'000);
  if (unit == "h")
    return milliseconds(n * 3'600'000);
  return std::nullopt;
}

std::optional<std::uint64_t> parse_number(std::string_view text, std::uint64_t max) {
  return parse_uint(text, max);
}

std::optional<HostPort> parse_host_port(std::string_view text) {
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0)
    return std::nullopt;
  auto host = text.substr(0, colon);
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']')
      return std::nullopt;
    host = host.substr(1, host.size() - 2);
  }
  auto port = parse_number(text.substr(colon + 1), 65535);
  if (!port || *port == 0)
    return std::nullopt;
  return HostPort{std::string(host), static_cast<std::uint16_t>(*port)};
}

} // namespace banger::cli
