// fc-stub's serde_json look-alike (tools/fc-stub/json_reader.hpp). A document
// it accepts is valid JSON (nlohmann agrees), its node offsets lie within the
// text, and writing the tree back out reads back as the same tree.
#include "tests/fuzz/fuzz_check.hpp"
#include "tools/fc-stub/json_reader.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <string>

namespace json = banger::fc_stub::json;

namespace {

void check_offsets(const json::Node& node, std::size_t begin, std::size_t end) {
  FUZZ_CHECK(begin <= node.begin && node.begin < node.end && node.end <= end);
  if (node.kind == json::Kind::Object) {
    FUZZ_CHECK(node.keys.size() == node.items.size());
    FUZZ_CHECK(node.key_ends.size() == node.items.size());
    for (std::size_t i = 0; i < node.items.size(); ++i)
      FUZZ_CHECK(node.key_ends[i] > node.begin && node.key_ends[i] < node.items[i].begin);
  } else {
    FUZZ_CHECK(node.keys.empty());
  }
  for (const auto& item : node.items)
    check_offsets(item, node.begin + 1, node.end - 1);
}

std::string quote(const std::string& text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string write(const json::Node& node) {
  switch (node.kind) {
  case json::Kind::Null:
    return "null";
  case json::Kind::Boolean:
    return node.boolean ? "true" : "false";
  case json::Kind::Unsigned:
    return std::to_string(node.unsigned_value);
  case json::Kind::Negative:
    return std::to_string(node.negative_value);
  case json::Kind::Float: {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", node.float_value);
    std::string text = buf;
    if (text.find_first_of(".eE") == std::string::npos)
      text += ".0";
    return text;
  }
  case json::Kind::String:
    return quote(node.text);
  case json::Kind::Array: {
    std::string out = "[";
    for (std::size_t i = 0; i < node.items.size(); ++i)
      out += (i ? "," : "") + write(node.items[i]);
    return out + "]";
  }
  case json::Kind::Object: {
    std::string out = "{";
    for (std::size_t i = 0; i < node.items.size(); ++i)
      out += (i ? "," : "") + quote(node.keys[i]) + ":" + write(node.items[i]);
    return out + "}";
  }
  }
  return {};
}

bool same_tree(const json::Node& a, const json::Node& b) {
  if (a.kind != b.kind || a.boolean != b.boolean || a.unsigned_value != b.unsigned_value
      || a.negative_value != b.negative_value || a.text != b.text || a.keys != b.keys
      || a.items.size() != b.items.size())
    return false;
  if (a.kind == json::Kind::Float && a.float_value != b.float_value)
    return false;
  for (std::size_t i = 0; i < a.items.size(); ++i)
    if (!same_tree(a.items[i], b.items[i]))
      return false;
  return true;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto text = banger::fuzz::as_text(data, size);
  json::Node root;
  try {
    root = json::parse(text);
  } catch (const json::SyntaxError& error) {
    // serde's wording: "<what> at line L column C".
    FUZZ_CHECK(std::string_view(error.what()).find(" at line ") != std::string_view::npos);
    return 0;
  }
  FUZZ_CHECK(!nlohmann::json::parse(text, nullptr, false).is_discarded());
  check_offsets(root, 0, text.size());
  auto written = write(root);
  json::Node again;
  try {
    again = json::parse(written);
  } catch (const json::SyntaxError& error) {
    std::fprintf(stderr, "cannot read back %s: %s\n", written.c_str(), error.what());
    FUZZ_CHECK(false);
  }
  FUZZ_CHECK(same_tree(root, again));
  return 0;
}
