// The step runner (actors/step_runner.hpp): steps run in order, a failure
// undoes what succeeded in reverse before it is reported, and a failing undo
// neither stops the rollback nor goes unreported. Steps here complete at
// once, so the trace is exact.
#include "actors/step_runner.hpp"

#include <doctest/doctest.h>

#include <optional>
#include <set>
#include <string>
#include <vector>

using namespace banger;

namespace {

/// Steps named `names`; `fail_run` fail when run, `fail_undo` when undone.
struct Plan {
  std::vector<std::string> trace;
  std::set<std::string> fail_run;
  std::set<std::string> fail_undo;

  std::vector<Step> steps(const std::vector<std::string>& names) {
    std::vector<Step> out;
    for (const auto& name : names)
      out.push_back(Step{
        name,
        [this, name](StepDone done) {
          trace.push_back("run " + name);
          done(fail_run.count(name) ? Status{Error{Errc::vmm_failed, name + " broke"}} : Status{});
        },
        [this, name](StepDone done) {
          trace.push_back("undo " + name);
          done(fail_undo.count(name) ? Status{Error{Errc::system, name + " stuck"}} : Status{});
        }});
    return out;
  }
};

} // namespace

TEST_CASE("steps run in order and success undoes nothing") {
  Plan plan;
  std::vector<std::string> stages;
  StepHooks hooks;
  hooks.on_stage = [&](const std::string& step) { stages.push_back(step); };
  bool finished = false;
  run_steps(plan.steps({"a", "b", "c"}), hooks, [&](std::optional<StepFailure> failure) {
    finished = true;
    CHECK_FALSE(failure);
  });
  CHECK(finished);
  CHECK(plan.trace == std::vector<std::string>{"run a", "run b", "run c"});
  CHECK(stages == std::vector<std::string>{"a", "b", "c"});
}

TEST_CASE("a failed step undoes the steps before it, last first, then reports") {
  Plan plan;
  plan.fail_run = {"c"};
  std::optional<StepFailure> failure;
  run_steps(plan.steps({"a", "b", "c", "d"}), {},
            [&](std::optional<StepFailure> f) { failure = std::move(f); });
  CHECK(plan.trace
        == std::vector<std::string>{"run a", "run b", "run c", "undo b", "undo a"});
  REQUIRE(failure);
  CHECK(failure->step == "c");
  CHECK(failure->error.code == Errc::vmm_failed);
  CHECK(failure->error.message == "c broke");
  CHECK(failure->undo_failures.empty());
}

TEST_CASE("a failed undo is reported and the rollback goes on") {
  Plan plan;
  plan.fail_run = {"c"};
  plan.fail_undo = {"b"};
  std::vector<std::string> hooked;
  StepHooks hooks;
  hooks.on_undo_error = [&](const std::string& step, const Error& e) {
    hooked.push_back(step + ": " + e.message);
  };
  std::optional<StepFailure> failure;
  run_steps(plan.steps({"a", "b", "c"}), hooks,
            [&](std::optional<StepFailure> f) { failure = std::move(f); });
  CHECK(plan.trace == std::vector<std::string>{"run a", "run b", "run c", "undo b", "undo a"});
  CHECK(hooked == std::vector<std::string>{"b: b stuck"});
  REQUIRE(failure);
  CHECK(failure->step == "c");
  REQUIRE(failure->undo_failures.size() == 1);
  CHECK(failure->undo_failures[0].step == "b");
  CHECK(failure->undo_failures[0].error.code == Errc::system);
}

TEST_CASE("a teardown runs every undo, last to first, and names those that failed") {
  Plan plan;
  plan.fail_undo = {"c", "a"};
  std::optional<std::vector<UndoFailure>> failures;
  auto steps = plan.steps({"a", "b", "c"});
  steps[1].undo = nullptr; // a step with nothing to undo is skipped
  run_undo(std::move(steps), {}, [&](std::vector<UndoFailure> f) { failures = std::move(f); });
  CHECK(plan.trace == std::vector<std::string>{"undo c", "undo a"});
  REQUIRE(failures);
  REQUIRE(failures->size() == 2);
  CHECK((*failures)[0].step == "c"); // last step first
  CHECK((*failures)[1].step == "a");
}
