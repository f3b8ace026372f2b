// Validation of request bodies against the schema table, with serde's
// semantics and wording.
//
// Like Firecracker's API layer, decoding turns a body into a typed value or
// rejects it; nothing is half-applied. The result is the body normalized the
// way Firecracker would serialize its Rust struct (declaration order, absent
// fields defaulted), so GET /vm/config can echo it back.
#pragma once

#include "tools/fc-stub/schema.hpp"

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string_view>

namespace banger::fc_stub {

using OrderedJson = nlohmann::ordered_json;

/// The serde_json error text, e.g. "missing field `drive_id` at line 1
/// column 2" (callers add Firecracker's prefix).
class DecodeError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// Parses and validates `text` as `definition`.
OrderedJson decode(std::string_view text, const schema::Definition& definition);

/// Parses `text` as a free-form JSON object (MMDS contents). Keys come out
/// sorted like serde_json's default map.
nlohmann::json decode_object(std::string_view text);

} // namespace banger::fc_stub
