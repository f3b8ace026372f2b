// banger-load's report in cluster mode: latency per entry host, per route
// (entered at the VM's own host or another) and the errors on each side of
// a fault; and nothing of it in a single-host report.
#include "tools/load/report.hpp"

#include <doctest/doctest.h>

using namespace banger::load;

namespace {

Report cluster_report() {
  Report report;
  report.scenario = "read";
  report.daemons = {"127.0.0.1:7420", "127.0.0.1:7421"};
  report.cluster = true;
  report.entry_hosts = {"h1", "h2"};
  report.entry_policy = "worker";
  report.placement = {"h2"};
  report.cross_host_share = 0.5;
  report.banger.seconds = 1.0;
  return report;
}

} // namespace

TEST_CASE("a single-host report has no cluster sections") {
  Report report;
  report.scenario = "lifecycle";
  report.banger.stats.op("vm.create").ok(100);
  auto j = to_json(report);
  CHECK_FALSE(j.contains("cluster"));
  CHECK_FALSE(j.contains("entries"));
  CHECK_FALSE(j.contains("routes"));
  CHECK_FALSE(j.contains("fault"));
  CHECK(to_text(report).find("entry host") == std::string::npos);
}

TEST_CASE("a cluster report has latencies by entry host and local versus cross-host by operation") {
  auto report = cluster_report();
  Stats a, b;
  a.by_entry["h1"].latency.record(900);
  a.by_entry["h1"].errors = 1;
  b.by_entry["h1"].latency.record(1100);
  b.by_entry["h2"].latency.record(300);
  a.by_route[Route::local]["vm.show"].record(300);
  b.by_route[Route::cross]["vm.show"].record(1100);
  b.by_route[Route::cross]["vm.show"].record(900);
  report.banger.stats.merge(a);
  report.banger.stats.merge(b);
  auto j = to_json(report);
  CHECK(j["cluster"]["entries"][1]["host"] == "h2");
  CHECK(j["cluster"]["entries"][1]["address"] == "127.0.0.1:7421");
  CHECK(j["cluster"]["entry_policy"] == "worker");
  CHECK(j["cluster"]["placement"][0] == "h2");
  CHECK(j["cluster"]["cross_host_share"].get<double>() == doctest::Approx(0.5));
  CHECK(j["entries"]["h1"]["count"] == 2);
  CHECK(j["entries"]["h1"]["errors"] == 1);
  CHECK(j["entries"]["h2"]["latency_us"]["max"] == 300);
  CHECK(j["routes"]["local"]["vm.show"]["count"] == 1);
  CHECK(j["routes"]["cross"]["vm.show"]["count"] == 2);
  CHECK(j["routes"]["cross"]["vm.show"]["latency_us"]["max"] == 1100);
  auto text = to_text(report);
  CHECK(text.find("by entry host") != std::string::npos);
  CHECK(text.find("entered at another host than the VM's") != std::string::npos);
}

TEST_CASE("a cluster report without a cross-host share says null, and routes are always there") {
  auto report = cluster_report();
  report.cross_host_share.reset();
  auto j = to_json(report);
  CHECK(j["cluster"]["cross_host_share"].is_null());
  CHECK(j["routes"]["local"].is_object());
  CHECK(j["routes"]["cross"].is_object());
}

TEST_CASE("a fault's report counts the errors before and after it, and when they came") {
  auto report = cluster_report();
  report.fault = FaultReport{"kill", "h2", "kill -9 1234", 5.02, true, 0};
  Stats a, b;
  a.phases[0].ops = 100;
  a.phases[1].ops = 40;
  a.phases[1].errors = 3;
  a.phases[1].errors_by_code["daemon_unreachable"] = 3;
  a.phases[1].first_error_us = 1500;
  a.phases[1].last_error_us = 2000;
  b.phases[1].ops = 10;
  b.phases[1].errors = 2;
  b.phases[1].errors_by_code["host_unavailable"] = 2;
  b.phases[1].first_error_us = 800;
  b.phases[1].last_error_us = 900'000;
  report.banger.stats.merge(a);
  report.banger.stats.merge(b);
  auto j = to_json(report);
  REQUIRE(j.contains("fault"));
  CHECK(j["fault"]["action"] == "kill");
  CHECK(j["fault"]["host"] == "h2");
  CHECK(j["fault"]["ran"] == true);
  CHECK(j["fault"]["at_s"].get<double>() == doctest::Approx(5.02));
  CHECK(j["fault"]["before"]["ops"] == 100);
  CHECK(j["fault"]["before"]["errors"] == 0);
  CHECK_FALSE(j["fault"]["before"].contains("first_error_after_ms"));
  CHECK(j["fault"]["after"]["ops"] == 50);
  CHECK(j["fault"]["after"]["errors"] == 5);
  CHECK(j["fault"]["after"]["errors_by_code"]["daemon_unreachable"] == 3);
  CHECK(j["fault"]["after"]["errors_by_code"]["host_unavailable"] == 2);
  CHECK(j["fault"]["after"]["first_error_after_ms"].get<double>() == doctest::Approx(0.8));
  CHECK(j["fault"]["after"]["last_error_after_ms"].get<double>() == doctest::Approx(900.0));
  CHECK(to_text(report).find("fault: kill h2 at 5.02 s") != std::string::npos);
}

TEST_CASE("a fault that never ran is reported as such") {
  auto report = cluster_report();
  report.fault = FaultReport{"stop", "h1", "true"};
  auto j = to_json(report);
  CHECK(j["fault"]["ran"] == false);
  CHECK(to_text(report).find("did not run") != std::string::npos);
}
