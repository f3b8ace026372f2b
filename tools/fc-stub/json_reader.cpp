#include "tools/fc-stub/json_reader.hpp"

#include <cerrno>
#include <cstdlib>
#include <limits>

namespace banger::fc_stub::json {
namespace {

// serde_json refuses to nest deeper than this.
constexpr int recursion_limit = 128;

class Reader {
public:
  explicit Reader(std::string_view text) : text_(text) {}

  Node document() {
    Node root = value(0);
    skip_whitespace();
    if (index_ < text_.size())
      fail_at_peek("trailing characters");
    return root;
  }

private:
  std::string_view text_;
  std::size_t index_ = 0;

  // serde_json has two error positions: after what was consumed ("error")
  // and at the character it is looking at ("peek_error").
  [[noreturn]] void fail_after_consumed(std::string_view code) const {
    throw SyntaxError(std::string(code) + position_after(text_, index_));
  }
  [[noreturn]] void fail_at_peek(std::string_view code) const {
    std::size_t peeked = index_ + 1 < text_.size() ? index_ + 1 : text_.size();
    throw SyntaxError(std::string(code) + position_after(text_, peeked));
  }

  bool at_end() const { return index_ >= text_.size(); }
  char peek() const { return text_[index_]; }

  void skip_whitespace() {
    while (!at_end() && (peek() == ' ' || peek() == '\n' || peek() == '\t' ||
                         peek() == '\r'))
      ++index_;
  }

  Node value(int depth) {
    skip_whitespace();
    if (at_end())
      fail_at_peek("EOF while parsing a value");
    Node node;
    node.begin = index_;
    switch (peek()) {
    case 'n':
      literal("null");
      node.kind = Kind::Null;
      break;
    case 't':
      literal("true");
      node.kind = Kind::Boolean;
      node.boolean = true;
      break;
    case 'f':
      literal("false");
      node.kind = Kind::Boolean;
      node.boolean = false;
      break;
    case '"':
      ++index_;
      node.kind = Kind::String;
      node.text = string_contents();
      break;
    case '[':
      if (depth >= recursion_limit)
        fail_at_peek("recursion limit exceeded");
      array(node, depth);
      break;
    case '{':
      if (depth >= recursion_limit)
        fail_at_peek("recursion limit exceeded");
      object(node, depth);
      break;
    default:
      if (peek() == '-' || (peek() >= '0' && peek() <= '9'))
        number(node);
      else
        fail_at_peek("expected value");
    }
    node.end = index_;
    return node;
  }

  void literal(std::string_view word) {
    for (char expected : word) {
      if (at_end())
        fail_after_consumed("EOF while parsing a value");
      char actual = text_[index_++];
      if (actual != expected)
        fail_after_consumed("expected ident");
    }
  }

  void digits() {
    while (!at_end() && peek() >= '0' && peek() <= '9')
      ++index_;
  }

  void number(Node& node) {
    std::size_t start = index_;
    bool negative = peek() == '-';
    if (negative)
      ++index_;
    if (at_end())
      fail_after_consumed("EOF while parsing a value");
    char first = text_[index_++];
    if (first == '0') {
      if (!at_end() && peek() >= '0' && peek() <= '9')
        fail_at_peek("invalid number");
    } else if (first >= '1' && first <= '9') {
      digits();
    } else {
      fail_after_consumed("invalid number");
    }
    bool is_float = false;
    if (!at_end() && peek() == '.') {
      ++index_;
      is_float = true;
      if (at_end())
        fail_at_peek("EOF while parsing a value");
      if (peek() < '0' || peek() > '9')
        fail_at_peek("invalid number");
      digits();
    }
    if (!at_end() && (peek() == 'e' || peek() == 'E')) {
      ++index_;
      is_float = true;
      if (!at_end() && (peek() == '+' || peek() == '-'))
        ++index_;
      if (at_end())
        fail_at_peek("EOF while parsing a value");
      if (peek() < '0' || peek() > '9')
        fail_at_peek("invalid number");
      digits();
    }
    std::string literal_text(text_.substr(start, index_ - start));
    if (!is_float) {
      errno = 0;
      if (negative) {
        long long parsed = std::strtoll(literal_text.c_str(), nullptr, 10);
        if (errno == 0) {
          node.kind = parsed < 0 ? Kind::Negative : Kind::Unsigned;
          // "-0" is an unsigned zero for serde.
          node.negative_value = parsed;
          node.unsigned_value = 0;
          return;
        }
      } else {
        unsigned long long parsed =
            std::strtoull(literal_text.c_str(), nullptr, 10);
        if (errno == 0) {
          node.kind = Kind::Unsigned;
          node.unsigned_value = parsed;
          return;
        }
      }
    }
    // serde_json falls back to f64 for integers outside i64/u64.
    node.kind = Kind::Float;
    node.float_value = std::strtod(literal_text.c_str(), nullptr);
    if (node.float_value == std::numeric_limits<double>::infinity() ||
        node.float_value == -std::numeric_limits<double>::infinity())
      fail_after_consumed("number out of range");
  }

  unsigned hex_quad() {
    unsigned value = 0;
    for (int digit = 0; digit < 4; ++digit) {
      if (at_end())
        fail_after_consumed("EOF while parsing a string");
      char c = text_[index_++];
      value <<= 4;
      if (c >= '0' && c <= '9')
        value |= static_cast<unsigned>(c - '0');
      else if (c >= 'a' && c <= 'f')
        value |= static_cast<unsigned>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        value |= static_cast<unsigned>(c - 'A' + 10);
      else
        fail_after_consumed("invalid escape");
    }
    return value;
  }

  static void append_utf8(std::string& out, unsigned code_point) {
    if (code_point < 0x80) {
      out.push_back(static_cast<char>(code_point));
    } else if (code_point < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (code_point >> 6)));
      out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
    } else if (code_point < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (code_point >> 12)));
      out.push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (code_point >> 18)));
      out.push_back(static_cast<char>(0x80 | ((code_point >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
    }
  }

  // Consumes one UTF-8 sequence whose lead byte was just read. Only what
  // Rust's str accepts: the second byte's range also excludes overlong
  // forms (after E0, F0), UTF-16 surrogates (ED) and code points above
  // U+10FFFF (F4). Anything else would also make nlohmann's dump() throw
  // when the value is echoed back.
  void copy_utf8_sequence(std::string& out, unsigned char lead) {
    int continuation = lead >= 0xF0 ? 3 : lead >= 0xE0 ? 2 : 1;
    if (lead < 0xC2 || lead > 0xF4)
      fail_after_consumed("invalid unicode code point");
    unsigned char second_low = lead == 0xE0 ? 0xA0 : lead == 0xF0 ? 0x90 : 0x80;
    unsigned char second_high = lead == 0xED ? 0x9F : lead == 0xF4 ? 0x8F : 0xBF;
    out.push_back(static_cast<char>(lead));
    for (int count = 0; count < continuation; ++count) {
      if (at_end())
        fail_after_consumed("EOF while parsing a string");
      auto byte = static_cast<unsigned char>(text_[index_]);
      bool valid = count == 0 ? byte >= second_low && byte <= second_high : (byte & 0xC0) == 0x80;
      if (!valid)
        fail_after_consumed("invalid unicode code point");
      ++index_;
      out.push_back(static_cast<char>(byte));
    }
  }

  std::string string_contents() {
    std::string out;
    for (;;) {
      if (at_end())
        fail_after_consumed("EOF while parsing a string");
      auto byte = static_cast<unsigned char>(text_[index_++]);
      if (byte == '"')
        return out;
      if (byte < 0x20)
        fail_after_consumed(
            "control character (\\u0000-\\u001F) found while parsing a "
            "string");
      if (byte >= 0x80) {
        copy_utf8_sequence(out, byte);
        continue;
      }
      if (byte != '\\') {
        out.push_back(static_cast<char>(byte));
        continue;
      }
      if (at_end())
        fail_after_consumed("EOF while parsing a string");
      char escape = text_[index_++];
      switch (escape) {
      case '"':
        out.push_back('"');
        break;
      case '\\':
        out.push_back('\\');
        break;
      case '/':
        out.push_back('/');
        break;
      case 'b':
        out.push_back('\b');
        break;
      case 'f':
        out.push_back('\f');
        break;
      case 'n':
        out.push_back('\n');
        break;
      case 'r':
        out.push_back('\r');
        break;
      case 't':
        out.push_back('\t');
        break;
      case 'u': {
        unsigned code_point = hex_quad();
        if (code_point >= 0xDC00 && code_point <= 0xDFFF)
          fail_after_consumed("lone leading surrogate in hex escape");
        if (code_point >= 0xD800 && code_point <= 0xDBFF) {
          if (index_ + 1 >= text_.size() || text_[index_] != '\\' ||
              text_[index_ + 1] != 'u')
            fail_after_consumed("unexpected end of hex escape");
          index_ += 2;
          unsigned low = hex_quad();
          if (low < 0xDC00 || low > 0xDFFF)
            fail_after_consumed("lone leading surrogate in hex escape");
          code_point = 0x10000 + ((code_point - 0xD800) << 10) + (low - 0xDC00);
        }
        append_utf8(out, code_point);
        break;
      }
      default:
        fail_after_consumed("invalid escape");
      }
    }
  }

  void array(Node& node, int depth) {
    node.kind = Kind::Array;
    ++index_; // '['
    skip_whitespace();
    if (at_end())
      fail_at_peek("EOF while parsing a list");
    if (peek() == ']') {
      ++index_;
      return;
    }
    for (;;) {
      node.items.push_back(value(depth + 1));
      skip_whitespace();
      if (at_end())
        fail_at_peek("EOF while parsing a list");
      if (peek() == ']') {
        ++index_;
        return;
      }
      if (peek() != ',')
        fail_at_peek("expected `,` or `]`");
      ++index_;
      skip_whitespace();
      if (!at_end() && peek() == ']')
        fail_at_peek("trailing comma");
    }
  }

  void object(Node& node, int depth) {
    node.kind = Kind::Object;
    ++index_; // '{'
    skip_whitespace();
    if (at_end())
      fail_at_peek("EOF while parsing an object");
    if (peek() == '}') {
      ++index_;
      return;
    }
    for (;;) {
      skip_whitespace();
      if (at_end())
        fail_at_peek("EOF while parsing a value");
      if (peek() != '"')
        fail_at_peek("key must be a string");
      ++index_;
      node.keys.push_back(string_contents());
      node.key_ends.push_back(index_);
      skip_whitespace();
      if (at_end())
        fail_at_peek("EOF while parsing an object");
      if (peek() != ':')
        fail_at_peek("expected `:`");
      ++index_;
      node.items.push_back(value(depth + 1));
      skip_whitespace();
      if (at_end())
        fail_at_peek("EOF while parsing an object");
      if (peek() == '}') {
        ++index_;
        return;
      }
      if (peek() != ',')
        fail_at_peek("expected `,` or `}`");
      ++index_;
      skip_whitespace();
      if (!at_end() && peek() == '}')
        fail_at_peek("trailing comma");
    }
  }
};

} // namespace

Node parse(std::string_view text) {
  return Reader(text).document();
}

std::string position_after(std::string_view text, std::size_t consumed) {
  if (consumed > text.size())
    consumed = text.size();
  std::size_t start_of_line = 0;
  std::size_t line = 1;
  for (std::size_t offset = 0; offset < consumed; ++offset) {
    if (text[offset] == '\n') {
      ++line;
      start_of_line = offset + 1;
    }
  }
  return " at line " + std::to_string(line) + " column " +
         std::to_string(consumed - start_of_line);
}

} // namespace banger::fc_stub::json
