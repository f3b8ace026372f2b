#include "messages/disk_size.hpp"

#include "messages/numbers.hpp"

namespace banger {

namespace {

Error bad(std::string message) {
  return Error{Errc::invalid_argument, std::move(message)};
}

} // namespace

Result<std::uint64_t> parse_disk_size(std::string_view text) {
  auto digits = text.find_first_not_of("0123456789");
  std::string_view number = text.substr(0, digits);
  std::string_view unit = digits == std::string_view::npos ? "" : text.substr(digits);
  const std::string accepted = "a size with a unit, e.g. 2G, 512M or 2048MiB";
  if (unit.empty())
    return bad("disk size '" + std::string(text) + "' has no unit: want " + accepted);
  int shift = 0;
  switch (unit.front()) {
    case 'K': case 'k': shift = 10; break;
    case 'M': case 'm': shift = 20; break;
    case 'G': case 'g': shift = 30; break;
    case 'T': case 't': shift = 40; break;
    default:
      return bad("disk size '" + std::string(text) + "' is not " + accepted);
  }
  auto rest = unit.substr(1);
  if (!rest.empty() && rest != "iB" && rest != "B")
    return bad("disk size '" + std::string(text) + "' is not " + accepted);
  // Below 2^24 of any unit fits in 64 bits after the shift; larger is
  // refused by the bound anyway.
  auto n = parse_uint(number, std::uint64_t{1} << 23);
  if (!n)
    return bad("disk size '" + std::string(text) + "' is not " + accepted);
  std::uint64_t bytes = *n << shift;
  if (auto ok = check_disk_size(bytes); !ok)
    return std::move(ok).error();
  return bytes;
}

Status check_disk_size(std::uint64_t bytes) {
  if (bytes < min_disk_bytes || bytes > max_disk_bytes)
    return bad("disk size " + format_disk_size(bytes) + " is out of range: "
               + format_disk_size(min_disk_bytes) + " to " + format_disk_size(max_disk_bytes));
  if (bytes % mib != 0)
    return bad("disk size " + std::to_string(bytes) + " bytes is not a whole number of MiB");
  return {};
}

std::string format_disk_size(std::uint64_t bytes) {
  if (bytes % mib != 0)
    return std::to_string(bytes) + " bytes";
  const char* units[] = {"MiB", "GiB", "TiB"};
  std::uint64_t value = bytes / mib;
  int unit = 0;
  while (unit < 2 && value >= 1024 && value % 1024 == 0) {
    value /= 1024;
    ++unit;
  }
  return std::to_string(value) + " " + units[unit];
}

} // namespace banger
