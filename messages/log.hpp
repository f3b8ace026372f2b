// JSON-lines logging shared by daemon, helper and tools: one object per line
// with `ts` (RFC 3339, UTC, microseconds), `level`, `proc`, `sub` (the
// subsystem's Logger, when the line comes from one), `msg` and any
// attributes (`op_id`, `vm_id`, `stage`, `duration_ms`, `error`, ...).
// Written through spdlog; readable with `journalctl -o cat | jq`.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace banger::log {

enum class Level { debug, info, warn, error };

/// A duration logged as milliseconds with microsecond precision (`12.345`),
/// computed from integers.
struct Millis {
  std::int64_t us = 0;
};

using Value = std::variant<std::string, std::int64_t, bool, Millis>;

struct Attr {
  Attr(std::string_view k, std::string_view v) : key(k), value(std::string(v)) {}
  Attr(std::string_view k, const std::string& v) : key(k), value(v) {}
  Attr(std::string_view k, const char* v) : key(k), value(std::string(v)) {}
  Attr(std::string_view k, std::int64_t v) : key(k), value(v) {}
  Attr(std::string_view k, int v) : key(k), value(std::int64_t{v}) {}
  Attr(std::string_view k, unsigned v) : key(k), value(std::int64_t{v}) {}
  Attr(std::string_view k, std::uint64_t v)
    : key(k), value(static_cast<std::int64_t>(v)) {}
  Attr(std::string_view k, bool v) : key(k), value(v) {}
  Attr(std::string_view k, Millis v) : key(k), value(v) {}

  std::string key;
  Value value;
};

using Attrs = std::vector<Attr>;

/// Where lines go. Call once at start-up; the default is stderr as "banger".
void init_stderr(std::string proc, Level min = Level::info);
void init_file(std::string proc, const std::string& path,
               Level min = Level::info);
void init_stream(std::string proc, std::ostream& out, Level min = Level::debug);

/// The process name written as `proc`.
const std::string& proc();

void write(Level level, std::string_view msg, const Attrs& attrs = {});
inline void debug(std::string_view msg, const Attrs& attrs = {}) {
  write(Level::debug, msg, attrs);
}
inline void info(std::string_view msg, const Attrs& attrs = {}) {
  write(Level::info, msg, attrs);
}
inline void warn(std::string_view msg, const Attrs& attrs = {}) {
  write(Level::warn, msg, attrs);
}
inline void error(std::string_view msg, const Attrs& attrs = {}) {
  write(Level::error, msg, attrs);
}

/// One named logger per subsystem (node, vm, helper.tap, ...): the
/// subsystem is the `sub` field of each line, so `jq 'select(.sub=="vm")'`
/// picks one out. Declared once per subsystem as a constant:
///   const log::Logger log_{"node"};
class Logger {
public:
  constexpr explicit Logger(std::string_view subsystem) : subsystem_(subsystem) {}

  std::string_view subsystem() const { return subsystem_; }
  void write(Level level, std::string_view msg, const Attrs& attrs = {}) const;
  void debug(std::string_view msg, const Attrs& attrs = {}) const { write(Level::debug, msg, attrs); }
  void info(std::string_view msg, const Attrs& attrs = {}) const { write(Level::info, msg, attrs); }
  void warn(std::string_view msg, const Attrs& attrs = {}) const { write(Level::warn, msg, attrs); }
  void error(std::string_view msg, const Attrs& attrs = {}) const { write(Level::error, msg, attrs); }

private:
  std::string_view subsystem_;
};

/// Flushes buffered lines (before exit or when a test reads the file).
void flush();

// -- building blocks, exposed for tests and the CLI's JSON output ------------

/// `s` as a JSON string literal (with quotes). Control characters are
/// escaped; invalid UTF-8 sequences become U+FFFD, so any byte string yields
/// valid JSON.
std::string json_quote(std::string_view s);

/// RFC 3339 UTC timestamp with microseconds, e.g. 2026-11-26T10:59:10.123456Z.
std::string rfc3339_us(std::int64_t unix_us);

/// One complete log line (without newline); `sub` is left out when empty.
std::string format_line(std::int64_t unix_us, Level level, std::string_view proc,
                        std::string_view msg, const Attrs& attrs, std::string_view sub = {});

std::string_view to_string(Level level);

} // namespace banger::log
