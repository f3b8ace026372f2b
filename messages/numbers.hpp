// The one parser of unsigned decimal numbers from configuration, command
// lines and files: the whole text, digits only, no sign, at most `max`.
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string_view>

namespace banger {

inline std::optional<std::uint64_t> parse_uint(std::string_view text, std::uint64_t max) {
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || value > max)
    return std::nullopt;
  return value;
}

} // namespace banger
