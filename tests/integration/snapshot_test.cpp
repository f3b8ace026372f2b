// Pause, resume, suspend and named snapshots of a Firecracker VM against
// real processes: banger-helper, bangerd and fc-stub, whose request log
// shows what the daemon said to each VMM and in which order.
#include "tests/integration/helpers.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

using namespace banger;
using namespace banger::test;
using json = nlohmann::json;

namespace {

/// A host whose fc-stubs all append to one request log and read their
/// faults from one file.
struct Logged {
  TempDir logs;
  std::string request_log = logs.path() + "/requests.jsonl";
  Faults faults;
  Running env{HostOptions{{}, {"FC_STUB_REQUEST_LOG=" + request_log, faults.env()}}};
  Host& host = env.host;

  /// The requests the VMM with `pid` was sent, in order ("PUT /actions
  /// InstanceStart", "PATCH /vm Paused", ...).
  std::vector<std::string> requests_of(std::int32_t pid) const {
    std::vector<std::string> seen;
    std::ifstream in(request_log);
    std::string line;
    while (std::getline(in, line)) {
      auto entry = json::parse(line);
      if (entry["pid"] != pid)
        continue;
      std::string text = entry["method"].get<std::string>() + " " + entry["path"].get<std::string>();
      if (entry.contains("action"))
        text += " " + entry["action"].get<std::string>();
      seen.push_back(text + " " + std::to_string(entry["status"].get<int>()));
    }
    return seen;
  }
};

VmRecord started(Host& host, const std::string& name) {
  auto vm = create_vm(host, name, true);
  REQUIRE_MESSAGE(vm.ok(), (vm.ok() ? "" : vm.error().message));
  REQUIRE(vm->runtime.state == VmState::running);
  return *vm;
}

Result<VmRecord> act_on(Host& host, const std::string& ref, VmAction action,
                        const std::string& what, const std::string& snapshot = "") {
  VmActionRequest request;
  request.ref = ref;
  request.action = action;
  request.snapshot = snapshot;
  return reported(host.ask<VmRecord>(request), what + " " + ref);
}

std::size_t occurrences(const std::string& text, const std::string& part) {
  std::size_t count = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1))
    ++count;
  return count;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

/// The boot id fc-stub gave the guest at its one cold boot, from the VMM log.
std::string boot_id_in(const std::string& vmm_log) {
  auto log = read_file(vmm_log);
  auto at = log.find(" MiB, boot ");
  REQUIRE(at != std::string::npos);
  return log.substr(at + 11, 16);
}

bool has(const std::vector<std::string>& requests, const std::string& prefix) {
  return std::any_of(requests.begin(), requests.end(),
                     [&](const std::string& r) { return r.rfind(prefix, 0) == 0; });
}

} // namespace

TEST_CASE("a paused VM shows paused at once and runs on in the same VMM after resume") {
  BANGER_REQUIRE_ROOT();
  Logged logged;
  auto& host = logged.host;
  auto vm = started(host, "p");

  auto paused = act_on(host, "p", VmAction::pause, "pause");
  REQUIRE(paused.ok());
  CHECK(paused->runtime.state == VmState::paused);
  CHECK(paused->runtime.pid == vm.runtime.pid);
  CHECK(show(host, "p")->runtime.state == VmState::paused);
  // Pausing again changes nothing and asks the VMM nothing.
  REQUIRE(act_on(host, "p", VmAction::pause, "pause").ok());

  auto resumed = act_on(host, "p", VmAction::resume, "resume");
  REQUIRE(resumed.ok());
  CHECK(resumed->runtime.state == VmState::running);
  CHECK(resumed->runtime.pid == vm.runtime.pid);
  CHECK(host.vmm_pids().size() == 1);

  auto requests = logged.requests_of(vm.runtime.pid);
  auto paused_at = std::find(requests.begin(), requests.end(), "PATCH /vm Paused 204");
  REQUIRE(paused_at != requests.end());
  CHECK(std::count(requests.begin(), requests.end(), "PATCH /vm Paused 204") == 1);
  CHECK(std::find(paused_at, requests.end(), "PATCH /vm Resumed 204") != requests.end());
}

TEST_CASE("a suspended VM has no VMM and its state on disk; its start loads that state "
          "with the same identity") {
  BANGER_REQUIRE_ROOT();
  Logged logged;
  auto& host = logged.host;
  auto vm = started(host, "s");
  auto boot = boot_id_in(host.path("state/vms/" + vm.id + "/vmm.log"));

  auto suspended = act_on(host, "s", VmAction::suspend, "suspend");
  REQUIRE(suspended.ok());
  CHECK(suspended->runtime.state == VmState::suspended);
  CHECK(suspended->runtime.pid == 0);
  CHECK(host.vmm_pids().empty());
  CHECK_FALSE(host.tap_exists(vm.id));
  auto saved = suspended->runtime.saved;
  CHECK(saved.vmm == "firecracker");
  REQUIRE(std::filesystem::exists(saved.state_path));
  REQUIRE(std::filesystem::exists(saved.memory_path));
  CHECK(std::filesystem::file_size(saved.memory_path) == std::uint64_t{vm.memory_mib} << 20);
  CHECK(saved.size == std::filesystem::file_size(saved.state_path)
                          + std::filesystem::file_size(saved.memory_path));
  CHECK(read_file(saved.state_path).rfind("fc-stub snapshot v10.0.0\n", 0) == 0);
  CHECK(show(host, "s")->runtime.state == VmState::suspended);
  // The old VMM paused, then saved into the temporary names.
  auto before = logged.requests_of(vm.runtime.pid);
  auto paused_at = std::find(before.begin(), before.end(), "PATCH /vm Paused 204");
  REQUIRE(paused_at != before.end());
  CHECK(std::find(paused_at, before.end(), "PUT /snapshot/create 204") != before.end());

  auto restored = act_on(host, "s", VmAction::start, "start");
  REQUIRE(restored.ok());
  CHECK(restored->runtime.state == VmState::running);
  CHECK(restored->runtime.pid != vm.runtime.pid);
  CHECK(restored->runtime.tap == vm.runtime.tap);
  CHECK(restored->runtime.mac == vm.runtime.mac);
  CHECK(restored->runtime.guest_ip == vm.runtime.guest_ip);
  CHECK(restored->runtime.vsock_cid == vm.runtime.vsock_cid);
  CHECK(restored->runtime.boot.configured_us > 0);
  CHECK(restored->runtime.boot.instance_started_us >= restored->runtime.boot.configured_us);
  CHECK(host.tap_exists(vm.id));
  CHECK(host.vmm_pids().size() == 1);
  // Consumed: the files are gone and the record names none.
  CHECK(restored->runtime.saved.empty());
  CHECK_FALSE(std::filesystem::exists(saved.state_path));
  CHECK_FALSE(std::filesystem::exists(saved.memory_path));

  // The new VMM was given the snapshot and nothing else, then resumed.
  auto after = logged.requests_of(restored->runtime.pid);
  REQUIRE_FALSE(after.empty());
  auto load = std::find(after.begin(), after.end(), "PUT /snapshot/load 204");
  REQUIRE(load != after.end());
  CHECK(std::find(load, after.end(), "PATCH /vm Resumed 204") != after.end());
  for (const char* configuration : {"PUT /machine-config", "PUT /boot-source", "PUT /drives",
                                    "PUT /network-interfaces", "PUT /vsock",
                                    "PUT /actions InstanceStart"})
    CHECK_MESSAGE(!has(after, configuration), configuration);
  // The same guest: its boot came back from the memory file.
  auto log = read_file(host.path("state/vms/" + vm.id + "/vmm.log"));
  CHECK(log.find("Guest restored: boot " + boot) != std::string::npos);
  CHECK(show(host, "s")->runtime.state == VmState::running);
}

TEST_CASE("a suspend of a paused VM saves it without a second pause") {
  BANGER_REQUIRE_ROOT();
  Logged logged;
  auto& host = logged.host;
  auto vm = started(host, "ps");
  REQUIRE(act_on(host, "ps", VmAction::pause, "pause").ok());
  auto suspended = act_on(host, "ps", VmAction::suspend, "suspend");
  REQUIRE(suspended.ok());
  CHECK(suspended->runtime.state == VmState::suspended);
  auto requests = logged.requests_of(vm.runtime.pid);
  CHECK(std::count(requests.begin(), requests.end(), "PATCH /vm Paused 204") == 1);
  CHECK(has(requests, "PUT /snapshot/create 204"));
  auto restored = act_on(host, "ps", VmAction::start, "start");
  REQUIRE(restored.ok());
  CHECK(restored->runtime.state == VmState::running);
}

TEST_CASE("a damaged state file fails the start with the reason and the VM stays "
          "suspended with its files") {
  BANGER_REQUIRE_ROOT();
  Logged logged;
  auto& host = logged.host;
  started(host, "c");
  auto suspended = act_on(host, "c", VmAction::suspend, "suspend");
  REQUIRE(suspended.ok());
  auto saved = suspended->runtime.saved;
  {
    std::fstream file(saved.state_path, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(40);
    file.put('#');
  }

  auto start = act_on(host, "c", VmAction::start, "start");
  REQUIRE_FALSE(start.ok());
  CHECK(start.error().message.find("damaged") != std::string::npos);
  CHECK(start.error().message.find("(op-") != std::string::npos);
  CHECK(host.vmm_pids().empty());
  auto after = show(host, "c");
  REQUIRE(after.ok());
  CHECK(after->runtime.state == VmState::suspended);
  CHECK(after->runtime.saved == saved);
  CHECK(std::filesystem::exists(saved.state_path));
  CHECK(std::filesystem::exists(saved.memory_path));
}

TEST_CASE("a load the VMM refuses fails the start with its reason, and the VM stays "
          "suspended and starts later") {
  BANGER_REQUIRE_ROOT();
  Logged logged;
  auto& host = logged.host;
  started(host, "r");
  auto suspended = act_on(host, "r", VmAction::suspend, "suspend");
  REQUIRE(suspended.ok());
  auto saved = suspended->runtime.saved;

  logged.faults.set("* fail-endpoint PUT:/snapshot/load\n");
  auto refused = act_on(host, "r", VmAction::start, "start");
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code == Errc::vmm_failed);
  CHECK(refused.error().message.find("PUT /snapshot/load (400): injected fault")
        != std::string::npos);
  CHECK(refused.error().message.find("stays suspended") != std::string::npos);
  CHECK(host.vmm_pids().empty());
  CHECK_FALSE(host.tap_exists(suspended->id));
  auto after = show(host, "r");
  REQUIRE(after.ok());
  CHECK(after->runtime.state == VmState::suspended);
  CHECK(after->runtime.saved == saved);
  CHECK(after->runtime.last_error.find("injected fault") != std::string::npos);

  logged.faults.set("");
  auto restored = act_on(host, "r", VmAction::start, "start");
  REQUIRE(restored.ok());
  CHECK(restored->runtime.state == VmState::running);
}

TEST_CASE("a VMM that dies while loading the state fails the start with what it said, and "
          "the VM stays suspended") {
  BANGER_REQUIRE_ROOT();
  Logged logged;
  auto& host = logged.host;
  started(host, "d");
  auto suspended = act_on(host, "d", VmAction::suspend, "suspend");
  REQUIRE(suspended.ok());
  auto saved = suspended->runtime.saved;

  logged.faults.set("* exit-on-start 1\n");
  auto died = act_on(host, "d", VmAction::start, "start");
  REQUIRE_FALSE(died.ok());
  CHECK(died.error().code == Errc::vmm_failed);
  CHECK(died.error().message.find("Cannot allocate memory") != std::string::npos);
  CHECK(host.vmm_pids().empty());
  auto after = show(host, "d");
  REQUIRE(after.ok());
  CHECK(after->runtime.state == VmState::suspended);
  CHECK(after->runtime.saved == saved);
  CHECK(std::filesystem::exists(saved.state_path));
  CHECK(std::filesystem::exists(saved.memory_path));

  logged.faults.set("");
  auto restored = act_on(host, "d", VmAction::start, "start");
  REQUIRE(restored.ok());
  CHECK(restored->runtime.state == VmState::running);
}

TEST_CASE("a named snapshot of a running VM keeps it running, and each restore loads it "
          "into a fresh VMM") {
  BANGER_REQUIRE_ROOT();
  Logged logged;
  auto& host = logged.host;
  auto vm = started(host, "n");
  auto vmm_log = host.path("state/vms/" + vm.id + "/vmm.log");
  auto boot = boot_id_in(vmm_log);

  auto taken = act_on(host, "n", VmAction::snapshot, "snapshot", "one");
  REQUIRE(taken.ok());
  CHECK(taken->runtime.state == VmState::running);
  CHECK(taken->runtime.pid == vm.runtime.pid);
  REQUIRE(taken->snapshots.size() == 1);
  auto memory = taken->snapshots[0].memory;
  CHECK(taken->snapshots[0].from == VmState::running);
  CHECK(std::filesystem::exists(memory.state_path));
  CHECK(std::filesystem::file_size(memory.memory_path) == std::uint64_t{vm.memory_mib} << 20);
  auto requests = logged.requests_of(vm.runtime.pid);
  auto paused_at = std::find(requests.begin(), requests.end(), "PATCH /vm Paused 204");
  REQUIRE(paused_at != requests.end());
  auto created_at = std::find(paused_at, requests.end(), "PUT /snapshot/create 204");
  REQUIRE(created_at != requests.end());
  CHECK(std::find(created_at, requests.end(), "PATCH /vm Resumed 204") != requests.end());

  std::int32_t previous = vm.runtime.pid;
  for (int round = 1; round <= 2; ++round) {
    CAPTURE(round);
    auto restored = act_on(host, "n", VmAction::restore, "restore", "one");
    REQUIRE(restored.ok());
    CHECK(restored->runtime.state == VmState::running);
    CHECK(restored->runtime.pid != previous);
    CHECK(restored->runtime.tap == vm.runtime.tap);
    CHECK(restored->runtime.mac == vm.runtime.mac);
    previous = restored->runtime.pid;
    auto loaded = logged.requests_of(restored->runtime.pid);
    CHECK(has(loaded, "PUT /snapshot/load 204"));
    CHECK(has(loaded, "PATCH /vm Resumed 204"));
    CHECK_FALSE(has(loaded, "PUT /boot-source"));
    CHECK_FALSE(has(loaded, "PUT /actions InstanceStart"));
    // A snapshot is not used up by a restore.
    CHECK(std::filesystem::exists(memory.state_path));
    CHECK(std::filesystem::exists(memory.memory_path));
    CHECK(occurrences(read_file(vmm_log), "Guest restored: boot " + boot) ==
          static_cast<std::size_t>(round));
  }
  CHECK(host.vmm_pids().size() == 1);
}

TEST_CASE("a named snapshot of a paused VM restores it paused") {
  BANGER_REQUIRE_ROOT();
  Logged logged;
  auto& host = logged.host;
  started(host, "np");
  REQUIRE(act_on(host, "np", VmAction::pause, "pause").ok());
  auto taken = act_on(host, "np", VmAction::snapshot, "snapshot", "quiet");
  REQUIRE(taken.ok());
  CHECK(taken->runtime.state == VmState::paused);
  REQUIRE(act_on(host, "np", VmAction::resume, "resume").ok());

  auto restored = act_on(host, "np", VmAction::restore, "restore", "quiet");
  REQUIRE(restored.ok());
  CHECK(restored->runtime.state == VmState::paused);
  auto loaded = logged.requests_of(restored->runtime.pid);
  CHECK(has(loaded, "PUT /snapshot/load 204"));
  CHECK_FALSE(has(loaded, "PATCH /vm Resumed"));
  auto resumed = act_on(host, "np", VmAction::resume, "resume");
  REQUIRE(resumed.ok());
  CHECK(resumed->runtime.state == VmState::running);
}

TEST_CASE("stop, kill and rm of a paused VM work") {
  BANGER_REQUIRE_ROOT();
  Logged logged;
  auto& host = logged.host;

  auto stopping = started(host, "ps1");
  REQUIRE(act_on(host, "ps1", VmAction::pause, "pause").ok());
  auto stopped = act_on(host, "ps1", VmAction::stop, "stop");
  REQUIRE(stopped.ok());
  CHECK(stopped->runtime.state == VmState::stopped);
  // It was resumed so that it could hear the power-off request.
  CHECK(stopped->runtime.last_stop == StopRung::graceful);
  CHECK(has(logged.requests_of(stopping.runtime.pid), "PATCH /vm Resumed 204"));

  started(host, "ps2");
  REQUIRE(act_on(host, "ps2", VmAction::pause, "pause").ok());
  auto killed = act(host, "ps2", VmAction::kill, "KILL");
  REQUIRE(killed.ok());
  CHECK(killed->runtime.state == VmState::stopped);
  CHECK(killed->runtime.last_stop == StopRung::signal);

  auto removing = started(host, "ps3");
  REQUIRE(act_on(host, "ps3", VmAction::pause, "pause").ok());
  REQUIRE(act(host, "ps3", VmAction::remove).ok());
  CHECK(show(host, "ps3").error().code == Errc::not_found);
  CHECK_FALSE(host.tap_exists(removing.id));
  CHECK_FALSE(std::filesystem::exists(host.path("state/vms/" + removing.id)));
  CHECK(host.vmm_pids().empty());
}
