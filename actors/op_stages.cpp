#include "actors/op_stages.hpp"

#include <algorithm>

namespace banger {

namespace {

void close_running(OperationStatus& status, std::int64_t now_us, bool ok) {
  auto& stages = status.stages;
  if (!stages.empty() && stages.back().duration_us < 0) {
    stages.back().duration_us = now_us - stages.back().started_at_us;
    stages.back().ok = ok;
  }
}

} // namespace

void enter_stage(OperationStatus& status, const std::string& name, std::int64_t now_us) {
  close_running(status, now_us, true);
  status.stages.push_back(StageRecord{name, now_us, -1, true});
  status.stage = name;
  status.stages_done = static_cast<std::uint32_t>(status.stages.size() - 1);
}

void end_status(OperationStatus& status, const std::optional<Error>& error, std::int64_t now_us) {
  close_running(status, now_us, !error);
  status.stages_done = static_cast<std::uint32_t>(status.stages.size());
  status.stages_total = status.stages_done; // known for sure only now
  status.finished_at_us = now_us;
  if (error) {
    status.outcome = OperationOutcome::failed;
    status.error_code = static_cast<std::uint8_t>(error->code);
    status.error_message = error->message;
  } else {
    status.outcome = OperationOutcome::succeeded;
  }
}

void continue_from(OperationStatus& status, const OperationStatus& earlier) {
  auto stages = earlier.stages;
  // The earlier actor's last stage ended when this one took over.
  for (auto& s : stages)
    if (s.duration_us < 0)
      s.duration_us = std::max<std::int64_t>(0, status.started_at_us - s.started_at_us);
  stages.insert(stages.end(), status.stages.begin(), status.stages.end());
  status.stages = std::move(stages);
  status.stages_done = static_cast<std::uint32_t>(
    status.stages.empty() ? 0 : status.stages.size() - (status.stages.back().duration_us < 0));
  if (earlier.started_at_us != 0)
    status.started_at_us = earlier.started_at_us;
}

} // namespace banger
