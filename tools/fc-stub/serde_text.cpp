#include "tools/fc-stub/serde_text.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>

namespace banger::fc_stub::serde_text {

using json::Kind;
using json::Node;
using schema::Definition;
using schema::Property;
using schema::Width;

// Rust's Display for f64 never uses exponents; serde adds ".0" to integral
// values ("floating point `1.0`").
std::string rust_float(double value) {
  if (std::isnan(value))
    return "NaN";
  if (std::isinf(value))
    return value > 0 ? "inf" : "-inf";
  char buffer[400];
  auto [end, error] = std::to_chars(buffer, buffer + sizeof buffer, value,
                                    std::chars_format::fixed);
  std::string text = error == std::errc{} ? std::string(buffer, end) : "0";
  if (text.find('.') == std::string::npos)
    text += ".0";
  return text;
}

// Rust's Debug for str, which serde uses in "string \"...\"".
std::string rust_debug_string(const std::string& text) {
  std::string out = "\"";
  for (char character : text) {
    switch (character) {
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\r':
      out += "\\r";
      break;
    case '\t':
      out += "\\t";
      break;
    case '\0':
      out += "\\0";
      break;
    default:
      if (static_cast<unsigned char>(character) < 0x20) {
        char escaped[16];
        std::snprintf(escaped, sizeof escaped, "\\u{%x}",
                      static_cast<unsigned>(character));
        out += escaped;
      } else {
        out.push_back(character);
      }
    }
  }
  return out + "\"";
}

std::string unexpected(const Node& node) {
  switch (node.kind) {
  case Kind::Null:
    return "null";
  case Kind::Boolean:
    return node.boolean ? "boolean `true`" : "boolean `false`";
  case Kind::Unsigned:
    return "integer `" + std::to_string(node.unsigned_value) + "`";
  case Kind::Negative:
    return "integer `" + std::to_string(node.negative_value) + "`";
  case Kind::Float:
    return "floating point `" + rust_float(node.float_value) + "`";
  case Kind::String:
    return "string " + rust_debug_string(node.text);
  case Kind::Array:
    return "sequence";
  case Kind::Object:
    return "map";
  }
  return "value";
}

std::string_view width_name(Width width) {
  switch (width) {
  case Width::U8:
    return "u8";
  case Width::U16:
    return "u16";
  case Width::U32:
    return "u32";
  case Width::U64:
    return "u64";
  case Width::Usize:
    return "usize";
  case Width::I32:
    return "i32";
  case Width::None:
    break;
  }
  return "integer";
}

std::string one_of(std::span<const std::string_view> names) {
  auto quoted = [](std::string_view name) {
    return "`" + std::string(name) + "`";
  };
  if (names.size() == 1)
    return quoted(names[0]);
  if (names.size() == 2)
    return quoted(names[0]) + " or " + quoted(names[1]);
  std::string text = "one of ";
  for (std::size_t index = 0; index < names.size(); ++index) {
    if (index > 0)
      text += ", ";
    text += quoted(names[index]);
  }
  return text;
}

std::vector<std::string_view> field_names(const Definition& definition) {
  std::vector<std::string_view> names;
  for (const Property& property : definition.properties)
    names.push_back(property.name);
  return names;
}

bool valid_mac_address(const std::string& text) {
  if (text.size() != 17)
    return false;
  for (std::size_t index = 0; index < text.size(); ++index) {
    if (index % 3 == 2) {
      if (text[index] != ':')
        return false;
    } else if (!std::isxdigit(static_cast<unsigned char>(text[index]))) {
      return false;
    }
  }
  return true;
}

// LevelFilter's lenient spelling, normalized to how Firecracker prints it.
std::string_view log_level(const std::string& text) {
  std::string lower;
  for (char character : text)
    lower.push_back(
        static_cast<char>(std::tolower(static_cast<unsigned char>(character))));
  if (lower == "off")
    return "Off";
  if (lower == "trace")
    return "Trace";
  if (lower == "debug")
    return "Debug";
  if (lower == "info")
    return "Info";
  if (lower == "warn" || lower == "warning")
    return "Warn";
  if (lower == "error")
    return "Error";
  return {};
}

} // namespace banger::fc_stub::serde_text
