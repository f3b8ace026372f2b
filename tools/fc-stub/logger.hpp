// Firecracker's human-readable log: "<local time> [<id>:<thread>(:LEVEL)]
// message", to stdout until a log file is configured (--log-path or PUT
// /logger).
#pragma once

#include <cstdint>
#include <source_location>
#include <string>
#include <string_view>

namespace banger::fc_stub {

enum class LogLevel : std::uint8_t { Off, Error, Warn, Info, Debug, Trace };

/// Parses Firecracker's lenient level names ("warning", "INFO", ...).
bool parse_log_level(std::string_view text, LogLevel& level);

class Logger {
public:
  explicit Logger(std::string instance_id);
  ~Logger();
  Logger(const Logger&) = delete;
  Logger& operator=(const Logger&) = delete;

  /// Opens the log file like Firecracker (create, non-blocking, read-write,
  /// appending here so concurrent writers keep whole lines). Returns 0 or the
  /// errno of the failed open.
  int open(const std::string& path);
  void set_level(LogLevel level) { level_ = level; }
  void set_show_level(bool show) { show_level_ = show; }
  void set_show_origin(bool show) { show_origin_ = show; }
  // Firecracker filters by Rust module path; the stub's messages have none,
  // so the filter is recorded but not applied.
  void set_module(std::string module) { module_ = std::move(module); }

  void error(std::string_view message, std::string_view thread = "main",
             std::source_location origin = std::source_location::current());
  void warn(std::string_view message, std::string_view thread = "main",
            std::source_location origin = std::source_location::current());
  void info(std::string_view message, std::string_view thread = "main",
            std::source_location origin = std::source_location::current());
  void debug(std::string_view message, std::string_view thread = "main",
             std::source_location origin = std::source_location::current());

private:
  void write(LogLevel level, std::string_view message, std::string_view thread,
             const std::source_location& origin);

  std::string instance_id_;
  int descriptor_ = 1; // stdout
  LogLevel level_ = LogLevel::Info;
  bool show_level_ = false;
  bool show_origin_ = false;
  std::string module_;
};

} // namespace banger::fc_stub
