// vm clone end to end without a guest kernel: the real banger binary,
// bangerd and banger-helper, fc-stub as the VMM (its snapshot/create and
// snapshot/load) and the real banger-guest-agent behind fc-stub's vsock
// socket (FC_STUB_GUEST_AGENT). The agent runs on the host here, started
// by fc-stub with --identity-root, so the identity it is sent lands as
// files under the clone's guest-root folder, never on the host itself
// (docs/fc-stub.md). Real guests are cloned in tests/e2e. Root only;
// skipped otherwise.
#include "tests/cli/cli_run.hpp"
#include "tests/support/host_fixture.hpp"
#include "tests/support/skip.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include <csignal>

using namespace banger;
using namespace banger::test;
using namespace std::chrono_literals;

namespace {

RunResult cli(Host& host, std::vector<std::string> args, std::chrono::milliseconds deadline = 60s) {
  args.insert(args.begin(), {"--home", host.home()});
  return run_banger(args, {}, deadline);
}

VmRecord show(Host& host, const std::string& name) {
  auto shown = host.ask<VmRecord>(VmShowRequest{{}, name});
  REQUIRE_MESSAGE(shown.ok(), name);
  return *shown;
}

/// Where the clone's agent (a host process under fc-stub) applied its
/// identity: next to the VM's vsock socket.
std::string guest_root(const VmRecord& vm) {
  return std::filesystem::path(vm.runtime.vsock_path).parent_path().string() + "/guest-root";
}

/// The VM folders under state/vms.
std::size_t vm_folders(Host& host) {
  auto entries = std::filesystem::directory_iterator(host.path("state/vms"));
  return static_cast<std::size_t>(std::distance(entries, std::filesystem::directory_iterator{}));
}

void start_source(Host& host, const std::string& name) {
  host.start_helper();
  host.start_daemon();
  host.wait_ready();
  host.add_image("tiny");
  auto created = cli(host, {"vm", "create", "--image", "tiny", "--name", name, "--cpus", "2",
                            "--memory", "192", "--start"});
  REQUIRE_MESSAGE(created.exit_code == 0, created.err);
  REQUIRE(eventually([&] { return !show(host, name).runtime.agent.empty(); }, 20s, 20ms));
}

/// The clone runs with its own identity, as its agent applied it.
void check_identity(Host& host, const std::string& name, const VmRecord& source) {
  auto vm = show(host, name);
  CHECK(vm.runtime.state == VmState::running);
  CHECK(vm.cpus == source.cpus);
  CHECK(vm.memory_mib == source.memory_mib);
  CHECK(vm.image_id == source.image_id);
  CHECK(vm.runtime.guest_ip != source.runtime.guest_ip);
  CHECK(vm.runtime.mac != source.runtime.mac);
  CHECK(vm.runtime.tap != source.runtime.tap);
  auto root = guest_root(vm);
  CHECK(read_file(root + "/etc/hostname") == name + "\n");
  CHECK(read_file(root + "/etc/hosts").find("127.0.1.1\t" + name + "\n") != std::string::npos);
  auto network = read_file(root + "/etc/banger-network");
  CHECK(network.find("mac=" + vm.runtime.mac + "\n") != std::string::npos);
  CHECK(network.find("address=" + vm.runtime.guest_ip + "/") != std::string::npos);
  CHECK(read_file(root + "/etc/machine-id").size() == 33);
  // Its saved state was used up by the restore: nothing of it stays.
  CHECK(vm.runtime.saved.empty());
  CHECK(!std::filesystem::exists(host.path("state/vms/" + vm.id + "/suspend.state")));
}

} // namespace

TEST_CASE("vm clone makes running VMs with their own identity, from a running VM and from a "
          "snapshot") {
  BANGER_REQUIRE_ROOT();
  Host host(HostOptions{{}, {std::string("FC_STUB_GUEST_AGENT=") + GUEST_AGENT_BIN}});
  start_source(host, "src");
  auto source = show(host, "src");

  // From the VM as it runs: paused for the copy, running on afterwards.
  auto r = cli(host, {"vm", "clone", "src", "c1"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(r.out.find("c1: running, cloned from src (") != std::string::npos);
  check_identity(host, "c1", source);
  CHECK(show(host, "src").runtime.state == VmState::running);
  CHECK(show(host, "src").snapshots.empty()); // nothing left behind on the source

  // From a snapshot taken while it ran; the snapshot stays for the next one.
  r = cli(host, {"vm", "snapshot", "src", "warm"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  r = cli(host, {"-o", "json", "vm", "clone", "src@warm", "c2"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(r.out.find("\"snapshot\": \"warm\"") != std::string::npos);
  check_identity(host, "c2", source);
  // A generated name when none is given.
  r = cli(host, {"vm", "clone", "src@warm"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  auto list = host.ask<VmList>(VmListRequest{});
  REQUIRE(list.ok());
  CHECK(list->vms.size() == 4);
  std::set<std::string> ips, macs;
  for (const auto& vm : list->vms) {
    CHECK(vm.runtime.state == VmState::running);
    ips.insert(vm.runtime.guest_ip);
    macs.insert(vm.runtime.mac);
  }
  CHECK(ips.size() == 4);
  CHECK(macs.size() == 4);

  // A clone is a VM like any other: exec reaches its own agent, and it stops
  // and is removed with nothing left.
  r = cli(host, {"vm", "exec", "c2", "--", "cat", guest_root(show(host, "c2")) + "/etc/hostname"});
  CHECK(r.exit_code == 0);
  CHECK(r.out == "c2\n");
  auto c1 = show(host, "c1");
  r = cli(host, {"vm", "rm", "c1"});
  CHECK_MESSAGE(r.exit_code == 0, r.err);
  CHECK(!std::filesystem::exists(host.path("state/vms/" + c1.id + "/rootfs.img")));
  CHECK(!host.tap_exists(c1.id));
}

TEST_CASE("a clone that cannot be made says why, with an op_id, and leaves nothing behind") {
  BANGER_REQUIRE_ROOT();
  Host host(HostOptions{{}, {std::string("FC_STUB_GUEST_AGENT=") + GUEST_AGENT_BIN}});
  start_source(host, "src");
  auto before = host.ask<VmList>(VmListRequest{});
  REQUIRE(before.ok());

  auto r = cli(host, {"-o", "json", "vm", "clone", "src@nosuch", "c1"});
  CHECK(r.exit_code == 1);
  CHECK(error_code(r) == "not_found");
  CHECK(r.out.find("\"op_id\": \"op-") != std::string::npos);

  r = cli(host, {"-o", "json", "vm", "clone", "nosuchvm", "c1"});
  CHECK(r.exit_code == 1);
  CHECK(error_code(r) == "not_found");

  r = cli(host, {"-o", "json", "vm", "clone", "src", "src"});
  CHECK(r.exit_code == 1);
  CHECK(error_code(r) == "already_exists");

  // Refused before the daemon is asked.
  r = cli(host, {"vm", "clone", "src@Bad!", "c1"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("invalid snapshot name") != std::string::npos);

  // A stopped VM has no guest to clone, nor does a snapshot of one.
  REQUIRE(cli(host, {"vm", "snapshot", "src", "cold-later"}).exit_code == 0);
  REQUIRE(cli(host, {"vm", "stop", "src"}).exit_code == 0);
  REQUIRE(cli(host, {"vm", "snapshot", "src", "cold"}).exit_code == 0);
  r = cli(host, {"-o", "json", "vm", "clone", "src", "c1"});
  CHECK(error_code(r) == "conflict");
  CHECK(r.out.find("is stopped") != std::string::npos);
  r = cli(host, {"-o", "json", "vm", "clone", "src@cold", "c1"});
  CHECK(error_code(r) == "conflict");
  CHECK(r.out.find("taken while it was stopped") != std::string::npos);

  auto after = host.ask<VmList>(VmListRequest{});
  REQUIRE(after.ok());
  CHECK(after->vms.size() == before->vms.size());
  // Only the source's own folder under state/vms.
  CHECK(vm_folders(host) == 1);
}

TEST_CASE("a clone whose guest has no agent fails at its identity and is removed") {
  BANGER_REQUIRE_ROOT();
  // No agent behind fc-stub's vsock socket: nothing can give the clone its
  // own identity, and a clone with the source's address must not run.
  Host host(HostOptions{{"vmm.boot-timeout=3s"}, {}});
  host.start_helper();
  host.start_daemon();
  host.wait_ready();
  host.add_image("tiny");
  REQUIRE(cli(host, {"vm", "create", "--image", "tiny", "--name", "src", "--start"}).exit_code
          == 0);
  REQUIRE(show(host, "src").runtime.state == VmState::running);
  auto r = cli(host, {"-o", "json", "vm", "clone", "src", "c1"});
  CHECK(r.exit_code == 1);
  CHECK(error_code(r) == "agent_unavailable");
  CHECK(r.out.find("guest agent") != std::string::npos);
  auto list = host.ask<VmList>(VmListRequest{});
  REQUIRE(list.ok());
  REQUIRE(list->vms.size() == 1);
  CHECK(list->vms[0].name == "src");
  CHECK(list->vms[0].runtime.state == VmState::running);
  CHECK(vm_folders(host) == 1);
  CHECK(host.vmm_pids().size() == 1);
}

TEST_CASE("a clone cut off by a daemon SIGKILL before it took its identity is removed at restart") {
  BANGER_REQUIRE_ROOT();
  // No agent: the clone waits at set_identity (its guest restored and
  // running with the source's address) until the daemon is killed.
  Host host(HostOptions{{"vmm.boot-timeout=60s"}, {}});
  host.start_helper();
  host.start_daemon();
  host.wait_ready();
  host.add_image("tiny");
  REQUIRE(cli(host, {"vm", "create", "--image", "tiny", "--name", "src", "--start"}).exit_code
          == 0);
  RunResult cloned;
  std::thread clone([&] { cloned = cli(host, {"vm", "clone", "src", "c1"}, 90s); });
  bool waiting = eventually(
    [&] {
      auto vm = host.ask<VmRecord>(VmShowRequest{{}, "c1"}, 2s);
      return vm.ok() && vm->runtime.stage == "set_identity";
    },
    30s, 20ms);
  CHECK(waiting);
  auto c1 = host.ask<VmRecord>(VmShowRequest{{}, "c1"});
  host.stop_daemon(SIGKILL);
  clone.join();
  CHECK(cloned.exit_code != 0);
  REQUIRE(c1.ok());
  CHECK(host.vmm_pids().size() == 2); // the clone's VMM outlived the daemon

  host.start_daemon();
  host.wait_ready();
  REQUIRE(eventually(
    [&] {
      auto list = host.ask<VmList>(VmListRequest{});
      return list.ok() && list->vms.size() == 1 && list->vms[0].name == "src"
             && host.vmm_pids().size() == 1;
    },
    30s, 50ms));
  CHECK(!host.tap_exists(c1->id));
  CHECK(!std::filesystem::exists(host.path("state/vms/" + c1->id)));
  CHECK(show(host, "src").runtime.state == VmState::running);
}
