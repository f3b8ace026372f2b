#include "messages/records.hpp"

#include <array>
#include <chrono>
#include <utility>

namespace banger {

namespace {

template <class Enum, std::size_t N>
std::string_view name_of(const std::array<std::pair<Enum, std::string_view>, N>& table,
                         Enum value) {
  for (const auto& [e, name] : table)
    if (e == value)
      return name;
  return "unknown";
}

template <class Enum, std::size_t N>
std::optional<Enum> value_of(const std::array<std::pair<Enum, std::string_view>, N>& table,
                             std::string_view name) {
  for (const auto& [e, n] : table)
    if (n == name)
      return e;
  return std::nullopt;
}

constexpr std::array<std::pair<VmState, std::string_view>, 9> vm_states{{
  {VmState::created, "created"},
  {VmState::starting, "starting"},
  {VmState::running, "running"},
  {VmState::stopping, "stopping"},
  {VmState::stopped, "stopped"},
  {VmState::error, "error"},
  {VmState::unknown, "unknown"},
  {VmState::paused, "paused"},
  {VmState::suspended, "suspended"},
}};

constexpr std::array<std::pair<StopRung, std::string_view>, 5> stop_rungs{{
  {StopRung::none, ""},
  {StopRung::graceful, "graceful"},
  {StopRung::timeout, "timeout"},
  {StopRung::signal, "signal"},
  {StopRung::guest, "guest"},
}};

constexpr std::array<std::pair<OperationOutcome, std::string_view>, 3> outcomes{{
  {OperationOutcome::running, "running"},
  {OperationOutcome::succeeded, "succeeded"},
  {OperationOutcome::failed, "failed"},
}};

} // namespace

std::string_view to_string(VmState state) { return name_of(vm_states, state); }
std::optional<VmState> vm_state_from_string(std::string_view name) {
  return value_of(vm_states, name);
}

std::string_view to_string(StopRung rung) { return name_of(stop_rungs, rung); }
std::optional<StopRung> stop_rung_from_string(std::string_view name) {
  return value_of(stop_rungs, name);
}

std::string_view to_string(OperationOutcome outcome) {
  return name_of(outcomes, outcome);
}
std::optional<OperationOutcome> outcome_from_string(std::string_view name) {
  return value_of(outcomes, name);
}

std::int64_t now_us() {
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch())
    .count();
}

} // namespace banger
