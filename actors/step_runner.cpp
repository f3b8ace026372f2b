#include "actors/step_runner.hpp"

namespace banger {

namespace {

struct Runner : std::enable_shared_from_this<Runner> {
  std::vector<Step> steps;
  StepHooks hooks;
  std::function<void(std::optional<StepFailure>)> finish;
  std::function<void(std::vector<UndoFailure>)> undo_finish;
  std::optional<StepFailure> failure;
  std::vector<UndoFailure> undo_failures;

  void next(std::size_t index) {
    if (index == steps.size()) {
      finish(std::nullopt);
      return;
    }
    auto& step = steps[index];
    if (hooks.on_stage)
      hooks.on_stage(step.name);
    auto self = shared_from_this();
    step.run([self, index](Status status) {
      if (status) {
        self->next(index + 1);
        return;
      }
      self->failure = StepFailure{self->steps[index].name, std::move(status).error(), {}};
      self->rollback(index); // steps [0, index) succeeded
    });
  }

  // Undoes steps [0, count) in reverse.
  void rollback(std::size_t count) {
    if (count == 0) {
      if (finish) {
        failure->undo_failures = std::move(undo_failures);
        finish(std::move(failure));
      } else if (undo_finish) {
        undo_finish(std::move(undo_failures));
      }
      return;
    }
    auto& step = steps[count - 1];
    if (!step.undo) {
      rollback(count - 1);
      return;
    }
    auto self = shared_from_this();
    step.undo([self, count](Status status) {
      if (!status) {
        const auto& name = self->steps[count - 1].name;
        if (self->hooks.on_undo_error)
          self->hooks.on_undo_error(name, status.error());
        self->undo_failures.push_back(UndoFailure{name, status.error()});
      }
      self->rollback(count - 1);
    });
  }
};

} // namespace

void run_steps(std::vector<Step> steps, StepHooks hooks,
               std::function<void(std::optional<StepFailure>)> finish) {
  auto runner = std::make_shared<Runner>();
  runner->steps = std::move(steps);
  runner->hooks = std::move(hooks);
  runner->finish = std::move(finish);
  runner->next(0);
}

void run_undo(std::vector<Step> steps, StepHooks hooks,
              std::function<void(std::vector<UndoFailure>)> finish) {
  auto runner = std::make_shared<Runner>();
  runner->steps = std::move(steps);
  runner->hooks = std::move(hooks);
  runner->undo_finish = std::move(finish);
  runner->rollback(runner->steps.size());
}

} // namespace banger
