// The continuation of a VM operation, as a guard. A VM actor runs one
// operation at a time and takes the next only when the running one ends; an
// operation that forgot its continuation on some path (an unmatched enum
// value, a dropped reply handler) would leave the queue busy forever. An
// OpDone cannot be forgotten that way: when its last copy goes away without
// having been called, the operation is ended anyway, with Errc::internal
// "operation ended without a reply", and the error is logged.
#pragma once

#include "messages/result.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace banger {

class OpDone {
public:
  using Finish = std::function<void(std::optional<Error>)>;
  /// Gets the clean-up of a dropped operation, to run it later: the guard
  /// fires inside a destructor, anywhere, and ending an operation starts the
  /// next one, which must not happen in the middle of someone else's code.
  using Defer = std::function<void(std::function<void()>)>;

  /// `finish` ends the operation; `owner` is the state it runs in: once that
  /// is gone (the actor exited) a dropped operation is left alone.
  OpDone(std::string op_id, Finish finish, Defer defer, std::weak_ptr<const void> owner);

  /// Ends the operation with `error` (none: success). Copies share one
  /// completion: the first call counts, later ones are logged and ignored.
  void operator()(std::optional<Error> error) const;

  /// True once any copy has been called.
  bool called() const;

private:
  struct Shared;
  std::shared_ptr<Shared> shared_;
};

/// The message a dropped operation ends with.
inline constexpr const char* dropped_operation_message = "operation ended without a reply";

} // namespace banger
