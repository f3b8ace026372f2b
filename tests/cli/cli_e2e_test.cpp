// banger against a real bangerd + banger-helper + fc-stub in a temp home:
// the commands a user runs, their output, JSON and exit codes. Needs root
// (the helper creates a bridge and taps); skipped with a message otherwise.
#include "tests/cli/cli_run.hpp"
#include "tests/cli/completion_driver.hpp"
#include "tests/support/process.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

using namespace banger;
using banger::test::run_banger;
using nlohmann::json;

namespace {

#if defined(BANGERD_BIN) && defined(BANGER_HELPER_BIN) && defined(FC_STUB_BIN)
constexpr bool have_daemon = true;
const char* const daemon_bin = BANGERD_BIN;
const char* const helper_bin = BANGER_HELPER_BIN;
const char* const stub_bin = FC_STUB_BIN;
#else
constexpr bool have_daemon = false;
const char* const daemon_bin = "";
const char* const helper_bin = "";
const char* const stub_bin = "";
#endif

bool port_free(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

int free_port_pair() {
  for (int attempt = 0; attempt < 200; ++attempt) {
    int port = 20000 + static_cast<int>((::getpid() * 7919 + attempt * 104729) % 30000);
    if (port_free(port) && port_free(port + 1))
      return port;
  }
  return 0;
}

// A running installation: helper + daemon, torn down in reverse.
struct Installation {
  test::TempDir dir{"banger-cli-e2e"};
  std::string home = dir.path();
  std::string bridge;
  std::optional<test::Child> helper, daemon;
  std::set<std::string> vm_ids;

  std::vector<std::string> with_home(std::vector<std::string> args) const {
    args.insert(args.begin(), {"--home", home});
    return args;
  }
  test::RunResult cli(std::vector<std::string> args) const { return run_banger(with_home(args)); }

  ~Installation() {
    // VMs outlive bangerd and banger-helper by design: kill this home's VMMs
    // first (fc-stub with an API socket beneath <home>/run/vms/).
    test::run({"pkill", "-KILL", "-f", home + "/run/vms/"});
    for (auto* child : {&daemon, &helper})
      if (*child) {
        (*child)->signal(SIGTERM);
        if (!(*child)->wait(std::chrono::seconds(10)))
          MESSAGE("a child ignored SIGTERM for 10 s; killing it");
      }
    for (const auto& id : vm_ids)
      test::run({"ip", "link", "del", "tap-fc-" + id.substr(0, 8)});
    if (!bridge.empty())
      test::run({"ip", "link", "del", bridge});
  }
};

json parse_json(const test::RunResult& r) {
  INFO("stdout: " << r.out << " stderr: " << r.err);
  REQUIRE(!r.out.empty());
  return json::parse(r.out);
}

} // namespace

TEST_CASE("banger drives a real daemon end to end") {
  if (!have_daemon)
    BANGER_SKIP("bangerd, banger-helper or fc-stub is not part of this build");
  if (!test::is_root())
    BANGER_SKIP("banger-helper needs root");
  Installation inst;
  int port = free_port_pair();
  REQUIRE(port != 0);
  char bridge[16];
  std::snprintf(bridge, sizeof bridge, "bgc%x", static_cast<unsigned>(::getpid()) & 0xfffffu);
  auto subnet = "10.213." + std::to_string(::getpid() % 250) + ".0/24";
  auto init = run_banger({"init", "--home", inst.home, "--port", std::to_string(port), "--set",
                      std::string("vmm.firecracker-bin=") + stub_bin, "--set",
                      std::string("network.bridge=") + bridge, "--set",
                      "network.subnet=" + subnet});
  REQUIRE_MESSAGE(init.exit_code == 0, init.err);
  inst.bridge = bridge;
  // Read by every fc-stub as it starts; empty unless a SUBCASE writes it.
  auto faults = inst.home + "/stub-faults";
  std::ofstream(faults).flush();
  inst.helper.emplace(test::Child::spawn({helper_bin, "--home", inst.home},
                                         {"FC_STUB_FAULTS=" + faults},
                                         inst.home + "/logs/helper.stderr"));
  inst.daemon.emplace(test::Child::spawn({daemon_bin, "--home", inst.home}, {},
                                         inst.home + "/logs/daemon.stderr"));
  test::RunResult status;
  bool up = test::eventually(
    [&] {
      // Serving comes first; the helper link may connect a moment later.
      status = inst.cli({"-o", "json", "daemon", "status"});
      return status.exit_code == 0 && json::parse(status.out)["helper_reachable"] == true;
    },
    std::chrono::seconds(30), std::chrono::milliseconds(50));
  REQUIRE_MESSAGE(up, "daemon status: " << status.exit_code << " " << status.err);
  auto text_status = inst.cli({"daemon", "status"}).out;
  CHECK(text_status.find("helper:") != std::string::npos);
  CHECK(text_status.find(" reachable") != std::string::npos);

  // Images live beneath <home>/images: the helper clones only from there.
  auto image_dir = std::filesystem::path(inst.home) / "images" / "tiny";
  std::filesystem::create_directories(image_dir);
  std::ofstream(image_dir / "vmlinux") << "kernel";
  std::ofstream(image_dir / "rootfs.ext4") << std::string(65536, '\0');
  auto image = inst.cli({"image", "add", "tiny", "--kernel", (image_dir / "vmlinux").string(),
                         "--rootfs", (image_dir / "rootfs.ext4").string()});
  REQUIRE_MESSAGE(image.exit_code == 0, image.err);

  auto created = inst.cli({"vm", "create", "--image", "tiny", "--name", "e1", "--start"});
  REQUIRE_MESSAGE(created.exit_code == 0, created.err);
  CHECK(created.out.find("state:") != std::string::npos);
  CHECK(created.err.find("(op-") != std::string::npos);

  auto ls = parse_json(inst.cli({"vm", "ls", "-o", "json"}));
  REQUIRE(ls["vms"].size() == 1);
  auto e1 = ls["vms"][0];
  CHECK(e1["name"] == "e1");
  CHECK(e1["state"] == "running");
  CHECK(e1["image"] == "tiny");
  std::string id = e1["id"];
  inst.vm_ids.insert(id);
  // Outside a cluster: no host, nobody unreachable, no HOST column.
  CHECK(e1["host"] == "");
  CHECK(ls["unreachable"] == json::array());
  CHECK(inst.cli({"vm", "ls"}).out.find("HOST") == std::string::npos);

  SUBCASE("show by name, by id prefix; a missing VM is not_found with an op_id") {
    auto by_name = parse_json(inst.cli({"-o", "json", "vm", "show", "e1"}));
    CHECK(by_name["id"] == id);
    auto by_prefix = inst.cli({"vm", "show", id.substr(0, 6)});
    CHECK(by_prefix.exit_code == 0);
    CHECK(by_prefix.out.find("name:") != std::string::npos);
    auto missing = inst.cli({"vm", "show", "nope"});
    CHECK(missing.exit_code == 1);
    CHECK(missing.err.starts_with("error: "));
    CHECK(missing.err.find("(op-") != std::string::npos);
    auto missing_json = parse_json(inst.cli({"-o", "json", "vm", "show", "nope"}));
    CHECK(missing_json["error"]["code"] == "not_found");
  }

  SUBCASE("outside a cluster, cluster status is a conflict error like any other") {
    auto text = inst.cli({"cluster", "status"});
    CHECK(text.exit_code == 1);
    CHECK(text.err.starts_with("error: this bangerd is not in a cluster"));
    CHECK(text.err.find("(op-") != std::string::npos);
    auto as_json = inst.cli({"-o", "json", "cluster", "status"});
    CHECK(as_json.exit_code == 1);
    CHECK(parse_json(as_json)["error"]["code"] == "conflict");
  }

  SUBCASE("bash completion offers the daemon's VM and image names") {
    if (!test::have_bash())
      BANGER_SKIP("bash is not installed");
    test::Completer complete;
    auto home = std::vector<std::string>{"--home", inst.home};
    auto with = [&](std::vector<std::string> words) {
      words.insert(words.begin(), home.begin(), home.end());
      return complete(words).reply;
    };
    CHECK(with({"vm", "show", ""}) == std::vector<std::string>{"e1"});
    CHECK(with({"vm", "stop", "e"}) == std::vector<std::string>{"e1"});
    CHECK(with({"vm", "clone", ""}) == std::vector<std::string>{"e1"});
    CHECK(with({"vm", "create", "--image", ""}) == std::vector<std::string>{"tiny"});
    CHECK(with({"image", "rm", "t"}) == std::vector<std::string>{"tiny"});
    // One REF only: nothing more after it.
    CHECK(with({"vm", "show", "e1", ""}).empty());
  }

  SUBCASE("published ports: shown by ls and show; a host port a running VM holds is refused") {
    auto created = parse_json(inst.cli({"-o", "json", "vm", "create", "--image", "tiny", "--name",
                                        "p1", "-p", "18080:8080", "--publish", "5353:53/udp",
                                        "--start"}));
    inst.vm_ids.insert(created["id"].get<std::string>());
    CHECK(created["state"] == "running");
    CHECK(created["ports"] == json::parse(R"([{"host_port": 18080, "guest_port": 8080,
                                               "protocol": "tcp"},
                                              {"host_port": 5353, "guest_port": 53,
                                               "protocol": "udp"}])"));
    CHECK(inst.cli({"vm", "show", "p1"}).out.find("18080:8080/tcp,5353:53/udp")
          != std::string::npos);
    auto table = inst.cli({"vm", "ls"}).out;
    CHECK(table.find("PORTS") != std::string::npos);
    CHECK(table.find("18080:8080/tcp,5353:53/udp") != std::string::npos);

    // Two VMs may hold one host port; only one of them can run.
    auto second = inst.cli({"vm", "create", "--image", "tiny", "--name", "p2", "-p", "18080:80"});
    REQUIRE_MESSAGE(second.exit_code == 0, second.err);
    auto refused = inst.cli({"vm", "start", "p2"});
    CHECK(refused.exit_code == 1);
    CHECK_MESSAGE(refused.err.find("host port 18080/tcp is already published by VM "
                                   + created["id"].get<std::string>())
                    != std::string::npos,
                  refused.err);
    CHECK(parse_json(inst.cli({"-o", "json", "vm", "show", "p2"}))["state"] != "running");
    // A stop takes the rules back: now the port is free for p2.
    REQUIRE(inst.cli({"vm", "stop", "p1"}).exit_code == 0);
    auto started = inst.cli({"vm", "start", "p2"});
    CHECK_MESSAGE(started.exit_code == 0, started.err);
    auto doctor = parse_json(inst.cli({"-o", "json", "doctor"}));
    CHECK_MESSAGE(doctor["clean"] == true, doctor.dump());
    // And a kill of p2 frees it again for p1.
    REQUIRE(inst.cli({"vm", "kill", "p2"}).exit_code == 0);
    auto again = inst.cli({"vm", "start", "p1"});
    CHECK_MESSAGE(again.exit_code == 0, again.err);
    // Rules live in the bridge's table, which outlives this home: the next
    // subcase reuses the bridge name, so take them back before leaving.
    REQUIRE(inst.cli({"vm", "kill", "p1"}).exit_code == 0);
    auto clean = parse_json(inst.cli({"-o", "json", "doctor"}));
    CHECK_MESSAGE(clean["clean"] == true, clean.dump());
  }

  SUBCASE("lifecycle: stop, start, kill, rm") {
    auto stop = inst.cli({"vm", "stop", "e1"});
    CHECK_MESSAGE(stop.exit_code == 0, stop.err);
    CHECK(parse_json(inst.cli({"-o", "json", "vm", "show", "e1"}))["state"] == "stopped");
    auto start = inst.cli({"vm", "start", "e1"});
    CHECK_MESSAGE(start.exit_code == 0, start.err);
    auto kill = inst.cli({"vm", "kill", "--signal", "KILL", "e1"});
    CHECK_MESSAGE(kill.exit_code == 0, kill.err);
    auto shown = parse_json(inst.cli({"-o", "json", "vm", "show", "e1"}));
    CHECK(shown["state"] == "stopped");
    CHECK(shown["last_stop"] == "signal");
    auto rm = inst.cli({"vm", "rm", "e1"});
    CHECK_MESSAGE(rm.exit_code == 0, rm.err);
    CHECK(inst.cli({"vm", "show", "e1"}).exit_code == 1);
  }

  SUBCASE("actions say what they did: already stopped, not running, once per VM, stopped first") {
    auto stop = inst.cli({"vm", "stop", "e1"});
    CHECK(stop.out == "e1: stopped (graceful)\n");
    auto again = inst.cli({"vm", "stop", "e1"});
    CHECK(again.exit_code == 0);
    CHECK(again.out == "e1: already stopped\n");
    auto kill = inst.cli({"vm", "kill", "e1"});
    CHECK(kill.exit_code == 0);
    CHECK(kill.out == "e1: not running (nothing to kill)\n");
    // One VM named three ways acts once.
    auto start = inst.cli({"vm", "start", "e1", "e1", id.substr(0, 6)});
    CHECK_MESSAGE(start.exit_code == 0, start.err);
    CHECK(std::count(start.out.begin(), start.out.end(), '\n') == 1);
    CHECK(start.out.starts_with("e1: running"));
    auto restart = inst.cli({"-o", "json", "vm", "restart", "e1", "e1"});
    CHECK(parse_json(restart)["results"].size() == 1);
    auto rm = inst.cli({"vm", "rm", "e1"});
    CHECK_MESSAGE(rm.exit_code == 0, rm.err);
    CHECK(rm.out == "e1: was running; stopped it first (killed)\ne1: removed\n");

    // A VM never started has no console yet; a generated name is readable.
    auto fresh = parse_json(inst.cli({"-o", "json", "vm", "create", "--image", "tiny"}));
    std::string name = fresh["name"];
    inst.vm_ids.insert(fresh["id"].get<std::string>());
    CHECK(name.find('-') != std::string::npos);
    CHECK(name.find("vm-") != 0);
    auto logs = inst.cli({"vm", "logs", name});
    CHECK(logs.exit_code == 1);
    CHECK_MESSAGE(logs.err.find("has no console yet: it has never been started") != std::string::npos,
                  logs.err);
    CHECK(logs.err.find("No such file") == std::string::npos);
  }

  SUBCASE("a stop that waits shows the wait and the time left on a terminal only") {
    std::ofstream(faults) << "* ignore-ctrl-alt-del\n";
    for (auto name : {"w1", "w2"}) {
      auto created = inst.cli({"vm", "create", "--image", "tiny", "--name", name, "--start"});
      REQUIRE_MESSAGE(created.exit_code == 0, created.err);
    }
    // script(1) gives the CLI a terminal; its output is what a user sees.
    auto tty = test::run({"script", "-qec", std::string(BANGER_BIN) + " --home " + inst.home
                                               + " vm stop w1", "/dev/null"});
    CHECK_MESSAGE(tty.exit_code == 0, tty.out);
    CHECK_MESSAGE(tty.out.find("w1: waiting for the guest to power off (wait_for_exit), ")
                    != std::string::npos, tty.out);
    CHECK(tty.out.find(" s left") != std::string::npos);
    CHECK(tty.out.find("w1: stopped (timeout)") != std::string::npos);
    auto piped = inst.cli({"vm", "stop", "w2"});
    CHECK(piped.out == "w2: stopped (timeout)\n");
    CHECK(piped.err.empty());
  }

  SUBCASE("a request in flight fails at once when bangerd dies") {
    // fc-stub has no SSH server, so `start --wait` waits (up to
    // vmm.boot-timeout, minutes) for a guest that never answers.
    REQUIRE(inst.cli({"vm", "stop", "e1"}).exit_code == 0);
    test::RunResult waited;
    std::thread waiter([&] {
      waited = run_banger(inst.with_home({"vm", "start", "--wait", "e1"}), {},
                          std::chrono::seconds(20));
    });
    bool waiting = test::eventually(
      [&] {
        auto shown = inst.cli({"-o", "json", "vm", "show", "e1"});
        return shown.exit_code == 0 && json::parse(shown.out)["stage"] == "wait_guest_ready";
      },
      std::chrono::seconds(15), std::chrono::milliseconds(20));
    CHECK(waiting);
    inst.daemon->signal(SIGKILL);
    waiter.join();
    // Not the 20 s deadline of this test (-1), not a request timeout: the
    // CLI notices the connection is gone.
    CHECK(waited.exit_code == 3);
    CHECK_MESSAGE(waited.err.find("lost the connection to bangerd") != std::string::npos,
                  waited.err);
  }

  SUBCASE("a create polling its operation reports a lost daemon as exit 3") {
    // A stopped helper holds the rootfs request: the CLI polls `op show`
    // until bangerd goes away under it.
    inst.helper->signal(SIGSTOP);
    test::RunResult created;
    std::thread creator([&] {
      created = run_banger(inst.with_home({"-o", "json", "vm", "create", "--image", "tiny",
                                           "--name", "e9"}),
                           {}, std::chrono::seconds(20));
    });
    bool preparing = test::eventually(
      [&] {
        auto shown = inst.cli({"-o", "json", "vm", "show", "e9"});
        return shown.exit_code == 0 && json::parse(shown.out)["stage"] == "prepare_rootfs";
      },
      std::chrono::seconds(15), std::chrono::milliseconds(20));
    inst.daemon->signal(SIGKILL);
    creator.join();
    inst.helper->signal(SIGCONT);
    REQUIRE(preparing);
    CHECK_MESSAGE(created.exit_code == 3, created.out << created.err);
    auto error = parse_json(created)["error"];
    CHECK(error["code"] == "daemon_unreachable");
    CHECK(error["op_id"].get<std::string>().starts_with("op-"));
  }

  SUBCASE("several VMs: concurrent stop, ambiguous prefix, op show, doctor") {
    std::string op_id;
    std::vector<std::string> names{"e1"};
    for (int i = 2; i <= 4; ++i) {
      auto name = "e" + std::to_string(i);
      auto r = inst.cli({"-o", "json", "vm", "create", "--image", "tiny", "--name", name,
                         "--start", "--no-wait"});
      REQUIRE_MESSAGE(r.exit_code == 0, r.err);
      op_id = parse_json(r)["op_id"];
      names.push_back(name);
    }
    // Wait for the last create through the same op_id the CLI printed.
    test::RunResult op;
    REQUIRE(test::eventually(
      [&] {
        op = inst.cli({"-o", "json", "op", "show", op_id});
        return op.exit_code == 0 && parse_json(op)["outcome"] != "running";
      },
      std::chrono::seconds(30), std::chrono::milliseconds(20)));
    CHECK(parse_json(op)["outcome"] == "succeeded");
    auto op_text = inst.cli({"op", "show", op_id});
    CHECK(op_text.out.find(op_id) != std::string::npos);
    CHECK(op_text.out.find("STAGE") != std::string::npos);

    auto list = parse_json(inst.cli({"-o", "json", "vm", "ls"}));
    for (const auto& vm : list["vms"])
      inst.vm_ids.insert(vm["id"].get<std::string>());
    // Keep creating until two VM ids share a first digit (pigeonhole: <= 17).
    std::map<char, int> first_digits;
    for (const auto& id_seen : inst.vm_ids)
      ++first_digits[id_seen[0]];
    for (int i = 5; i < 25 && std::none_of(first_digits.begin(), first_digits.end(),
                                           [](auto& p) { return p.second > 1; });
         ++i) {
      auto r = parse_json(inst.cli({"-o", "json", "vm", "create", "--image", "tiny"}));
      inst.vm_ids.insert(r["id"].get<std::string>());
      ++first_digits[r["id"].get<std::string>()[0]];
    }
    char shared = 0;
    for (auto& [digit, count] : first_digits)
      if (count > 1)
        shared = digit;
    REQUIRE(shared != 0);
    auto ambiguous = inst.cli({"vm", "show", std::string(1, shared)});
    CHECK(ambiguous.exit_code == 1);
    CHECK(ambiguous.err.find("(op-") != std::string::npos);
    CHECK(parse_json(inst.cli({"-o", "json", "vm", "show", std::string(1, shared)}))["error"]
            ["code"] == "ambiguous");

    auto stop = inst.cli({"vm", "stop", "e2", "e3", "e4", "nope"});
    CHECK(stop.exit_code == 1);
    for (auto name : {"e2", "e3", "e4"})
      CHECK(stop.out.find(std::string(name) + ": stopped") != std::string::npos);
    CHECK(stop.err.find("nope") != std::string::npos);

    auto doctor = inst.cli({"doctor"});
    CHECK_MESSAGE(doctor.exit_code == 0, doctor.out << doctor.err);

    std::vector<std::string> rm{"vm", "rm"};
    rm.insert(rm.end(), inst.vm_ids.begin(), inst.vm_ids.end());
    auto removed = inst.cli(rm);
    CHECK_MESSAGE(removed.exit_code == 0, removed.err);
    CHECK(parse_json(inst.cli({"-o", "json", "vm", "ls"}))["vms"].empty());
  }
}
