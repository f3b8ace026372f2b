// Latencies in integer microseconds, log-linear buckets: exact below 64 µs,
// then 32 buckets per power of two (at most ~3% too high). Fixed memory, cheap
// to record and to merge, so every client actor keeps its own and the report
// merges them at the end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace banger::load {

class Histogram {
public:
  Histogram();

  void record(std::uint64_t us);
  void merge(const Histogram& other);

  std::uint64_t count() const { return count_; }
  std::uint64_t min() const { return count_ ? min_ : 0; }
  std::uint64_t max() const { return max_; }
  std::uint64_t mean() const { return count_ ? sum_ / count_ : 0; }

  /// The smallest bucket bound at or below which `fraction` (0..1] of the
  /// values fall, clamped to the maximum seen; 0 when empty.
  std::uint64_t quantile(double fraction) const;

  /// Bucket of a value, and the largest value that bucket holds.
  static std::size_t bucket_of(std::uint64_t us);
  static std::uint64_t bucket_upper(std::size_t bucket);

private:
  std::vector<std::uint64_t> counts_;
  std::uint64_t count_ = 0;
  std::uint64_t sum_ = 0;
  std::uint64_t min_ = 0;
  std::uint64_t max_ = 0;
};

} // namespace banger::load
