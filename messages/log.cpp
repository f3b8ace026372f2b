#include "messages/log.hpp"

#include "messages/records.hpp"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <ctime>
#include <mutex>

namespace banger::log {

namespace {

struct State {
  std::mutex mutex;
  std::string proc = "banger";
  std::shared_ptr<spdlog::logger> logger;
  Level min = Level::info;
};

State& state() {
  static State instance;
  return instance;
}

void install(std::string proc, spdlog::sink_ptr sink, Level min) {
  auto& s = state();
  std::lock_guard guard{s.mutex};
  s.proc = std::move(proc);
  s.min = min;
  s.logger = std::make_shared<spdlog::logger>("banger", std::move(sink));
  // The line is fully formatted by format_line; spdlog only writes it.
  s.logger->set_pattern("%v");
  s.logger->set_level(spdlog::level::trace);
  s.logger->flush_on(spdlog::level::trace);
}

std::shared_ptr<spdlog::logger> current_logger(Level level) {
  auto& s = state();
  std::lock_guard guard{s.mutex};
  if (level < s.min)
    return nullptr;
  if (!s.logger) {
    s.logger = std::make_shared<spdlog::logger>(
      "banger", std::make_shared<spdlog::sinks::stderr_sink_mt>());
    s.logger->set_pattern("%v");
    s.logger->flush_on(spdlog::level::trace);
  }
  return s.logger;
}

void append_hex4(std::string& out, unsigned value) {
  static constexpr char digits[] = "0123456789abcdef";
  out += "\\u00";
  out.push_back(digits[(value >> 4) & 0xf]);
  out.push_back(digits[value & 0xf]);
}

// Length of the valid UTF-8 sequence starting at s[i], or 0 if invalid
// (overlong forms, surrogates and code points past U+10FFFF are invalid).
std::size_t utf8_sequence_length(std::string_view s, std::size_t i) {
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char lead = byte(i);
  std::size_t length;
  unsigned min_second = 0x80, max_second = 0xbf;
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    if (lead == 0xe0)
      min_second = 0xa0;
    if (lead == 0xed)
      max_second = 0x9f;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    if (lead == 0xf0)
      min_second = 0x90;
    if (lead == 0xf4)
      max_second = 0x8f;
  } else {
    return 0;
  }
  if (i + length > s.size())
    return 0;
  if (byte(i + 1) < min_second || byte(i + 1) > max_second)
    return 0;
  for (std::size_t k = 2; k < length; ++k)
    if (byte(i + k) < 0x80 || byte(i + k) > 0xbf)
      return 0;
  return length;
}

void append_value(std::string& out, const Value& value) {
  if (auto str = std::get_if<std::string>(&value)) {
    out += json_quote(*str);
  } else if (auto num = std::get_if<std::int64_t>(&value)) {
    out += std::to_string(*num);
  } else if (auto flag = std::get_if<bool>(&value)) {
    out += *flag ? "true" : "false";
  } else {
    auto us = std::get<Millis>(value).us;
    if (us < 0) {
      out.push_back('-');
      us = -us;
    }
    auto frac = std::to_string(us % 1000);
    out += std::to_string(us / 1000);
    out.push_back('.');
    out.append(3 - frac.size(), '0');
    out += frac;
  }
}

} // namespace

void init_stderr(std::string proc, Level min) {
  install(std::move(proc), std::make_shared<spdlog::sinks::stderr_sink_mt>(),
          min);
}

void init_file(std::string proc, const std::string& path, Level min) {
  install(std::move(proc),
          std::make_shared<spdlog::sinks::basic_file_sink_mt>(path), min);
}

void init_stream(std::string proc, std::ostream& out, Level min) {
  install(std::move(proc), std::make_shared<spdlog::sinks::ostream_sink_mt>(out),
          min);
}

const std::string& proc() {
  return state().proc;
}

std::string_view to_string(Level level) {
  switch (level) {
    case Level::debug:
      return "debug";
    case Level::info:
      return "info";
    case Level::warn:
      return "warn";
    case Level::error:
      return "error";
  }
  return "info";
}

std::string json_quote(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out.push_back('"');
  for (std::size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
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
        case '\b':
          out += "\\b";
          break;
        case '\f':
          out += "\\f";
          break;
        default:
          if (c < 0x20 || c == 0x7f)
            append_hex4(out, c);
          else
            out.push_back(static_cast<char>(c));
      }
      ++i;
      continue;
    }
    if (auto length = utf8_sequence_length(s, i); length > 0) {
      out.append(s.substr(i, length));
      i += length;
    } else {
      out += "\\ufffd";
      ++i;
    }
  }
  out.push_back('"');
  return out;
}

std::string rfc3339_us(std::int64_t unix_us) {
  auto seconds = static_cast<std::time_t>(unix_us / 1'000'000);
  auto micros = unix_us % 1'000'000;
  if (micros < 0) {
    micros += 1'000'000;
    --seconds;
  }
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buffer[80];
  std::snprintf(buffer, sizeof(buffer), "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ",
                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                tm.tm_min, tm.tm_sec, static_cast<long long>(micros));
  return buffer;
}

std::string format_line(std::int64_t unix_us, Level level, std::string_view proc,
                        std::string_view msg, const Attrs& attrs, std::string_view sub) {
  std::string out;
  out.reserve(128 + msg.size() + attrs.size() * 24);
  out += "{\"ts\":\"";
  out += rfc3339_us(unix_us);
  out += "\",\"level\":\"";
  out += to_string(level);
  out += "\",\"proc\":";
  out += json_quote(proc);
  if (!sub.empty()) {
    out += ",\"sub\":";
    out += json_quote(sub);
  }
  out += ",\"msg\":";
  out += json_quote(msg);
  for (const auto& attr : attrs) {
    out.push_back(',');
    out += json_quote(attr.key);
    out.push_back(':');
    append_value(out, attr.value);
  }
  out.push_back('}');
  return out;
}

void write(Level level, std::string_view msg, const Attrs& attrs) {
  auto logger = current_logger(level);
  if (!logger)
    return;
  auto line = format_line(now_us(), level, proc(), msg, attrs);
  logger->log(spdlog::level::info, spdlog::string_view_t{line.data(), line.size()});
}

void Logger::write(Level level, std::string_view msg, const Attrs& attrs) const {
  auto logger = current_logger(level);
  if (!logger)
    return;
  auto line = format_line(now_us(), level, proc(), msg, attrs, subsystem_);
  logger->log(spdlog::level::info, spdlog::string_view_t{line.data(), line.size()});
}

void flush() {
  auto& s = state();
  std::lock_guard guard{s.mutex};
  if (s.logger)
    s.logger->flush();
}

} // namespace banger::log
