#include "messages/op_id.hpp"

#include <sys/random.h>

#include <cerrno>
#include <stdexcept>
#include <vector>

namespace banger {

namespace {

void fill_random(unsigned char* out, std::size_t size) {
  std::size_t filled = 0;
  while (filled < size) {
    auto got = getrandom(out + filled, size - filled, 0);
    if (got < 0) {
      if (errno == EINTR)
        continue;
      // getrandom cannot fail on Linux >= 3.17 once the pool is seeded; a
      // failure here means the process cannot produce safe ids at all.
      throw std::runtime_error("getrandom failed");
    }
    filled += static_cast<std::size_t>(got);
  }
}

bool is_lower_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

} // namespace

std::string random_hex(std::size_t bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::vector<unsigned char> raw(bytes);
  fill_random(raw.data(), raw.size());
  std::string out;
  out.reserve(bytes * 2);
  for (auto byte : raw) {
    out.push_back(digits[byte >> 4]);
    out.push_back(digits[byte & 0x0f]);
  }
  return out;
}

std::string mint_op_id() {
  return "op-" + random_hex(6);
}

std::string mint_object_id() {
  return random_hex(8);
}

bool is_valid_op_id(std::string_view text) {
  if (text.size() != 15 || text.substr(0, 3) != "op-")
    return false;
  for (char c : text.substr(3))
    if (!is_lower_hex(c))
      return false;
  return true;
}

} // namespace banger
