// Steps as data: a named run and an optional undo, both asynchronous. One
// runner drives them: in order, and on the first failure it undoes every step
// that succeeded, in reverse, before reporting. Cleanup after a stop runs the
// same undo functions (run_undo), so there is one copy of the teardown.
#pragma once

#include "messages/result.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace banger {

using StepDone = std::function<void(Status)>;

struct Step {
  std::string name;
  std::function<void(StepDone)> run;
  std::function<void(StepDone)> undo; ///< empty: nothing to undo
};

/// An undo that failed: what it was to take back is still there.
struct UndoFailure {
  std::string step;
  Error error;
};

struct StepFailure {
  std::string step;
  Error error;
  /// Undos of the rollback that failed, last step first.
  std::vector<UndoFailure> undo_failures;
};

struct StepHooks {
  /// Called before each step runs ("stage").
  std::function<void(const std::string& step)> on_stage;
  /// Called when an undo fails; the rollback continues regardless, and the
  /// failure is also reported to the caller.
  std::function<void(const std::string& step, const Error&)> on_undo_error;
};

/// Runs `steps`; `finish` gets nullopt on success, else the failed step and
/// its error (and any undo that failed) after the rollback completed.
void run_steps(std::vector<Step> steps, StepHooks hooks,
               std::function<void(std::optional<StepFailure>)> finish);

/// Runs the undo of every step, last to first; a failed undo does not stop
/// the others. `finish` gets the undos that failed (empty: all done).
void run_undo(std::vector<Step> steps, StepHooks hooks,
              std::function<void(std::vector<UndoFailure>)> finish);

} // namespace banger
