// banger-load against a real banger-helper, bangerd and fc-stub: a short
// mixed run (lifecycle, churn and read units plus the show probe) must
// produce a JSON report without errors and leave no VM behind.
#include "tests/integration/helpers.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <sys/wait.h>

#include <csignal>
#include <fstream>
#include <set>

using namespace banger;
using namespace banger::test;
using namespace std::chrono_literals;

namespace {

struct Outcome {
  int exit_code = -1;
  std::string output;
};

Outcome run_load(const std::vector<std::string>& args) {
  std::vector<std::string> argv{BANGER_LOAD_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  auto child = Child::spawn(argv);
  Outcome out;
  while (auto line = child.read_line(120s))
    out.output += *line + "\n";
  auto status = child.wait(120s);
  if (status && WIFEXITED(*status))
    out.exit_code = WEXITSTATUS(*status);
  return out;
}

} // namespace

TEST_CASE("banger-load without a scenario is a usage error") {
  auto out = run_load({"--home", "/nonexistent", "--concurrency", "1", "--count", "1"});
  CHECK(out.exit_code == 2);
}

TEST_CASE("a short mixed load reports every operation without errors and cleans up") {
  BANGER_REQUIRE_ROOT();
  Running env;
  TempDir dir;
  auto json_path = dir.path() + "/report.json";
  auto out = run_load({"--home", env.host.home(), "--image", "tiny", "--scenario", "mixed",
                       "--concurrency", "4", "--vms", "4", "--mix", "lifecycle=1,churn=1,read=1", "--duration", "8s", "--ramp-up",
                       "500ms", "--show-probe", "50ms", "--seed", "3", "--json", json_path});
  INFO(out.output);
  CHECK(out.exit_code == 0);
  std::ifstream in(json_path);
  REQUIRE(in.good());
  auto report = nlohmann::json::parse(in);
  CHECK(report["scenario"] == "mixed");
  CHECK(report["errors"] == 0);
  CHECK(report["failed_units"] == 0);
  CHECK(report["units"].get<std::uint64_t>() > 0);
  CHECK(report["throughput"].get<double>() > 0);
  CHECK(report["cleanup"]["left_behind"] == 0);
  for (const char* op : {"vm.create", "vm.start", "vm.stop", "vm.delete", "probe.show"}) {
    CAPTURE(op);
    REQUIRE(report["operations"].contains(op));
    CHECK(report["operations"][op]["count"].get<std::uint64_t>() > 0);
    CHECK(report["operations"][op]["latency_us"]["p99"].get<std::uint64_t>() > 0);
  }
  auto vms = env.host.ask<VmList>(VmListRequest{});
  REQUIRE(vms.ok());
  CHECK(vms->vms.empty());
  CHECK(env.host.vmm_pids().empty());
}

namespace {

/// Second fields (VM ids) of the record's lines that start with `what`.
std::set<std::string> recorded(const std::string& path, const std::string& what) {
  std::set<std::string> out;
  std::ifstream in(path);
  std::string kind, id, rest;
  while (in >> kind >> id && std::getline(in, rest))
    if (kind == what)
      out.insert(id);
  return out;
}

} // namespace

TEST_CASE("a load with --reconnect goes on after its daemon is SIGKILLed and loses no VM") {
  BANGER_REQUIRE_ROOT();
  Running env;
  TempDir dir;
  auto record = dir.path() + "/record";
  auto json_path = dir.path() + "/report.json";
  auto load = Child::spawn({BANGER_LOAD_BIN, "--home", env.host.home(), "--image", "tiny",
                            "--scenario", "lifecycle", "--concurrency", "2", "--duration", "2m",
                            "--timeout", "20s", "--reconnect", "--keep", "--record", record,
                            "--json", json_path});
  REQUIRE(eventually([&] { return recorded(record, "created").size() >= 3; }, 20s));
  env.host.stop_daemon(SIGKILL);
  env.host.start_daemon();
  env.host.wait_ready();
  auto before = recorded(record, "created").size();
  // The same process creates VMs again through a new connection.
  CHECK(eventually([&] { return recorded(record, "created").size() >= before + 3; }, 30s));
  load.signal(SIGINT);
  auto status = load.wait(60s);
  REQUIRE(status);
  std::ifstream in(json_path);
  REQUIRE(in.good());
  auto report = nlohmann::json::parse(in);
  CHECK(report["reconnects"].get<std::uint64_t>() >= 1);
  CHECK(report["units"].get<std::uint64_t>() > 0);

  // Every acknowledged create is still listed unless the load sent its delete.
  auto vms = env.host.ask<VmList>(VmListRequest{});
  REQUIRE(vms.ok());
  std::set<std::string> listed;
  for (const auto& vm : vms->vms)
    listed.insert(vm.id);
  auto sent = recorded(record, "delete");
  for (const auto& id : recorded(record, "created")) {
    CAPTURE(id);
    CHECK((listed.count(id) == 1 || sent.count(id) == 1));
  }
  // An acknowledged delete is never undone.
  for (const auto& id : recorded(record, "deleted")) {
    CAPTURE(id);
    CHECK(listed.count(id) == 0);
  }
}
