// Failures and their clean-up: every start step failing in turn, a VMM that
// crashes, a slow stop that `show` still sees through, one VM's requests
// never interleaving, op ids in every log line.
#include "tests/integration/helpers.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

using namespace banger;
using namespace banger::test;
using namespace std::chrono_literals;
using nlohmann::json;

TEST_CASE("a failure at any start step rolls back everything and show explains it") {
  BANGER_REQUIRE_ROOT();
  Faults faults;
  Running env{HostOptions{{}, {faults.env()}}};
  auto& host = env.host;
  auto vm = create_vm(host, "fragile", false);
  REQUIRE(vm.ok());
  struct Case {
    std::string fault;
    std::string step;
  };
  std::vector<Case> cases = {
    // The stub exits at once: caught by the exit watch or the socket wait.
    {"exit-before-socket 3", "watch_vmm|wait_api_socket"},
    {"fail-endpoint PUT:/machine-config", "configure_vmm"},
    {"fail-endpoint PUT:/boot-source", "configure_vmm"},
    {"fail-endpoint PUT:/drives/rootfs", "configure_vmm"},
    {"fail-endpoint PUT:/network-interfaces/eth0", "configure_vmm"},
    {"fail-endpoint PUT:/vsock", "configure_vmm"},
    {"fail-endpoint PUT:/actions:InstanceStart", "start_instance"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.fault);
    faults.set("* " + c.fault + "\n");
    auto started = act(host, "fragile", VmAction::start);
    REQUIRE_FALSE(started.ok());
    auto step = c.step.substr(0, c.step.find('|'));
    auto alternative = c.step.substr(c.step.find('|') + 1);
    auto names_step = [&](const std::string& m) {
      return m.find(step) != std::string::npos || m.find(alternative) != std::string::npos;
    };
    CHECK(started.error().message.find("start failed at ") != std::string::npos);
    CHECK(names_step(started.error().message));
    CHECK(started.error().message.find("(op-") != std::string::npos);
    auto shown = show(host, "fragile");
    REQUIRE(shown.ok());
    CHECK(shown->runtime.state == VmState::error);
    CHECK(names_step(shown->runtime.last_error));
    CHECK(shown->runtime.last_error.find("vmm.log") != std::string::npos);
    if (c.fault.rfind("fail-endpoint", 0) == 0)
      CHECK(shown->runtime.last_error.find("injected fault") != std::string::npos);
    CHECK(shown->runtime.pid == 0);
    CHECK_FALSE(host.tap_exists(vm->id));
    CHECK(host.vmm_pids().empty());
    CHECK_FALSE(std::filesystem::exists(host.path("run/vms/" + vm->id)));
  }
  // And once the fault is gone, the same VM starts.
  faults.set("");
  auto started = act(host, "fragile", VmAction::start);
  REQUIRE_MESSAGE(started.ok(), (started.ok() ? "" : text(started.error())));
  CHECK(started->runtime.state == VmState::running);
  CHECK(started->runtime.last_error.empty());
}

TEST_CASE("a VMM that cannot be executed leaves no tap and no runtime directory") {
  BANGER_REQUIRE_ROOT();
  // Executable, so the helper's checks pass, but execve fails (ENOENT for
  // the interpreter): the launch fails after the helper made the tap and
  // the run directory, and must take both back.
  TempDir scripts;
  auto broken = scripts.path() + "/firecracker";
  {
    std::ofstream out(broken);
    out << "#!/nonexistent/interpreter\n";
  }
  std::filesystem::permissions(broken, std::filesystem::perms::owner_all
                                         | std::filesystem::perms::group_read
                                         | std::filesystem::perms::group_exec
                                         | std::filesystem::perms::others_read
                                         | std::filesystem::perms::others_exec);
  Running env{HostOptions{{"vmm.firecracker-bin=" + broken}, {}}};
  auto& host = env.host;
  auto vm = create_vm(host, "unlaunchable", false);
  REQUIRE(vm.ok());
  auto started = act(host, "unlaunchable", VmAction::start);
  REQUIRE_FALSE(started.ok());
  CHECK(started.error().message.find("start failed at launch_vmm") != std::string::npos);
  CHECK(started.error().message.find("execve") != std::string::npos);
  CHECK_FALSE(host.tap_exists(vm->id));
  CHECK_FALSE(std::filesystem::exists(host.path("run/vms/" + vm->id)));
  CHECK(host.vmm_pids().empty());
  auto shown = show(host, "unlaunchable");
  REQUIRE(shown.ok());
  CHECK(shown->runtime.state == VmState::error);
}

TEST_CASE("a VMM that dies on its own is noticed and cleaned up") {
  BANGER_REQUIRE_ROOT();
  Faults faults;
  faults.set("* crash-after-boot-ms 100\n");
  Running env{HostOptions{{}, {faults.env()}}};
  auto& host = env.host;
  auto vm = create_vm(host, "crashy", true);
  REQUIRE_MESSAGE(vm.ok(), (vm.ok() ? "" : text(vm.error())));
  bool settled = eventually([&] {
    auto shown = show(host, "crashy");
    return shown.ok() && shown->runtime.state == VmState::stopped;
  });
  CHECK(settled);
  auto shown = show(host, "crashy");
  CHECK(shown->runtime.last_error.find("exited on its own") != std::string::npos);
  CHECK_FALSE(host.tap_exists(vm->id));
  CHECK(host.vmm_pids().empty());
}

TEST_CASE("show answers at once during a slow graceful stop and names the stage") {
  BANGER_REQUIRE_ROOT();
  Faults faults;
  faults.set("* shutdown-delay-ms 5000\n");
  // A guest that is up and handles the request slowly. fc-stub never greets
  // on SSH, so with a boot timeout it would count as still booting and get
  // a short grace (docs/cli.md, vm stop); with none it counts as booted.
  Running env{HostOptions{{"vmm.stop-grace=10s", "vmm.boot-timeout=0ms"}, {faults.env()}}};
  auto& host = env.host;
  REQUIRE(create_vm(host, "slow", true).ok());
  std::thread stopper([&] { (void)act(host, "slow", VmAction::stop); });
  bool stopping = eventually([&] {
    auto shown = show(host, "slow");
    return shown.ok() && shown->runtime.stage == "wait_for_exit";
  });
  CHECK(stopping);
  // Timed as a user would notice: show must not wait behind the stop.
  auto before = std::chrono::steady_clock::now();
  auto shown = show(host, "slow");
  auto took = std::chrono::steady_clock::now() - before;
  REQUIRE(shown.ok());
  CHECK(shown->runtime.state == VmState::stopping);
  CHECK(took < 1s);
  stopper.join();
  CHECK(show(host, "slow")->runtime.last_stop == StopRung::graceful);
}

TEST_CASE("concurrent requests on one VM never interleave; different VMs run in parallel") {
  BANGER_REQUIRE_ROOT();
  TempDir logdir;
  auto request_log = logdir.path() + "/requests.jsonl";
  Running env{HostOptions{{}, {"FC_STUB_REQUEST_LOG=" + request_log}}};
  auto& host = env.host;
  REQUIRE(create_vm(host, "busy", false).ok());
  REQUIRE(create_vm(host, "other", false).ok());
  std::vector<std::thread> clients;
  std::atomic<int> replies{0};
  const VmAction mix[] = {VmAction::start, VmAction::stop, VmAction::restart, VmAction::kill,
                          VmAction::start};
  for (int i = 0; i < 50; ++i)
    clients.emplace_back([&, i] {
      auto action = mix[i % 5];
      auto result = act(host, "busy", action, action == VmAction::kill ? "KILL" : "");
      if (result.ok() || !result.error().message.empty())
        ++replies;
    });
  clients.emplace_back([&] { (void)act(host, "other", VmAction::start); });
  for (auto& t : clients)
    t.join();
  CHECK(replies == 50);

  // Each stub process is one start of one VM; for "busy" their request
  // spans must not overlap in time.
  std::ifstream in(request_log);
  std::map<int, std::pair<long long, long long>> spans; // pid -> first start, last end
  std::map<int, std::string> owner;
  std::string line;
  while (std::getline(in, line)) {
    auto entry = json::parse(line);
    int pid = entry["pid"];
    long long start = entry["start_ns"], end = entry["end_ns"];
    auto& span = spans.try_emplace(pid, start, end).first->second;
    span.first = std::min(span.first, start);
    span.second = std::max(span.second, end);
    owner[pid] = entry["id"];
  }
  auto busy = show(host, "busy");
  REQUIRE(busy.ok());
  std::vector<std::pair<long long, long long>> busy_spans;
  for (auto& [pid, span] : spans)
    if (owner[pid] == busy->id)
      busy_spans.push_back(span);
  CHECK(busy_spans.size() >= 10);
  std::sort(busy_spans.begin(), busy_spans.end());
  for (std::size_t i = 1; i < busy_spans.size(); ++i)
    CHECK_MESSAGE(busy_spans[i].first >= busy_spans[i - 1].second,
                  "two starts of one VM overlapped");
}

TEST_CASE("every log line of an operation carries the op_id the client got") {
  BANGER_REQUIRE_ROOT();
  Running env;
  auto& host = env.host;
  VmCreateRequest request;
  request.env.op_id = "op-00000000beef";
  request.spec.name = "traced";
  request.spec.image = "tiny";
  request.spec.start = true;
  REQUIRE(host.ask<VmRecord>(request).ok());
  auto count = [](const std::vector<std::string>& lines, const std::string& needle) {
    return std::count_if(lines.begin(), lines.end(),
                         [&](const std::string& l) { return l.find(needle) != std::string::npos; });
  };
  bool logged = eventually([&] {
    // rootfs.prepare, vmm.launch (tap, bridge, run dir and the VMM)
    return count(host.daemon_log(), "\"operation completed\"") >= 1
           && count(host.helper_log(), "op-00000000beef") >= 2;
  });
  REQUIRE(logged);
  auto daemon = host.daemon_log();
  std::size_t stages = 0;
  for (auto& l : daemon) {
    auto entry = json::parse(l);
    if (entry.value("op_id", "") != "op-00000000beef")
      continue;
    if (entry["msg"] == "stage")
      ++stages;
  }
  CHECK(stages >= 6); // prepare_rootfs, rootfs_ready + the five start steps
  std::set<std::string> methods;
  for (auto& l : host.helper_log()) {
    auto entry = json::parse(l);
    if (entry["msg"] == "helper rpc completed" && entry.value("op_id", "") == "op-00000000beef")
      methods.insert(entry.value("method", ""));
  }
  CHECK(methods == std::set<std::string>{"rootfs.prepare", "vmm.launch"});
  VmShowRequest missing;
  missing.env.op_id = "op-00000000cafe";
  missing.ref = "nope";
  auto error = host.ask<VmRecord>(missing);
  REQUIRE_FALSE(error.ok());
  CHECK(error.error().message.find("(op-00000000cafe)") != std::string::npos);
}
