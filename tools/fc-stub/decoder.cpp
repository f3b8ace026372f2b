#include "tools/fc-stub/decoder.hpp"

#include "tools/fc-stub/json_reader.hpp"
#include "tools/fc-stub/serde_text.hpp"

#include <arpa/inet.h>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

namespace banger::fc_stub {
namespace {

using json::Kind;
using json::Node;
using schema::Definition;
using schema::Format;
using schema::Presence;
using schema::Property;
using schema::Type;
using schema::Width;
using namespace serde_text;

class Decoder {
public:
  explicit Decoder(std::string_view text) : text_(text) {}

  OrderedJson structure(const Node& node, const Definition& definition) {
    if (node.kind != Kind::Object)
      invalid_type(node, "struct " + std::string(definition.rust_name));
    const auto& properties = definition.properties;
    std::vector<bool> seen(properties.size(), false);
    std::vector<OrderedJson> values(properties.size());
    for (std::size_t member = 0; member < node.keys.size(); ++member) {
      const std::string& key = node.keys[member];
      std::size_t index = 0;
      while (index < properties.size() && properties[index].name != key)
        ++index;
      if (index == properties.size()) {
        if (definition.deny_unknown_fields)
          fail_after(node.key_ends[member],
                     "unknown field `" + key + "`, expected " +
                         one_of(field_names(definition)));
        continue;
      }
      if (seen[index])
        fail_after(node.key_ends[member], "duplicate field `" + key + "`");
      seen[index] = true;
      values[index] = value(node.items[member], properties[index]);
    }
    OrderedJson result = OrderedJson::object();
    for (std::size_t index = 0; index < properties.size(); ++index) {
      const Property& property = properties[index];
      if (!seen[index] && property.presence == Presence::Required &&
          !definition.partial)
        fail_after(node.end,
                   "missing field `" + std::string(property.name) + "`");
      bool absent = !seen[index] || values[index].is_null();
      if (absent && (definition.partial || property.omit_when_absent))
        continue;
      result[std::string(property.name)] =
          seen[index] ? std::move(values[index])
                      : OrderedJson::parse(property.absent);
    }
    return result;
  }

  nlohmann::json free_form(const Node& node) {
    switch (node.kind) {
    case Kind::Null:
      return nullptr;
    case Kind::Boolean:
      return node.boolean;
    case Kind::Unsigned:
      return node.unsigned_value;
    case Kind::Negative:
      return node.negative_value;
    case Kind::Float:
      return node.float_value;
    case Kind::String:
      return node.text;
    case Kind::Array: {
      nlohmann::json array = nlohmann::json::array();
      for (const Node& item : node.items)
        array.push_back(free_form(item));
      return array;
    }
    case Kind::Object: {
      // serde_json's map keeps the last of duplicate keys.
      nlohmann::json object = nlohmann::json::object();
      for (std::size_t member = 0; member < node.keys.size(); ++member)
        object[node.keys[member]] = free_form(node.items[member]);
      return object;
    }
    }
    return nullptr;
  }

private:
  std::string_view text_;

  [[noreturn]] void fail_after(std::size_t consumed,
                               const std::string& message) const {
    throw DecodeError(message + json::position_after(text_, consumed));
  }

  // serde reports scalars after consuming them, containers at their opening
  // bracket.
  [[noreturn]] void invalid_type(const Node& node,
                                 const std::string& expected) const {
    bool container = node.kind == Kind::Array || node.kind == Kind::Object;
    fail_after(container ? node.begin : node.end,
               "invalid type: " + unexpected(node) + ", expected " + expected);
  }

  OrderedJson value(const Node& node, const Property& property) {
    if (node.kind == Kind::Null && property.presence == Presence::Optional)
      return nullptr;
    switch (property.type) {
    case Type::String:
      return string(node, property);
    case Type::Boolean:
      if (node.kind != Kind::Boolean)
        invalid_type(node, "a boolean");
      return node.boolean;
    case Type::Integer:
      return integer(node, property);
    case Type::Object:
      if (property.format == Format::PathOrObject && node.kind == Kind::String)
        return node.text;
      if (property.format == Format::PathOrObject) {
        try {
          return structure(node, *property.definition);
        } catch (const DecodeError&) {
          fail_after(node.end, "data did not match any variant of untagged "
                               "enum CustomCpuTemplateOrPath");
        }
      }
      return structure(node, *property.definition);
    case Type::Array:
      return array(node, property);
    }
    return nullptr;
  }

  OrderedJson array(const Node& node, const Property& property) {
    if (node.kind != Kind::Array)
      invalid_type(node, "a sequence");
    Property item{.name = property.name,
                  .type = property.item_type,
                  .presence = Presence::Required,
                  .definition = property.definition};
    OrderedJson result = OrderedJson::array();
    for (const Node& element : node.items)
      result.push_back(value(element, item));
    return result;
  }

  OrderedJson string(const Node& node, const Property& property) {
    if (!property.variants.empty() && property.format != Format::LogLevel)
      return variant(node, property);
    if (node.kind != Kind::String) {
      switch (property.format) {
      case Format::Path:
        invalid_type(node, "path string");
      case Format::Ipv4Address:
        invalid_type(node, "IPv4 address");
      default:
        invalid_type(node, "a string");
      }
    }
    switch (property.format) {
    case Format::MacAddress: {
      if (!valid_mac_address(node.text))
        fail_after(node.end, "The provided MAC address is invalid.");
      std::string lower;
      for (char character : node.text)
        lower.push_back(static_cast<char>(
            std::tolower(static_cast<unsigned char>(character))));
      return lower;
    }
    case Format::Ipv4Address: {
      in_addr address{};
      if (inet_pton(AF_INET, node.text.c_str(), &address) != 1)
        fail_after(node.end, "invalid IPv4 address syntax");
      return node.text;
    }
    case Format::LogLevel: {
      std::string_view level = log_level(node.text);
      if (level.empty())
        fail_after(node.end, "Invalid LevelFilter");
      return std::string(level);
    }
    default:
      return node.text;
    }
  }

  // A Rust unit-variant enum: serde only accepts the variant name as a string.
  OrderedJson variant(const Node& node, const Property& property) {
    if (node.kind != Kind::String) {
      std::size_t peeked = node.begin + 1;
      throw DecodeError("expected value" + json::position_after(text_, peeked));
    }
    for (std::string_view allowed : property.variants)
      if (allowed == node.text)
        return node.text;
    fail_after(node.end, "unknown variant `" + node.text + "`, expected " +
                             one_of(property.variants));
  }

  OrderedJson integer(const Node& node, const Property& property) {
    std::string expected(width_name(property.width));
    std::int64_t low = 0;
    std::uint64_t high = 0;
    switch (property.width) {
    case Width::U8:
      high = std::numeric_limits<std::uint8_t>::max();
      break;
    case Width::U16:
      high = std::numeric_limits<std::uint16_t>::max();
      break;
    case Width::U32:
      high = std::numeric_limits<std::uint32_t>::max();
      break;
    case Width::I32:
      low = std::numeric_limits<std::int32_t>::min();
      high = std::numeric_limits<std::int32_t>::max();
      break;
    default:
      high = std::numeric_limits<std::uint64_t>::max();
    }
    OrderedJson result;
    std::int64_t comparable = 0;
    if (node.kind == Kind::Unsigned) {
      if (node.unsigned_value > high)
        fail_after(node.end, "invalid value: " + unexpected(node) +
                                 ", expected " + expected);
      result = node.unsigned_value;
      comparable =
          node.unsigned_value > static_cast<std::uint64_t>(
                                    std::numeric_limits<std::int64_t>::max())
              ? std::numeric_limits<std::int64_t>::max()
              : static_cast<std::int64_t>(node.unsigned_value);
    } else if (node.kind == Kind::Negative) {
      if (node.negative_value < low)
        fail_after(node.end, "invalid value: " + unexpected(node) +
                                 ", expected " + expected);
      result = node.negative_value;
      comparable = node.negative_value;
    } else {
      invalid_type(node, expected);
    }
    if (property.range_check == schema::RangeCheck::Decoder) {
      bool too_small = property.minimum && comparable < *property.minimum;
      bool too_large = property.maximum && comparable > *property.maximum;
      if (too_small || too_large) {
        std::string bound;
        if (property.minimum && property.maximum)
          bound = "between " + std::to_string(*property.minimum) + " and " +
                  std::to_string(*property.maximum);
        else if (property.minimum)
          bound = "at least " + std::to_string(*property.minimum);
        else
          bound = "at most " + std::to_string(*property.maximum);
        fail_after(node.end, "invalid value: " + unexpected(node) +
                                 ", expected " + std::string(property.name) +
                                 " " + bound + " (Firecracker API spec)");
      }
    }
    return result;
  }
};

} // namespace

OrderedJson decode(std::string_view text, const Definition& definition) {
  Node root;
  try {
    root = json::parse(text);
  } catch (const json::SyntaxError& error) {
    throw DecodeError(error.what());
  }
  return Decoder(text).structure(root, definition);
}

nlohmann::json decode_object(std::string_view text) {
  Node root;
  try {
    root = json::parse(text);
  } catch (const json::SyntaxError& error) {
    throw DecodeError(error.what());
  }
  if (root.kind != Kind::Object) {
    bool container = root.kind == Kind::Array;
    throw DecodeError(
        "invalid type: " + unexpected(root) + ", expected a map" +
        json::position_after(text, container ? root.begin : root.end));
  }
  return Decoder(text).free_form(root);
}

} // namespace banger::fc_stub
