#include "actors/op_done.hpp"

#include "messages/log.hpp"

namespace banger {

namespace {
/// The guard belongs to the VM queue: its lines are the VM actor's.
constexpr log::Logger log_{"vm"};
} // namespace

struct OpDone::Shared {
  std::string op_id;
  Finish finish;
  Defer defer;
  std::weak_ptr<const void> owner;
  bool called = false;

  ~Shared() {
    if (called || owner.expired())
      return;
    log_.error("operation dropped without a reply; ending it", {{"op_id", op_id}});
    defer([finish = std::move(finish)] {
      finish(Error{Errc::internal, dropped_operation_message});
    });
  }
};

OpDone::OpDone(std::string op_id, Finish finish, Defer defer, std::weak_ptr<const void> owner)
  : shared_(std::make_shared<Shared>()) {
  shared_->op_id = std::move(op_id);
  shared_->finish = std::move(finish);
  shared_->defer = std::move(defer);
  shared_->owner = std::move(owner);
}

void OpDone::operator()(std::optional<Error> error) const {
  if (shared_->called) {
    log_.error("operation completed twice; the second outcome is ignored",
               {{"op_id", shared_->op_id},
                {"error", error ? error->message : std::string("none")}});
    return;
  }
  shared_->called = true;
  // Moved out first: finishing may drop the last reference to this guard.
  auto finish = std::move(shared_->finish);
  finish(std::move(error));
}

bool OpDone::called() const {
  return shared_->called;
}

} // namespace banger
