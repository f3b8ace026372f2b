// Metric families and the Prometheus text exposition format (version 0.0.4,
// https://prometheus.io/docs/instrumenting/exposition_formats/), CAF-free.
//
// Why by hand: Debian 12 packages no Prometheus client library for C++
// (prometheus-cpp is not in bookworm), and what banger needs is small:
// counters, gauges and histograms with labels, rendered as text. A family
// is thread-safe (one mutex; an update is a map lookup and an add), so any
// actor or thread updates it directly, without a message.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace banger::metrics {

/// Label names and values, in the order they are rendered.
using Labels = std::vector<std::pair<std::string, std::string>>;

enum class Kind { counter, gauge, histogram };

/// Histogram bucket bounds for latencies in seconds: 100 us to 60 s.
std::vector<double> latency_buckets();

/// One metric family: a name, its help, and a series per label set.
class Family {
public:
  /// `buckets`: a histogram's upper bounds, ascending (+Inf is implicit).
  Family(std::string name, Kind kind, std::string help, std::vector<double> buckets = {});

  /// Counter or gauge: adds `by` (a counter only ever grows: by >= 0).
  void add(const Labels& labels = {}, double by = 1);
  /// Gauge: sets the value.
  void set(const Labels& labels, double value);
  /// Histogram: counts one observation.
  void observe(const Labels& labels, double value);
  /// Removes the series (a gauge of something that is gone).
  void remove(const Labels& labels);
  /// Its value (counter, gauge) or count (histogram); 0 if absent. For tests.
  double value(const Labels& labels = {}) const;

  /// # HELP, # TYPE, then every series, appended to `out`.
  void render(std::string& out) const;

  const std::string& name() const { return name_; }

private:
  struct Series {
    double value = 0;                 ///< counter/gauge value, histogram sum
    std::uint64_t count = 0;          ///< histogram
    std::vector<std::uint64_t> hits;  ///< histogram, per bucket (not cumulative)
  };
  std::string name_;
  Kind kind_;
  std::string help_;
  std::vector<double> buckets_;
  mutable std::mutex mu_;
  std::map<Labels, Series> series_;
};

/// A value computed when scraped (a process's CPU time, a VM's RSS).
struct Sample {
  Labels labels;
  double value = 0;
};

/// A family of scrape-time samples in the exposition format.
void render(std::string& out, std::string_view name, Kind kind, std::string_view help,
            const std::vector<Sample>& samples);

/// A label value escaped for the exposition format (\\, \", \n).
std::string escape_label(std::string_view value);
/// A sample value as Prometheus parses it: shortest round-trip form,
/// "+Inf", "-Inf", "NaN".
std::string format_value(double value);

} // namespace banger::metrics
