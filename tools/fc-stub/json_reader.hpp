// A JSON reader that behaves like serde_json as Firecracker uses it.
//
// nlohmann::json cannot stand in here: it sorts object keys, merges duplicate
// keys and forgets where each value sits in the text. Firecracker's errors
// depend on all three (serde reports the first problem in document order,
// rejects duplicate struct fields, and appends "at line L column C"), so the
// request body is read into this small tree first and validated afterwards.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace banger::fc_stub::json {

enum class Kind : std::uint8_t {
  Null,
  Boolean,
  Unsigned, // integer that fits u64
  Negative, // negative integer that fits i64
  Float,    // anything with a fraction, exponent or out of integer range
  String,
  Array,
  Object,
};

struct Node {
  Kind kind = Kind::Null;
  bool boolean = false;
  std::uint64_t unsigned_value = 0;
  std::int64_t negative_value = 0;
  double float_value = 0;
  std::string text;        // string contents (unescaped)
  std::vector<Node> items; // array elements, or object member values
  // Object member names in document order; duplicates are kept because serde
  // only rejects them for known struct fields.
  std::vector<std::string> keys;
  std::vector<std::size_t> key_ends; // offset just past each closing quote
  std::size_t begin = 0;             // offset of the first character
  std::size_t end = 0;               // offset just past the last character
};

/// A syntax error, already worded like serde_json: "expected value at line 1
/// column 1".
class SyntaxError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// Parses a whole document (trailing whitespace allowed, nothing else).
Node parse(std::string_view text);

/// serde_json's " at line L column C" for an error detected after consuming
/// `consumed` bytes.
std::string position_after(std::string_view text, std::size_t consumed);

} // namespace banger::fc_stub::json
