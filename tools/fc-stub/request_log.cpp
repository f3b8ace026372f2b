#include "tools/fc-stub/request_log.hpp"

#include <cerrno>
#include <fcntl.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

namespace banger::fc_stub {

RequestLog::~RequestLog() {
  if (descriptor_ >= 0)
    ::close(descriptor_);
}

int RequestLog::open(const std::string& path, std::string instance_id) {
  int descriptor =
      ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (descriptor < 0)
    return errno;
  descriptor_ = descriptor;
  instance_id_ = std::move(instance_id);
  return 0;
}

void RequestLog::append(const RequestRecord& record) {
  if (descriptor_ < 0)
    return;
  nlohmann::ordered_json line = {
      {"id", instance_id_},      {"pid", ::getpid()},
      {"method", record.method}, {"path", record.path},
      {"status", record.status}, {"start_ns", record.start_ns},
      {"end_ns", record.end_ns},
  };
  if (!record.action.empty())
    line["action"] = record.action;
  // The path is the client's bytes: invalid UTF-8 becomes U+FFFD.
  std::string text =
      line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
  // One write() so lines from concurrent processes never interleave; a short
  // write is not retried because a second write could land mid-line.
  [[maybe_unused]] ssize_t written =
      ::write(descriptor_, text.data(), text.size());
}

} // namespace banger::fc_stub
