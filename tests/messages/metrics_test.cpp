// The Prometheus text format as messages/metrics.hpp writes it: HELP and
// TYPE lines, labels escaped, histograms' cumulative buckets with +Inf,
// _sum and _count (checked against a real parser in tests/api's promtool
// run; here the exact text).
#include "messages/metrics.hpp"

#include <doctest/doctest.h>

#include <cmath>

using namespace banger::metrics;

TEST_CASE("a counter and a gauge render with their help, type and labels") {
  Family ops{"x_ops_total", Kind::counter, "Operations"};
  ops.add({{"kind", "vm.start"}, {"outcome", "succeeded"}});
  ops.add({{"kind", "vm.start"}, {"outcome", "succeeded"}}, 2);
  ops.add({{"kind", "vm\"odd\\\n"}, {"outcome", "failed"}});
  std::string out;
  ops.render(out);
  CHECK(out == "# HELP x_ops_total Operations\n"
               "# TYPE x_ops_total counter\n"
               "x_ops_total{kind=\"vm\\\"odd\\\\\\n\",outcome=\"failed\"} 1\n"
               "x_ops_total{kind=\"vm.start\",outcome=\"succeeded\"} 3\n");
  CHECK(ops.value({{"kind", "vm.start"}, {"outcome", "succeeded"}}) == 3);
  Family depth{"x_depth", Kind::gauge, "Depth"};
  depth.set({}, 4);
  depth.add({}, -1.5);
  out.clear();
  depth.render(out);
  CHECK(out == "# HELP x_depth Depth\n# TYPE x_depth gauge\nx_depth 2.5\n");
}

TEST_CASE("a histogram renders cumulative buckets, +Inf, sum and count") {
  Family h{"x_seconds", Kind::histogram, "Latency", {0.1, 1}};
  h.observe({}, 0.05);
  h.observe({}, 0.5);
  h.observe({}, 7);
  std::string out;
  h.render(out);
  CHECK(out == "# HELP x_seconds Latency\n# TYPE x_seconds histogram\n"
               "x_seconds_bucket{le=\"0.1\"} 1\n"
               "x_seconds_bucket{le=\"1\"} 2\n"
               "x_seconds_bucket{le=\"+Inf\"} 3\n"
               "x_seconds_sum 7.55\n"
               "x_seconds_count 3\n");
  CHECK(h.value({}) == 3);
}

TEST_CASE("values print as Prometheus parses them") {
  CHECK(format_value(0) == "0");
  CHECK(format_value(1e-4) == "0.0001");
  CHECK(format_value(123456789) == "123456789");
  CHECK(format_value(7.55) == "7.55");
  CHECK(format_value(1e-9) == "1e-09");
  CHECK(format_value(INFINITY) == "+Inf");
  CHECK(format_value(-INFINITY) == "-Inf");
  CHECK(format_value(NAN) == "NaN");
}
