// What a new user meets first, against real processes (banger-helper,
// bangerd, fc-stub): a VMM that dies during start says why in its own
// words, sizes the host cannot give are refused at create, every create
// records its stages and error, a guest that powers itself off is a stop
// and not an error, generated names are readable, and a stop of a guest
// still booting does not sit out the whole grace.
#include "actors/host_capacity.hpp"
#include "actors/directory_actor.hpp"
#include "tests/integration/helpers.hpp"

#include <doctest/doctest.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

using namespace banger;
using namespace banger::test;
using namespace std::chrono_literals;

namespace {

/// An async create (what `banger vm create` sends) and its final status.
OperationStatus create_and_wait(Host& host, VmSpec spec) {
  VmCreateBeginRequest begin;
  begin.spec = std::move(spec);
  auto accepted = host.ask<OpAccepted>(begin);
  REQUIRE_MESSAGE(accepted.ok(), (accepted.ok() ? "" : accepted.error().message));
  OperationStatus status;
  bool ended = eventually([&] {
    auto op = host.ask<OperationStatus>(OpStatusRequest{{}, accepted->op_id});
    if (!op.ok())
      return false;
    status = *op;
    return status.outcome != OperationOutcome::running;
  }, 30s, 20ms);
  REQUIRE(ended);
  return status;
}

std::vector<std::string> stage_names(const OperationStatus& op) {
  std::vector<std::string> names;
  for (auto& s : op.stages)
    names.push_back(s.name);
  return names;
}

bool has(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

VmSpec spec_of(const std::string& name, bool start) {
  VmSpec spec;
  spec.name = name;
  spec.image = "tiny";
  spec.start = start;
  return spec;
}

} // namespace

TEST_CASE("a VMM that exits during start is reported with its own error line, and op show has every stage") {
  BANGER_REQUIRE_ROOT();
  Faults faults;
  faults.set("* exit-on-start 1\n");
  Running env{HostOptions{{}, {faults.env()}}};
  auto& host = env.host;
  auto op = create_and_wait(host, spec_of("doomed", true));
  CHECK(op.outcome == OperationOutcome::failed);
  CHECK(op.kind == "vm.create");
  // The VMM's words, not the symptom on our side of its socket.
  CHECK_MESSAGE(op.error_message.find("Cannot allocate memory") != std::string::npos,
                op.error_message);
  CHECK_MESSAGE(op.error_message.find("start failed at start_instance: the VMM exited") != std::string::npos,
                op.error_message);
  CHECK(op.error_message.find("reset by peer") == std::string::npos);
  CHECK(op.error_code == static_cast<std::uint8_t>(Errc::vmm_failed));
  auto names = stage_names(op);
  CAPTURE(op.stages.size());
  for (auto stage : {"resolve_image", "reserve_name", "allocate", "save_record", "prepare_rootfs",
                     "launch_vmm", "watch_vmm", "wait_api_socket", "configure_vmm", "start_instance"})
    CHECK_MESSAGE(has(names, stage), stage);
  REQUIRE_FALSE(op.stages.empty());
  CHECK_FALSE(op.stages.back().ok);
  CHECK(op.stage == "start_instance");
  auto shown = show(host, "doomed");
  REQUIRE(shown.ok());
  CHECK(shown->runtime.state == VmState::error);
  CHECK(shown->runtime.last_error.find("Cannot allocate memory") != std::string::npos);
  CHECK(host.vmm_pids().empty());
}

TEST_CASE("a create that fails before the VM exists still records its stages and error") {
  BANGER_REQUIRE_ROOT();
  Running env;
  auto op = create_and_wait(env.host, [] {
    VmSpec spec;
    spec.name = "orphan";
    spec.image = "no-such-image";
    return spec;
  }());
  CHECK(op.outcome == OperationOutcome::failed);
  CHECK(op.error_code == static_cast<std::uint8_t>(Errc::not_found));
  CHECK_FALSE(op.error_message.empty());
  REQUIRE(op.stages.size() == 1);
  CHECK(op.stages[0].name == "resolve_image");
  CHECK_FALSE(op.stages[0].ok);
  CHECK(op.finished_at_us >= op.started_at_us);
}

TEST_CASE("sizes beyond the host are refused at create, before anything is spawned") {
  BANGER_REQUIRE_ROOT();
  auto host_has = host_capacity();
  REQUIRE(host_has.memory_mib > 0);
  REQUIRE(host_has.cpus > 0);
  Running env;
  auto& host = env.host;

  auto too_big = spec_of("huge", true);
  too_big.memory_mib = static_cast<std::uint32_t>(host_has.memory_mib + 1024);
  if (too_big.memory_mib <= 256 * 1024) {
    auto op = create_and_wait(host, too_big);
    CHECK(op.outcome == OperationOutcome::failed);
    CHECK(op.error_code == static_cast<std::uint8_t>(Errc::invalid_argument));
    CHECK_MESSAGE(op.error_message.find("more than this host has") != std::string::npos,
                  op.error_message);
    CHECK(op.stage == "allocate");
    CHECK(show(host, "huge").error().code == Errc::not_found);
    CHECK(host.vmm_pids().empty());
  }

  auto many = spec_of("crowded", false);
  many.cpus = host_has.cpus + 1;
  if (many.cpus <= 32) {
    auto op = create_and_wait(host, many);
    CHECK(op.outcome == OperationOutcome::failed);
    CHECK(op.error_code == static_cast<std::uint8_t>(Errc::invalid_argument));
    CHECK_MESSAGE(op.error_message.find("vmm.cpu-overcommit") != std::string::npos,
                  op.error_message);
    CHECK(show(host, "crowded").error().code == Errc::not_found);
  }
}

TEST_CASE("vmm.cpu-overcommit lets a VM have more vCPUs than the host has CPUs") {
  BANGER_REQUIRE_ROOT();
  auto cpus = host_capacity().cpus + 1;
  if (cpus > 32)
    BANGER_SKIP("the host has more CPUs than a VM may have");
  Running env{HostOptions{{"vmm.cpu-overcommit=true"}, {}}};
  auto spec = spec_of("wide", false);
  spec.cpus = cpus;
  auto op = create_and_wait(env.host, spec);
  CHECK_MESSAGE(op.outcome == OperationOutcome::succeeded, op.error_message);
  CHECK(show(env.host, "wide")->cpus == cpus);
}

TEST_CASE("a guest that powers itself off is recorded as a guest stop, not an error") {
  BANGER_REQUIRE_ROOT();
  Faults faults;
  faults.set("* poweroff-after-boot-ms 200\n");
  Running env{HostOptions{{}, {faults.env()}}};
  auto& host = env.host;
  auto vm = create_vm(host, "selfstop", true);
  REQUIRE(vm.ok());
  Result<VmRecord> shown = Error{Errc::internal, "not shown"};
  bool stopped = eventually([&] {
    shown = show(host, "selfstop");
    return shown.ok() && shown->runtime.state == VmState::stopped;
  }, 15s, 20ms);
  REQUIRE(stopped);
  CHECK(shown->runtime.last_stop == StopRung::guest);
  CHECK_MESSAGE(shown->runtime.last_error.empty(), shown->runtime.last_error);
  CHECK(host.vmm_pids().empty());
  CHECK_FALSE(host.tap_exists(vm->id));
  // And it starts again.
  faults.set("");
  CHECK(act(host, "selfstop", VmAction::start).ok());
}

TEST_CASE("a VMM that dies on its own is an error that carries its last lines") {
  BANGER_REQUIRE_ROOT();
  Faults faults;
  faults.set("* crash-after-boot-ms 200\n");
  Running env{HostOptions{{}, {faults.env()}}};
  auto& host = env.host;
  REQUIRE(create_vm(host, "crashy", true).ok());
  Result<VmRecord> shown = Error{Errc::internal, "not shown"};
  REQUIRE(eventually([&] {
    shown = show(host, "crashy");
    return shown.ok() && shown->runtime.state == VmState::stopped;
  }, 15s, 20ms));
  CHECK(shown->runtime.last_stop == StopRung::none);
  CHECK_MESSAGE(shown->runtime.last_error.find("the VMM exited on its own: ") != std::string::npos,
                shown->runtime.last_error);
  CHECK_MESSAGE(shown->runtime.last_error.find("crash-after-boot") != std::string::npos,
                shown->runtime.last_error);
}

TEST_CASE("VMs created without a name get distinct readable names") {
  BANGER_REQUIRE_ROOT();
  Running env;
  std::set<std::string> names;
  const std::regex readable{"[a-z]+-[a-z]+(-[0-9]+)?"};
  for (int i = 0; i < 3; ++i) {
    auto vm = create_vm(env.host, "", false);
    REQUIRE(vm.ok());
    CHECK_MESSAGE(std::regex_match(vm->name, readable), vm->name);
    CHECK(is_valid_name(vm->name));
    names.insert(vm->name);
  }
  CHECK(names.size() == 3);
}

TEST_CASE("a stop of a guest that is still booting does not wait out the whole grace") {
  BANGER_REQUIRE_ROOT();
  // fc-stub runs no guest: it never greets on SSH, like a guest still
  // booting; it ignores the power-off request, like a guest with no
  // handler for it yet.
  Faults faults;
  faults.set("* ignore-ctrl-alt-del\n");
  Running env{HostOptions{{"vmm.stop-grace=60s"}, {faults.env()}}};
  auto& host = env.host;
  REQUIRE(create_vm(host, "booting", true).ok());
  std::optional<Result<VmRecord>> stopped;
  auto began = std::chrono::steady_clock::now();
  std::thread stopper([&] { stopped = act(host, "booting", VmAction::stop); });
  // While it waits, show says for how long (what `vm stop` shows on a terminal).
  std::int64_t left_us = 0;
  bool waiting = eventually([&] {
    auto shown = show(host, "booting");
    if (!shown.ok() || shown->runtime.stage != "wait_for_exit" || shown->runtime.stage_deadline_us == 0)
      return false;
    left_us = shown->runtime.stage_deadline_us - now_us();
    return true;
  }, 10s, 10ms);
  stopper.join();
  auto took = std::chrono::steady_clock::now() - began;
  CHECK(waiting);
  CHECK(left_us > 0);
  CHECK(left_us <= 2'000'000);
  REQUIRE(stopped);
  REQUIRE(stopped->ok());
  CHECK((*stopped)->runtime.last_stop == StopRung::timeout);
  CHECK(took < 20s); // the grace is 60 s
  CHECK(host.vmm_pids().empty());
}
