// GET /metrics: checked by Debian's promtool, and scraped by a real
// Prometheus server (with the client certificate, as docs/api.md's scrape
// job) that then answers queries for banger's series. Root only (the
// daemon's helper); skipped otherwise, or without the prometheus package.
#include "tests/api/api_client.hpp"
#include "tests/cli/cli_run.hpp"
#include "tests/support/ports.hpp"
#include "tests/support/skip.hpp"

#include <doctest/doctest.h>

#include <fstream>

using namespace banger;
using namespace banger::test;
using namespace std::chrono_literals;

namespace {

/// The value of the first sample of `series` (name and labels as printed).
std::optional<double> sample(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(series + " ", 0) == 0)
      return std::stod(line.substr(series.size() + 1));
  return std::nullopt;
}

/// A lifecycle, so every family has samples.
void lifecycle(ApiHost& api) {
  api.host().add_image("tiny");
  REQUIRE(api.call("POST", "/v1/vms", R"({"name": "m1", "image": "tiny", "start": true})").status == 201);
  REQUIRE(api.call("POST", "/v1/vms/m1/stop").status == 200);
  REQUIRE(api.call("POST", "/v1/vms/m1/start").status == 200);
}

} // namespace

TEST_CASE("GET /metrics passes promtool and counts what happened") {
  BANGER_REQUIRE_ROOT();
  if (!have_program("curl") || !have_program("promtool"))
    BANGER_SKIP("curl or promtool (Debian's prometheus package) is not installed");
  ApiHost api;
  api.start();
  lifecycle(api);
  auto page = api.get("/metrics");
  REQUIRE(page.status == 200);
  CHECK(page.header("Content-Type").rfind("text/plain; version=0.0.4", 0) == 0);
  auto file = api.host().path("metrics.txt");
  std::ofstream(file) << page.body;
  auto lint = run({"sh", "-c", "promtool check metrics < \"$0\"", file});
  CHECK_MESSAGE(lint.exit_code == 0, lint.out << lint.err);
  CHECK_MESSAGE(lint.out.empty(), lint.out); // no lint findings either

  auto& text = page.body;
  CHECK(sample(text, R"(banger_operations_total{kind="vm.create",outcome="succeeded"})") == 1.0);
  CHECK(sample(text, R"(banger_operations_total{kind="vm.stop",outcome="succeeded"})") == 1.0);
  CHECK(sample(text, R"(banger_operation_duration_seconds_count{kind="vm.start"})") == 1.0);
  CHECK(sample(text, R"(banger_vms{state="running"})") == 1.0);
  CHECK(sample(text, R"(banger_vms{state="stopped"})") == 0.0);
  CHECK(sample(text, R"(banger_helper_request_duration_seconds_count{method="vmm.launch"})") == 2.0);
  CHECK(sample(text, "banger_store_commit_duration_seconds_count").value_or(0) >= 1);
  CHECK(sample(text, "banger_vm_queue_depth") == 0.0);
  auto vm = api.get("/v1/vms/m1").json();
  auto labels = "{vm=\"" + vm["id"].get<std::string>() + "\",name=\"m1\"}";
  CHECK(sample(text, "banger_vmm_resident_memory_bytes" + labels).value_or(0) > 0);
  CHECK(sample(text, "banger_vmm_cpu_seconds_total" + labels).has_value());
  CHECK(sample(text, "process_resident_memory_bytes").value_or(0) > 1e6);
  CHECK(sample(text, "process_open_fds").value_or(0) > 5);
  CHECK(sample(text, R"(banger_api_requests_total{method="POST",code="201"})") == 1.0);
}

TEST_CASE("a real Prometheus server scrapes the daemon with the client certificate") {
  BANGER_REQUIRE_ROOT();
  if (!have_program("curl") || !std::filesystem::exists("/usr/bin/prometheus"))
    BANGER_SKIP("curl or prometheus (Debian's prometheus package) is not installed");
  ApiHost api;
  api.start();
  lifecycle(api);
  auto dir = api.host().path("prometheus");
  std::filesystem::create_directories(dir + "/data");
  std::ofstream(dir + "/prometheus.yml")
    << "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
    << "scrape_configs:\n  - job_name: banger\n    scheme: https\n    tls_config:\n"
    << "      ca_file: " << api.ca() << "\n      cert_file: " << api.cert() << "\n"
    << "      key_file: " << api.key() << "\n"
    << "    static_configs:\n      - targets: [\"127.0.0.1:" << api.port() << "\"]\n";
  auto port = free_port();
  auto server = Child::spawn({"/usr/bin/prometheus", "--config.file=" + dir + "/prometheus.yml",
                              "--storage.tsdb.path=" + dir + "/data",
                              "--web.listen-address=127.0.0.1:" + std::to_string(port)},
                             {}, dir + "/prometheus.log");
  auto query = [&](const std::string& promql) {
    auto r = run({"curl", "-sS", "--max-time", "5", "--get", "--data-urlencode", "query=" + promql,
                  "http://127.0.0.1:" + std::to_string(port) + "/api/v1/query"});
    return nlohmann::json::parse(r.out, nullptr, false);
  };
  auto value_of = [&](const std::string& promql) -> std::optional<double> {
    auto j = query(promql);
    if (!j.is_object() || j["status"] != "success" || j["data"]["result"].empty())
      return std::nullopt;
    return std::stod(j["data"]["result"][0]["value"][1].get<std::string>());
  };
  // It scraped (up == 1) and has banger's series.
  CHECK_MESSAGE(eventually([&] { return value_of(R"(up{job="banger"})") == 1.0; }, 30s, 200ms),
                read_file(dir + "/prometheus.log"));
  CHECK(value_of(R"(banger_vms{state="running"})") == 1.0);
  CHECK(value_of(R"(banger_operations_total{kind="vm.create",outcome="succeeded"})") == 1.0);
  CHECK(value_of(R"(sum(banger_helper_request_duration_seconds_count))").value_or(0) >= 4);
  // A change shows at the next scrape.
  REQUIRE(api.call("POST", "/v1/vms/m1/stop").status == 200);
  CHECK(eventually([&] { return value_of(R"(banger_vms{state="stopped"})") == 1.0; }, 30s, 200ms));
}
