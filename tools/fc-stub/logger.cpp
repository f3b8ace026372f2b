#include "tools/fc-stub/logger.hpp"

#include "tools/fc-stub/system.hpp"

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

namespace banger::fc_stub {

bool parse_log_level(std::string_view text, LogLevel& level) {
  std::string lower;
  for (char character : text)
    lower.push_back(
        static_cast<char>(std::tolower(static_cast<unsigned char>(character))));
  if (lower == "off")
    level = LogLevel::Off;
  else if (lower == "error")
    level = LogLevel::Error;
  else if (lower == "warn" || lower == "warning")
    level = LogLevel::Warn;
  else if (lower == "info")
    level = LogLevel::Info;
  else if (lower == "debug")
    level = LogLevel::Debug;
  else if (lower == "trace")
    level = LogLevel::Trace;
  else
    return false;
  return true;
}

Logger::Logger(std::string instance_id)
    : instance_id_(std::move(instance_id)) {}

Logger::~Logger() {
  if (descriptor_ > 2)
    ::close(descriptor_);
}

int Logger::open(const std::string& path) {
  int descriptor = ::open(
      path.c_str(), O_RDWR | O_CREAT | O_NONBLOCK | O_APPEND | O_CLOEXEC, 0644);
  if (descriptor < 0)
    return errno;
  if (descriptor_ > 2)
    ::close(descriptor_);
  descriptor_ = descriptor;
  return 0;
}

void Logger::error(std::string_view message, std::string_view thread,
                   std::source_location origin) {
  write(LogLevel::Error, message, thread, origin);
}
void Logger::warn(std::string_view message, std::string_view thread,
                  std::source_location origin) {
  write(LogLevel::Warn, message, thread, origin);
}
void Logger::info(std::string_view message, std::string_view thread,
                  std::source_location origin) {
  write(LogLevel::Info, message, thread, origin);
}
void Logger::debug(std::string_view message, std::string_view thread,
                   std::source_location origin) {
  write(LogLevel::Debug, message, thread, origin);
}

void Logger::write(LogLevel level, std::string_view message,
                   std::string_view thread,
                   const std::source_location& origin) {
  if (level > level_ || level_ == LogLevel::Off)
    return;
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  tm local{};
  localtime_r(&now.tv_sec, &local);
  char stamp[64];
  std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%09ld",
                local.tm_year + 1900, local.tm_mon + 1, local.tm_mday,
                local.tm_hour, local.tm_min, local.tm_sec, now.tv_nsec);
  std::string line = stamp;
  line += " [";
  line += instance_id_;
  line += ':';
  line += thread;
  if (show_level_) {
    static constexpr std::string_view names[] = {"OFF",  "ERROR", "WARN",
                                                 "INFO", "DEBUG", "TRACE"};
    line += ':';
    line += names[static_cast<int>(level)];
  }
  if (show_origin_) {
    // __FILE__ is the build machine's absolute path; keep the repo part.
    std::string_view file = origin.file_name();
    if (auto repo_part = file.rfind("tools/fc-stub/");
        repo_part != std::string_view::npos)
      file.remove_prefix(repo_part);
    line += ':';
    line += file;
    line += ':';
    line += std::to_string(origin.line());
  }
  line += "] ";
  line += message;
  line += '\n';
  // Like Firecracker, a failed log write is dropped, never fatal.
  write_all(descriptor_, line);
}

} // namespace banger::fc_stub
