// The operation log: every operation logs its stages and ends with exactly
// one `operation completed` or `operation failed` line carrying duration_ms.
//
//   auto op = OpLog::begin(log_, "vm.start", op_id, {{"vm_id", id}});
//   op.stage("spawn_vmm");
//   ...
//   op.done();            // or op.fail(error)
//
// An OpLog destroyed with neither logged counts as failed ("abandoned"), so a
// forgotten path cannot make an operation vanish from the log. Every line is
// written through the Logger of the subsystem that runs the operation, so it
// carries that subsystem as `sub`.
#pragma once

#include "messages/log.hpp"
#include "messages/result.hpp"

#include <chrono>
#include <string>

namespace banger {

class OpLog {
public:
  /// `logger` must outlive the operation (loggers are namespace-scope
  /// constants, one per subsystem).
  static OpLog begin(const log::Logger& logger, std::string op, std::string op_id,
                     log::Attrs attrs = {});

  OpLog(OpLog&& other) noexcept;
  OpLog& operator=(OpLog&&) = delete;
  OpLog(const OpLog&) = delete;
  OpLog& operator=(const OpLog&) = delete;
  ~OpLog();

  /// Logs entering stage `name`; the line carries the time since begin.
  void stage(std::string_view name, const log::Attrs& attrs = {});

  /// Adds an attribute to every later line of this operation (e.g. vm_id
  /// once create has allocated it).
  void add(log::Attr attr);

  void done(const log::Attrs& attrs = {});
  void fail(Errc code, std::string_view message, const log::Attrs& attrs = {});
  void fail(const Error& error, const log::Attrs& attrs = {}) {
    fail(error.code, error.message, attrs);
  }

  const std::string& op_id() const { return op_id_; }
  const std::string& current_stage() const { return stage_; }
  bool finished() const { return finished_; }
  /// Microseconds since begin.
  std::int64_t elapsed_us() const;

private:
  OpLog(const log::Logger& logger, std::string op, std::string op_id, log::Attrs attrs);

  log::Attrs with_base(const log::Attrs& extra) const;

  const log::Logger* logger_;
  std::string op_;
  std::string op_id_;
  log::Attrs base_;
  std::string stage_;
  std::chrono::steady_clock::time_point started_;
  bool finished_ = false;
};

} // namespace banger
