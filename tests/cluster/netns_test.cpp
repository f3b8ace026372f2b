// Five standalone banger hosts, each in a network namespace of its own on
// one private switch (tests/cluster/netns_cluster.hpp): what each host
// serves, that hosts do not see each other's VMs or outages, that no port
// on any host serves plain BASP or certificate-less TLS, and that the
// fixture leaves nothing behind. The cases share one cluster, made on first
// use; a case that kills a daemon or cuts a link puts it back before it
// ends. The last case makes a cluster-mode fixture and checks the hosts
// find each other. Needs root; skipped otherwise.
#include "tests/cluster/netns_cluster.hpp"
#include "tests/cluster/netns_links.hpp"
#include "tests/cluster/port_probe.hpp"
#include "tests/support/skip.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

using namespace banger::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

constexpr int host_count = 5;

using Clock = std::chrono::steady_clock;

long ms_since(Clock::time_point start) {
  return static_cast<long>(
    std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count());
}

/// The cluster the cases share, with the tiny image on every host and one
/// running VM "vm-h<i>" made on each host i; nullptr (and the case skipped)
/// where namespaces cannot be made.
NetnsCluster* shared_cluster() {
  static std::unique_ptr<NetnsCluster> cluster;
  static std::optional<std::string> why_not = NetnsCluster::unavailable();
  if (why_not) {
    skip(*why_not);
    return nullptr;
  }
  if (!cluster) {
    auto start = Clock::now();
    cluster = std::make_unique<NetnsCluster>(NetnsClusterOptions{.hosts = host_count});
    MESSAGE(host_count << " hosts up in " << ms_since(start) << " ms");
    start = Clock::now();
    auto created = cluster->on_every_host([&](int i) {
      cluster->add_image(i);
      return cluster->cli(i, {"vm", "create", "--image", "tiny", "--name",
                              "vm-" + cluster->host_id(i), "--start"});
    });
    for (int i = 1; i <= host_count; ++i)
      REQUIRE_MESSAGE(created[static_cast<std::size_t>(i - 1)].exit_code == 0,
                      cluster->host_id(i) << ": " << created[static_cast<std::size_t>(i - 1)].err);
    MESSAGE("an image and a running VM on every host in " << ms_since(start) << " ms");
  }
  return cluster.get();
}

json json_of(const CliResult& r) {
  INFO("exit " << r.exit_code << ", stderr: " << r.err);
  auto parsed = json::parse(r.out, nullptr, false);
  REQUIRE_FALSE(parsed.is_discarded());
  return parsed;
}

/// vm ls -o json of host i: the names, in order.
std::vector<std::string> vm_names(NetnsCluster& cluster, int i) {
  auto listed = json_of(cluster.cli(i, {"-o", "json", "vm", "ls"}));
  std::vector<std::string> names;
  for (const auto& vm : listed["vms"])
    names.push_back(vm["name"]);
  return names;
}

bool serves(NetnsCluster& cluster, int i) {
  return cluster.cli(i, {"daemon", "status"}, 10s).exit_code == 0;
}

} // namespace

TEST_CASE("every host's daemon serves its own CLI, and a VM is listed only on the host that made it") {
  auto* cluster = shared_cluster();
  if (!cluster)
    return;
  auto listed = cluster->on_every_host([&](int i) { return vm_names(*cluster, i); });
  for (int i = 1; i <= host_count; ++i) {
    INFO("host " << cluster->host_id(i));
    CHECK(listed[static_cast<std::size_t>(i - 1)]
          == std::vector<std::string>{"vm-" + cluster->host_id(i)});
  }
  // Shown where it lives, unknown everywhere else.
  auto shown = cluster->on_every_host([&](int i) {
    std::vector<int> codes;
    for (int j = 1; j <= host_count; ++j)
      codes.push_back(cluster->cli(i, {"vm", "show", "vm-" + cluster->host_id(j)}).exit_code);
    return codes;
  });
  for (int i = 1; i <= host_count; ++i)
    for (int j = 1; j <= host_count; ++j) {
      INFO("vm show vm-h" << j << " on h" << i);
      CHECK(shown[static_cast<std::size_t>(i - 1)][static_cast<std::size_t>(j - 1)]
            == (i == j ? 0 : 1));
    }
}

TEST_CASE("SIGKILL of one host's bangerd leaves the other hosts serving, and a restart serves again") {
  auto* cluster = shared_cluster();
  if (!cluster)
    return;
  const int victim = 3;
  cluster->kill_host(victim);
  CHECK_FALSE(cluster->daemon_running(victim));
  auto down = cluster->cli(victim, {"daemon", "status"});
  CHECK_MESSAGE(down.exit_code == 3, "exit " << down.exit_code << ": " << down.err);
  auto others = cluster->on_every_host([&](int i) { return i == victim || serves(*cluster, i); });
  for (int i = 1; i <= host_count; ++i)
    CHECK_MESSAGE(others[static_cast<std::size_t>(i - 1)], "h" << i << " stopped serving");
  CHECK(vm_names(*cluster, 1) == std::vector<std::string>{"vm-h1"});

  auto start = Clock::now();
  cluster->start_host(victim);
  MESSAGE("h" << victim << " serves again " << ms_since(start) << " ms after its restart");
  // Its VM was never touched: the restarted daemon finds it running.
  auto shown = json_of(cluster->cli(victim, {"-o", "json", "vm", "show", "vm-h3"}));
  CHECK(shown["state"] == "running");
}

TEST_CASE("a stopped bangerd hangs only its own host's CLI") {
  auto* cluster = shared_cluster();
  if (!cluster)
    return;
  const int victim = 2;
  cluster->stop_host(victim);
  auto hung = cluster->cli(victim, {"daemon", "status"}, 1s);
  auto others = cluster->on_every_host([&](int i) { return i == victim || serves(*cluster, i); });
  cluster->cont_host(victim);
  CHECK_MESSAGE(hung.exit_code != 0, "a stopped daemon answered: " << hung.out);
  for (int i = 1; i <= host_count; ++i)
    CHECK_MESSAGE(others[static_cast<std::size_t>(i - 1)], "h" << i << " stopped serving");
  CHECK(NetnsCluster::wait_until([&] { return serves(*cluster, victim); }, 10s));
}

TEST_CASE("a cut link isolates only that host, which keeps serving its own CLI") {
  auto* cluster = shared_cluster();
  if (!cluster)
    return;
  const int victim = 4;
  // Every ordered pair of hosts probed at once; true when exactly the
  // pairs without `except` reach each other.
  auto only_pairs_without = [&](int except) {
    const int n = host_count;
    std::vector<char> as_expected(static_cast<std::size_t>(n * n), 1);
    run_parallel(n * n, [&](int k) {
      int from = (k - 1) / n + 1, to = (k - 1) % n + 1;
      if (from != to)
        as_expected[static_cast<std::size_t>(k - 1)] =
          cluster->reaches(from, to) == (from != except && to != except);
    });
    return std::all_of(as_expected.begin(), as_expected.end(), [](char c) { return c != 0; });
  };
  REQUIRE(only_pairs_without(0));
  cluster->link_down(victim);
  // A cut is silence, not a refusal: a short bound per probe is enough.
  CHECK(only_pairs_without(victim));
  CHECK(serves(*cluster, victim));
  auto start = Clock::now();
  cluster->link_up(victim);
  CHECK(NetnsCluster::wait_until([&] { return only_pairs_without(0); }, 10s));
  MESSAGE("h" << victim << " reachable again " << ms_since(start) << " ms after its link came up");
}

TEST_CASE("no port on any host serves plain BASP or TLS without a certificate") {
  auto* cluster = shared_cluster();
  if (!cluster)
    return;
  struct Probed {
    ListeningPort port;
    ProbeOutcome plain, anonymous;
  };
  // Hosts probed at once; each host's ports one after the other.
  auto probed = cluster->on_every_host([&](int i) {
    std::vector<Probed> out;
    for (const auto& port : listening_ports(cluster->daemon_pid(i)))
      out.push_back({port, probe_plain_basp(cluster->netns_fd(i), port),
                     probe_tls_without_certificate(cluster->netns_fd(i), port)});
    return out;
  });
  for (int i = 1; i <= host_count; ++i) {
    INFO("host h" << i);
    const auto& ports = probed[static_cast<std::size_t>(i - 1)];
    // Not vacuous: the daemon's and the helper's ports are among them.
    for (std::uint16_t expected : {7420, 7421})
      CHECK(std::any_of(ports.begin(), ports.end(),
                        [&](const Probed& p) { return p.port.port == expected; }));
    for (const auto& p : ports) {
      CHECK_MESSAGE(p.plain.verdict == ProbeVerdict::refused, p.plain.detail);
      CHECK_MESSAGE(p.anonymous.verdict == ProbeVerdict::refused, p.anonymous.detail);
      if (i == 1)
        MESSAGE(p.plain.detail << "; " << p.anonymous.detail);
    }
  }
}

TEST_CASE("the probes find a plain BASP port and a TLS port that takes clients without a certificate") {
  if (auto why = NetnsCluster::unavailable())
    BANGER_SKIP(*why);
  auto net = Namespace::network();
  links::set_up(net.fd(), "lo", true);
  struct Case {
    const char* kind;
    ProbeVerdict plain, anonymous;
  };
  for (auto c : {Case{"plain", ProbeVerdict::served, ProbeVerdict::refused},
                 Case{"anonymous", ProbeVerdict::refused, ProbeVerdict::served}}) {
    INFO("open_listener " << std::string(c.kind));
    int out[2];
    REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
    pid_t pid = spawn_in({net.fd(), -1}, {OPEN_LISTENER_BIN, c.kind}, {}, out[1], STDERR_FILENO);
    ::close(out[1]);
    std::string line;
    pollfd pfd{out[0], POLLIN, 0};
    char ch = 0;
    while (line.find('\n') == std::string::npos && ::poll(&pfd, 1, 10'000) == 1
           && ::read(out[0], &ch, 1) == 1)
      line += ch;
    ::close(out[0]);
    auto port = static_cast<std::uint16_t>(std::atoi(line.c_str()));
    auto ports = listening_ports(pid);
    bool listed = std::any_of(ports.begin(), ports.end(), [&](const ListeningPort& p) {
      return p.port == port && p.address == "127.0.0.1" && p.family == AF_INET;
    });
    CHECK_MESSAGE(listed, "127.0.0.1:" << port << " is not among the listening ports");
    ListeningPort target{AF_INET, "127.0.0.1", port};
    auto plain = probe_plain_basp(net.fd(), target);
    CHECK_MESSAGE(plain.verdict == c.plain, plain.detail);
    auto anonymous = probe_tls_without_certificate(net.fd(), target);
    CHECK_MESSAGE(anonymous.verdict == c.anonymous, anonymous.detail);
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  }
}

TEST_CASE("tearing a cluster down leaves no namespace, link, process or directory behind") {
  if (auto why = NetnsCluster::unavailable())
    BANGER_SKIP(*why);
  ClusterFootprint footprint;
  {
    auto start = Clock::now();
    NetnsCluster cluster({.hosts = host_count});
    MESSAGE(host_count << " hosts up in " << ms_since(start) << " ms");
    // A VM, so an fc-stub (started by the helper, not by the test) runs too.
    cluster.add_image(1);
    auto created = cluster.cli(1, {"vm", "create", "--image", "tiny", "--name", "left", "--start"});
    REQUIRE_MESSAGE(created.exit_code == 0, created.err);
    cluster.stop_host(2); // a stopped process is torn down too
    cluster.link_down(3);
    footprint = cluster.footprint();
    CHECK(footprint.namespaces.size() == 1 + 2 * host_count);
    // helper and bangerd of every host, and the VM's fc-stub
    CHECK(footprint.processes.size() >= 2 * host_count + 1);
    CHECK(NetnsCluster::leftovers(footprint).size() > 0);
    start = Clock::now();
    cluster.teardown();
    MESSAGE("torn down in " << ms_since(start) << " ms");
  }
  auto left = NetnsCluster::leftovers(footprint);
  for (const auto& line : left)
    MESSAGE(line);
  CHECK(left.empty());
}

TEST_CASE("in cluster mode the homes come from one cluster CA and every host sees every other up") {
  if (auto why = NetnsCluster::unavailable())
    BANGER_SKIP(*why);
  if (auto why = NetnsCluster::cluster_mode_unavailable())
    BANGER_SKIP(*why);
  NetnsCluster cluster({.hosts = host_count, .mode = ClusterMode::cluster, .start = false});
  CHECK(cluster.cluster_hosts().starts_with("h1=10.77.0.1:7430,h2=10.77.0.2:7430,"));
  for (int i = 1; i <= host_count; ++i) {
    INFO("host h" << i);
    std::ifstream in(cluster.home(i) + "/banger.conf");
    std::stringstream conf;
    conf << in.rdbuf();
    CHECK(conf.str().find("host-id=\"h" + std::to_string(i) + "\"") != std::string::npos);
    CHECK(conf.str().find("hosts=\"" + cluster.cluster_hosts() + "\"") != std::string::npos);
    CHECK(std::filesystem::exists(cluster.home(i) + "/tls/host.pem"));
    CHECK(std::filesystem::exists(cluster.home(i) + "/tls/host.key"));
  }
  // The homes work as one cluster: started, every host sees every host up.
  auto start = Clock::now();
  cluster.start_hosts({1, 2, 3, 4, 5});
  auto sees_all_up = [&](int i) {
    auto status = json::parse(cluster.cli(i, {"-o", "json", "cluster", "status"}).out, nullptr, false);
    if (!status.is_object() || !status["hosts"].is_array() || status["hosts"].size() != host_count)
      return false;
    // Every host, the one asked included, is up.
    if (status.value("self", "") != "h" + std::to_string(i))
      return false;
    return std::all_of(status["hosts"].begin(), status["hosts"].end(), [&](const json& h) {
      return h.value("state", "") == "up";
    });
  };
  bool all_up = NetnsCluster::wait_until(
    [&] {
      auto up = cluster.on_every_host(sees_all_up);
      return std::all_of(up.begin(), up.end(), [](bool b) { return b; });
    },
    20s);
  CHECK_MESSAGE(all_up, "h1: " << cluster.cli(1, {"cluster", "status"}).out);
  MESSAGE("every host up on every host " << ms_since(start) << " ms after the start");
}
