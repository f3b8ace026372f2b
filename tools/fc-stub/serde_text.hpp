// serde's wording: how serde_json and Rust's formatting spell values, types
// and expected-name lists in error messages, plus the value formats (MAC
// address, log level) Firecracker's structs check. Used by the decoder.
#pragma once

#include "tools/fc-stub/json_reader.hpp"
#include "tools/fc-stub/schema.hpp"

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace banger::fc_stub::serde_text {

/// Rust's Display for f64 as serde prints it ("1.0", never exponents).
std::string rust_float(double value);

/// Rust's Debug for str, as in "string \"...\"".
std::string rust_debug_string(const std::string& text);

/// serde's `Unexpected` for a parsed value: "integer `3`", "map", ...
std::string unexpected(const json::Node& node);

/// The Rust name of an integer width ("u8", "usize").
std::string_view width_name(schema::Width width);

/// "`a`", "`a` or `b`", "one of `a`, `b`, `c`".
std::string one_of(std::span<const std::string_view> names);

/// A definition's field names in declaration order.
std::vector<std::string_view> field_names(const schema::Definition& definition);

/// aa:bb:cc:dd:ee:ff with hex digits.
bool valid_mac_address(const std::string& text);

/// LevelFilter's lenient spelling normalized to Firecracker's ("Warn"), or
/// empty when it is no level.
std::string_view log_level(const std::string& text);

} // namespace banger::fc_stub::serde_text
