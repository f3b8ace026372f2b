// The CLI's side of a cluster, through the real binary where it is end to
// end (cluster ca, init of a cluster host, refused arguments) and through
// the output functions for what a running cluster answers (cluster status,
// a listing with hosts that did not answer).
#include "tests/cli/cli_run.hpp"
#include "tests/support/process.hpp"
#include "tools/cli/output.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <sys/stat.h>

#include <filesystem>

using namespace banger;
using namespace banger::cli;
using banger::test::run_banger;
namespace fs = std::filesystem;

namespace {

constexpr const char* two_hosts = "cluster.hosts=h1=10.77.0.1:7430,h2=10.77.0.2:7430";

mode_t mode_of(const fs::path& path) {
  struct stat st{};
  REQUIRE(::lstat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

ClusterStatus three_hosts() {
  ClusterStatus status;
  status.self = "h1";
  std::int64_t now = 1'000'000'000'000;
  status.hosts = {
    {"h1", "10.77.0.1:7430", "self", now - 600'000'000, 0, 3, 6, 14000, "0.15.0", 1},
    {"h2", "10.77.0.2:7430", "up", now - 5'000'000, 412, 1, 2, 3000, "0.15.0", 2},
    {"h3", "10.77.0.3:7430", "down", now - 90'000'000, 0, 0, 0, 0, "", 0},
  };
  return status;
}

VmRecord vm_on(std::string name, std::string host, VmState state) {
  VmRecord vm;
  vm.id = name == "a" ? "aaaaaaaa00000000" : "bbbbbbbb00000000";
  vm.name = std::move(name);
  vm.host = std::move(host);
  vm.runtime.state = state;
  return vm;
}

} // namespace

TEST_CASE("banger cluster ca makes the CA once and says what to run on each host") {
  test::TempDir tmp;
  auto dir = tmp.path() + "/ca";
  auto r = run_banger({"cluster", "ca", dir});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(mode_of(dir) == 0700);
  CHECK(mode_of(dir + "/ca.key") == 0600);
  CHECK(r.out.find("ca.key") != std::string::npos);
  CHECK(r.out.find("banger init --home HOME --cluster-ca " + dir + " --host-id ID --set "
                   "cluster.hosts=") != std::string::npos);

  auto again = run_banger({"cluster", "ca", dir});
  CHECK(again.exit_code == 1);
  CHECK(again.err.find("already holds a cluster CA") != std::string::npos);
  auto forced = run_banger({"-o", "json", "cluster", "ca", dir, "--force"});
  REQUIRE_MESSAGE(forced.exit_code == 0, forced.err);
  auto j = nlohmann::json::parse(forced.out);
  CHECK(j["dir"] == dir);
  CHECK(j["next"].size() == 1);
  bool replaced = false;
  for (const auto& e : j["entries"])
    replaced = replaced || (e["path"] == "ca.key" && e["action"] == "replaced");
  CHECK(replaced);
}

TEST_CASE("banger init --cluster-ca --host-id makes a cluster host with a host credential") {
  test::TempDir tmp;
  auto ca = tmp.path() + "/ca";
  REQUIRE(run_banger({"cluster", "ca", ca}).exit_code == 0);
  auto home = tmp.path() + "/h1";
  auto r = run_banger({"--home", home, "init", "--cluster-ca", ca, "--host-id", "h1", "--set",
                       two_hosts});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(r.out.find("tls/host.pem") != std::string::npos);
  CHECK(r.out.find("CN=banger-host:h1") != std::string::npos);
  CHECK(r.out.find("cluster status") != std::string::npos);
  CHECK(mode_of(home + "/tls/host.key") == 0600);
  CHECK_FALSE(fs::exists(home + "/tls/ca.key"));

  // Again without the CA: everything is kept.
  auto again = run_banger({"--home", home, "-o", "json", "init"});
  REQUIRE_MESSAGE(again.exit_code == 0, again.err);
  for (const auto& e : nlohmann::json::parse(again.out)["entries"])
    if (e["path"].get<std::string>().starts_with("tls/"))
      CHECK(e["action"] == "kept");
}

TEST_CASE("cluster arguments that cannot work exit 2 and name the problem") {
  test::TempDir tmp;
  struct Case {
    std::vector<std::string> args;
    std::string needle;
  };
  for (const auto& c : std::vector<Case>{
         {{"init", "--host-id", "h1", "--set", two_hosts}, "--host-id needs --cluster-ca DIR"},
         {{"init", "--cluster-ca", tmp.path()}, "--cluster-ca needs --host-id ID"},
         {{"init", "--cluster-ca", tmp.path(), "--host-id", "H_1"}, "'H_1'"},
         {{"cluster", "ca"}, "missing DIR"},
         {{"cluster", "status", "extra"}, "unexpected argument 'extra'"},
         {{"vm", "create", "--image", "x", "--host", "Not_A_Host"}, "invalid host id 'Not_A_Host'"},
       }) {
    CAPTURE(c.needle);
    std::vector<std::string> argv{"--home", tmp.path() + "/home"};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    auto r = run_banger(argv);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find(c.needle) != std::string::npos);
    CHECK(r.err.find("usage: banger") != std::string::npos);
  }
  CHECK_FALSE(fs::exists(tmp.path() + "/home"));
}

TEST_CASE("cluster status shows every host with this one marked and a never-seen host's figures as -") {
  auto uut = render_cluster_status(three_hosts(), 1'000'000'000'000);
  CHECK(uut.starts_with("HOST       ADDRESS         STATE  SINCE  RTT       VMS  CPUS-FREE  "
                        "MEM-FREE   VERSION\n"));
  CHECK(uut.find("h1 (self)  10.77.0.1:7430  self   10m    -         3    6          14000 MiB  "
                 "0.15.0\n") != std::string::npos);
  CHECK(uut.find("h2         10.77.0.2:7430  up     5s     0.412 ms  1    2          3000 MiB   "
                 "0.15.0\n") != std::string::npos);
  CHECK(uut.find("h3         10.77.0.3:7430  down   90s    -         -    -          -          "
                 "-\n") != std::string::npos);
}

TEST_CASE("cluster status JSON has exactly the documented fields") {
  auto uut = to_json(three_hosts());
  CHECK(uut["self"] == "h1");
  REQUIRE(uut["hosts"].size() == 3);
  auto h2 = uut["hosts"][1];
  std::vector<std::string> keys;
  for (const auto& [key, value] : h2.items())
    keys.push_back(key);
  std::sort(keys.begin(), keys.end());
  CHECK(keys == std::vector<std::string>{"address", "cpus_free", "id", "memory_free_mib",
                                         "rtt_us", "since_us", "state", "version", "vms"});
  CHECK(h2["state"] == "up");
  CHECK(h2["rtt_us"] == 412);
  CHECK(h2["memory_free_mib"] == 3000);
  CHECK(uut.size() == 2);
}

TEST_CASE("a cluster listing has a HOST column and ends with a warning naming hosts that did not answer") {
  VmList list;
  list.vms = {vm_on("a", "h1", VmState::running), vm_on("b", "h3", VmState::unknown)};
  list.unreachable = {"h3"};
  auto uut = render_vm_list(list, {}, now_us());
  CHECK(uut.starts_with("NAME  ID        HOST  STATE    IMAGE"));
  CHECK(uut.find("\nb     bbbbbbbb  h3    unknown  ") != std::string::npos);
  CHECK(uut.ends_with("\nwarning: h3 did not answer; its VMs show state unknown\n"));
  CHECK(unreachable_warning({"h3", "h4"}) ==
        "warning: h3, h4 did not answer; their VMs show state unknown\n");

  // Outside a cluster: no HOST column, no warning.
  list = {};
  list.vms = {vm_on("a", "", VmState::stopped)};
  auto local = render_vm_list(list, {}, now_us());
  CHECK(local.find("HOST") == std::string::npos);
  CHECK(local.find("warning") == std::string::npos);
}

TEST_CASE("a VM's host is in its JSON always and in vm show when it has one") {
  auto on_h2 = vm_on("a", "h2", VmState::running);
  CHECK(to_json(on_h2)["host"] == "h2");
  CHECK(render_vm(on_h2, {}).find("\nhost:  ") != std::string::npos);
  auto local = vm_on("a", "", VmState::running);
  CHECK(to_json(local)["host"] == "");
  CHECK(render_vm(local, {}).find("host:") == std::string::npos);
}
