// A VM's request queue: bounded, one operation running at a time, in arrival
// order. This is what replaces per-VM locks. The queue knows nothing of what
// an operation does: it hands each request to `start` with its continuation
// (an OpDone, so a path that drops it still ends the operation and the queue
// moves on) and starts the next one once that continuation has run.
#pragma once

#include "actors/internal_protocol.hpp"
#include "actors/op_done.hpp"

#include <caf/expected.hpp>

#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>

namespace banger::vm {

/// The VMM exited without anyone asking: its clean-up is queued like any
/// other request (it has no caller and is never refused).
struct VmmExitedWork {
  std::int32_t pid = 0;
};

/// A clone's request to this VM, its source (VmCloneOut): `out` receives the
/// clone's saved state, which is the reply once the operation succeeds (the
/// queue's own reply is the VM's record).
struct CloneOutWork {
  VmCloneOut request;
  std::shared_ptr<SavedState> out = std::make_shared<SavedState>();
};

/// What a VM actor runs, one at a time.
using Request = std::variant<VmActionRequest, VmCreateWork, VmCloneWork, CloneOutWork,
                             VmReconcile, VmmExitedWork>;

/// Where a request's outcome goes (a response promise); empty: nobody waits.
using Reply = std::function<void(caf::expected<VmRecord>)>;

struct Pending {
  Request request;
  Reply reply;
};

/// The operation kind a request runs as ("vm.start", "vm.vmm_exited", ...).
std::string op_name(const Request& request);
/// The op_id a request carries; the exit clean-up, which has none, mints one.
std::string op_id_of(const Request& request);

class Queue {
public:
  /// Starts `pending` as operation `op_id`; `done` ends it.
  using Start = std::function<void(Pending pending, const std::string& op_id, OpDone done)>;

  struct Hooks {
    Start start;
    /// Ends the running operation with its outcome (the reply, the record of
    /// it); runs when its continuation is called, before the next starts.
    std::function<void(std::optional<Error>)> end;
    /// Where the end of a dropped operation is postponed to (actors/op_done.hpp).
    OpDone::Defer defer;
    /// The state the queue lives in: once gone, a dropped operation is left alone.
    std::weak_ptr<const void> owner;
  };

  /// `subject` names the VM in refusals ("VM web"); past `bound` waiting
  /// requests, submit refuses with busy.
  Queue(std::string subject, std::size_t bound, Hooks hooks);
  /// What still waits leaves banger_vm_queue_depth with it.
  ~Queue();
  Queue(const Queue&) = delete;
  Queue& operator=(const Queue&) = delete;

  /// Runs `pending` now if nothing runs, else queues it. Refused: busy past
  /// the bound, or the close error; `pending.reply` gets that error (with
  /// the request's op_id) at once and submit returns false.
  bool submit(Pending pending);

  /// Queues `pending` whatever the bound (the exit clean-up). Dropped after close.
  void submit_always(Pending pending);

  /// No more requests: every waiting one and every later one gets `code`
  /// and `message`. The running operation, if any, ends as it would.
  void close(Errc code, std::string message);

  bool running() const { return running_; }
  bool closed() const { return closed_.has_value(); }
  std::size_t waiting() const { return waiting_.size(); }

private:
  void next();
  void ended(std::optional<Error> error);
  static void refuse(Pending& pending, Errc code, const std::string& message);

  std::string subject_;
  std::size_t bound_;
  Hooks hooks_;
  std::deque<Pending> waiting_;
  bool running_ = false;
  std::optional<Error> closed_;
};

} // namespace banger::vm
