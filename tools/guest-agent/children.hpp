// The agent's children end through one signalfd: SIGCHLD is blocked and
// read as a descriptor in the event loop, so no handler runs between two
// statements of the agent and every exit is seen by the loop that owns the
// session.
#pragma once

#include "tools/guest-agent/sys.hpp"

#include <functional>

namespace banger::guest {

class Children {
public:
  /// Blocks SIGCHLD for the agent; children restore it before exec
  /// (reset_signals_in_child).
  Children();

  /// Readable when a child may have ended.
  int fd() const { return fd_.get(); }

  /// Reaps every child that has ended, telling `ended` its pid and wait
  /// status. Children of sessions already gone are reaped and forgotten.
  void reap(const std::function<void(pid_t, int)>& ended);

private:
  Fd fd_;
};

} // namespace banger::guest
