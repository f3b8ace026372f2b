// What a lifecycle action that waits is waiting for, on a terminal: while
// `vm stop` (restart, rm) runs, a second thread asks the daemon for the VMs
// every 250 ms and rewrites one stderr line per wait, e.g.
//   web1: waiting for the guest to power off (wait_for_exit), 27 s left
// from the VM's stage and its deadline (VmRuntime::stage_deadline_us).
// Nothing is shown when stderr is not a terminal: scripts and logs see the
// same output as before.
#pragma once

#include "tools/cli/client.hpp"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace banger::cli {

/// The line for a VM in `stage` with `left_us` to its deadline (negative:
/// none); empty when the stage is not worth a line.
std::string wait_line(const std::string& name, const std::string& stage, std::int64_t left_us);

class ActionProgress {
public:
  /// Polls `ids` through `session` until destroyed; does nothing unless
  /// `enabled` and stderr is a terminal.
  ActionProgress(Session& session, std::vector<std::string> ids, bool enabled);
  ~ActionProgress();
  ActionProgress(const ActionProgress&) = delete;
  ActionProgress& operator=(const ActionProgress&) = delete;

private:
  void run();

  Session& session_;
  std::vector<std::string> ids_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;
};

} // namespace banger::cli
