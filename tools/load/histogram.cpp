#include "tools/load/histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace banger::load {

namespace {

constexpr std::size_t linear = 64;     // exact buckets 0..63
constexpr std::size_t sub_buckets = 32; // per power of two from 64 on
constexpr int first_exponent = 6;       // 2^6 = 64
constexpr int last_exponent = 62;
constexpr std::size_t bucket_count =
  linear + static_cast<std::size_t>(last_exponent - first_exponent + 1) * sub_buckets;

} // namespace

Histogram::Histogram() : counts_(bucket_count, 0) {}

std::size_t Histogram::bucket_of(std::uint64_t us) {
  if (us < linear)
    return static_cast<std::size_t>(us);
  int exponent = std::min(63 - std::countl_zero(us), last_exponent);
  auto top = static_cast<std::size_t>(us >> (exponent - 5)); // 32..63
  top = std::min<std::size_t>(top, 2 * sub_buckets - 1);
  return linear + static_cast<std::size_t>(exponent - first_exponent) * sub_buckets
         + (top - sub_buckets);
}

std::uint64_t Histogram::bucket_upper(std::size_t bucket) {
  if (bucket < linear)
    return bucket;
  auto exponent = static_cast<int>((bucket - linear) / sub_buckets) + first_exponent;
  auto sub = (bucket - linear) % sub_buckets;
  std::uint64_t width = std::uint64_t{1} << (exponent - 5);
  return (sub_buckets + sub) * width + width - 1;
}

void Histogram::record(std::uint64_t us) {
  ++counts_[bucket_of(us)];
  min_ = count_ == 0 ? us : std::min(min_, us);
  max_ = std::max(max_, us);
  ++count_;
  sum_ += us;
}

void Histogram::merge(const Histogram& other) {
  if (other.count_ == 0)
    return;
  for (std::size_t i = 0; i < counts_.size(); ++i)
    counts_[i] += other.counts_[i];
  min_ = count_ == 0 ? other.min_ : std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  count_ += other.count_;
  sum_ += other.sum_;
}

std::uint64_t Histogram::quantile(double fraction) const {
  if (count_ == 0)
    return 0;
  auto rank = static_cast<std::uint64_t>(std::ceil(fraction * static_cast<double>(count_)));
  rank = std::clamp<std::uint64_t>(rank, 1, count_);
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank)
      return std::min(bucket_upper(i), max_);
  }
  return max_;
}

} // namespace banger::load
