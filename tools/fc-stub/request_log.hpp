// One JSON line per served request, appended to a file shared by many stub
// processes. Daemon tests read it to prove that requests to one VM never
// overlap in time, so each line is a single O_APPEND write (atomic for
// regular files) and carries CLOCK_REALTIME timestamps comparable across
// processes.
#pragma once

#include <cstdint>
#include <string>

namespace banger::fc_stub {

struct RequestRecord {
  std::string method;
  std::string path;
  int status = 0;
  std::int64_t start_ns = 0; // request fully read
  std::int64_t end_ns = 0;   // response handed to the socket
  std::string action;        // action_type / vm state, empty if none
};

class RequestLog {
public:
  RequestLog() = default;
  ~RequestLog();
  RequestLog(const RequestLog&) = delete;
  RequestLog& operator=(const RequestLog&) = delete;

  /// Returns 0 or the errno of the failed open.
  int open(const std::string& path, std::string instance_id);
  bool enabled() const { return descriptor_ >= 0; }
  void append(const RequestRecord& record);

private:
  int descriptor_ = -1;
  std::string instance_id_;
};

} // namespace banger::fc_stub
