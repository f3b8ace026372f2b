// When a run stops: after --count units in total, or once --duration has
// passed, or on SIGINT/SIGTERM. Shared by the client actors and the floor's
// threads; a unit that has begun always runs to its end.
#pragma once

#include "tools/load/options.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>

namespace banger::load {

using Clock = std::chrono::steady_clock;

class Gate {
public:
  explicit Gate(const Options& options) : count_(options.count), duration_(options.duration) {}

  /// Starts the clock (duration runs from here).
  void open() { deadline_ = Clock::now() + duration_.value_or(std::chrono::milliseconds{0}); }

  /// True when the caller may begin one more unit.
  bool take() {
    if (interrupted())
      return false;
    if (count_)
      return issued_.fetch_add(1, std::memory_order_relaxed) < *count_;
    return Clock::now() < deadline_;
  }

  /// True once take() can only say no (nothing is used up by asking).
  bool closed() const {
    if (interrupted())
      return true;
    if (count_)
      return issued_.load(std::memory_order_relaxed) >= *count_;
    return Clock::now() >= deadline_;
  }

  /// Set by the signal handler: no new units.
  static void interrupt() { interrupted_flag().store(true); }
  static bool interrupted() { return interrupted_flag().load(std::memory_order_relaxed); }

private:
  static std::atomic<bool>& interrupted_flag() {
    static std::atomic<bool> flag{false};
    return flag;
  }

  std::optional<std::uint64_t> count_;
  std::optional<std::chrono::milliseconds> duration_;
  std::atomic<std::uint64_t> issued_{0};
  Clock::time_point deadline_{};
};

inline std::uint64_t micros_since(Clock::time_point t0) {
  return static_cast<std::uint64_t>(
    std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count());
}

} // namespace banger::load
