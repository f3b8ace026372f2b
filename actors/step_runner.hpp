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

struct StepFailure {
  std::string step;
  Error error;
};

struct StepHooks {
  /// Called before each step runs ("stage").
  std::function<void(const std::string& step)> on_stage;
  /// Called when an undo fails; the rollback continues regardless.
  std::function<void(const std::string& step, const Error&)> on_undo_error;
};

/// Runs `steps`; `finish` gets nullopt on success, else the failed step and
/// its error after the rollback completed.
void run_steps(std::vector<Step> steps, StepHooks hooks,
               std::function<void(std::optional<StepFailure>)> finish);

/// Runs the undo of every step, last to first, ignoring failures except for
/// reporting them through hooks.on_undo_error; `finish` is called at the end.
void run_undo(std::vector<Step> steps, StepHooks hooks, std::function<void()> finish);

} // namespace banger
