#include "actors/vm_queue.hpp"
#include "actors/daemon_metrics.hpp"

#include "messages/error.hpp"
#include "messages/op_id.hpp"

namespace banger::vm {

namespace {

struct NameOf {
  std::string operator()(const VmActionRequest& r) const {
    switch (r.action) {
      case VmAction::start:
        return "vm.start";
      case VmAction::stop:
        return "vm.stop";
      case VmAction::kill:
        return "vm.kill";
      case VmAction::restart:
        return "vm.restart";
      case VmAction::remove:
        return "vm.delete";
      case VmAction::pause:
        return "vm.pause";
      case VmAction::resume:
        return "vm.resume";
      case VmAction::suspend:
        return "vm.suspend";
      case VmAction::snapshot:
        return "vm.snapshot";
      case VmAction::restore:
        return "vm.restore";
      case VmAction::snapshot_remove:
        return "vm.snapshot_delete";
    }
    return "vm.unknown";
  }
  std::string operator()(const VmCreateWork&) const { return "vm.create"; }
  std::string operator()(const VmCloneWork&) const { return "vm.clone"; }
  std::string operator()(const CloneOutWork&) const { return "vm.clone_source"; }
  std::string operator()(const VmReconcile&) const { return "vm.reconcile"; }
  std::string operator()(const VmmExitedWork&) const { return "vm.vmm_exited"; }
};

struct OpIdOf {
  std::string operator()(const VmActionRequest& r) const { return r.env.op_id; }
  std::string operator()(const VmCreateWork& r) const { return r.env.op_id; }
  std::string operator()(const VmCloneWork& r) const { return r.env.op_id; }
  std::string operator()(const CloneOutWork& r) const { return r.request.env.op_id; }
  std::string operator()(const VmReconcile& r) const { return r.env.op_id; }
  std::string operator()(const VmmExitedWork&) const { return mint_op_id(); }
};

} // namespace

std::string op_name(const Request& request) {
  return std::visit(NameOf{}, request);
}

std::string op_id_of(const Request& request) {
  return std::visit(OpIdOf{}, request);
}

Queue::Queue(std::string subject, std::size_t bound, Hooks hooks)
  : subject_(std::move(subject)), bound_(bound), hooks_(std::move(hooks)) {}

Queue::~Queue() {
  if (!waiting_.empty())
    daemon_metrics().vm_queue.add({}, -static_cast<double>(waiting_.size()));
}

void Queue::refuse(Pending& pending, Errc code, const std::string& message) {
  if (pending.reply)
    pending.reply(make_error(code, message, op_id_of(pending.request)));
}

bool Queue::submit(Pending pending) {
  if (closed_) {
    refuse(pending, closed_->code, closed_->message);
    return false;
  }
  if (waiting_.size() >= bound_) {
    refuse(pending, Errc::busy,
           subject_ + " has " + std::to_string(waiting_.size())
             + " requests waiting; try again later");
    return false;
  }
  waiting_.push_back(std::move(pending));
  daemon_metrics().vm_queue.add({}, 1);
  next();
  return true;
}

void Queue::submit_always(Pending pending) {
  if (closed_)
    return;
  waiting_.push_back(std::move(pending));
  daemon_metrics().vm_queue.add({}, 1);
  next();
}

void Queue::close(Errc code, std::string message) {
  closed_ = Error{code, std::move(message)};
  auto waiting = std::move(waiting_);
  waiting_.clear();
  daemon_metrics().vm_queue.add({}, -static_cast<double>(waiting.size()));
  for (auto& p : waiting)
    refuse(p, closed_->code, closed_->message);
}

void Queue::next() {
  if (running_ || closed_ || waiting_.empty())
    return;
  auto pending = std::move(waiting_.front());
  waiting_.pop_front();
  daemon_metrics().vm_queue.add({}, -1);
  running_ = true;
  auto op_id = op_id_of(pending.request);
  // A guard, not a plain callback: a path that drops it still ends the
  // operation (actors/op_done.hpp), so the queue cannot stay busy.
  OpDone done(
    op_id, [this](std::optional<Error> error) { ended(std::move(error)); }, hooks_.defer,
    hooks_.owner);
  hooks_.start(std::move(pending), op_id, std::move(done));
}

void Queue::ended(std::optional<Error> error) {
  // Still running while the end runs: the end may close the queue (the VM
  // was deleted), and only then is the next request taken, or refused.
  hooks_.end(std::move(error));
  running_ = false;
  next();
}

} // namespace banger::vm
