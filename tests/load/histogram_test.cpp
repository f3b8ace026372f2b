#include "tools/load/histogram.hpp"
#include "tools/load/report.hpp"

#include <doctest/doctest.h>

using banger::load::Histogram;

TEST_CASE("a histogram is exact below 64 microseconds") {
  Histogram uut;
  for (std::uint64_t v = 1; v <= 50; ++v)
    uut.record(v);
  CHECK(uut.count() == 50);
  CHECK(uut.quantile(0.5) == 25);
  CHECK(uut.quantile(1.0) == 50);
  CHECK(uut.min() == 1);
  CHECK(uut.max() == 50);
}

TEST_CASE("a histogram's quantiles are at most about 3 percent high") {
  Histogram uut;
  for (std::uint64_t v = 1000; v < 2000000; v += 997)
    uut.record(v);
  for (double q : {0.5, 0.9, 0.99, 0.999}) {
    auto got = uut.quantile(q);
    auto rank = static_cast<std::uint64_t>(q * double(uut.count()));
    auto exact = 1000 + 997 * (rank == 0 ? 0 : rank - 1);
    CHECK(got >= exact);
    CHECK(double(got) <= double(exact) * 1.04 + 997);
  }
}

TEST_CASE("every value falls into a bucket whose upper bound holds it") {
  for (std::uint64_t v : {0ull, 1ull, 63ull, 64ull, 65ull, 127ull, 128ull, 1000ull, 123456789ull,
                          ~0ull >> 2}) {
    auto bucket = Histogram::bucket_of(v);
    CHECK(Histogram::bucket_upper(bucket) >= v);
    if (bucket > 0)
      CHECK(Histogram::bucket_upper(bucket - 1) < v);
  }
}

TEST_CASE("merged histograms answer like one that saw every value") {
  Histogram a, b, all;
  for (std::uint64_t v = 0; v < 1000; ++v) {
    (v % 2 ? a : b).record(v * 37);
    all.record(v * 37);
  }
  a.merge(b);
  CHECK(a.count() == all.count());
  CHECK(a.quantile(0.99) == all.quantile(0.99));
  CHECK(a.max() == all.max());
  CHECK(a.min() == all.min());
}

TEST_CASE("a report's JSON has the throughput of completed units and errors by code") {
  banger::load::Report report;
  report.scenario = "lifecycle";
  report.banger.seconds = 2.0;
  report.banger.stats.units = 10;
  report.banger.stats.op("vm.start").ok(1500);
  report.banger.stats.op("vm.start").failed(2500, "busy", "op-0123456789ab");
  auto j = banger::load::to_json(report);
  CHECK(j["throughput"].get<double>() == doctest::Approx(5.0));
  CHECK(j["errors"] == 1);
  CHECK(j["operations"]["vm.start"]["count"] == 2);
  CHECK(j["operations"]["vm.start"]["errors_by_code"]["busy"]["op_ids"][0] == "op-0123456789ab");
  CHECK(j["operations"]["vm.start"]["latency_us"]["max"] == 2500);
}
