// What banger says to Firecracker, call by call: methods, paths and bodies
// as the v1.16.1 API defines them, and how refusals read.
#include "actors/firecracker_driver.hpp"

#include <algorithm>
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

using namespace banger;
using nlohmann::json;

namespace {

const std::string socket = "/run/banger/vms/0123456789abcdef/api.sock";

json body_of(const HttpCall& call) { return json::parse(call.body); }

} // namespace

TEST_CASE("pause and resume are PATCH /vm with the state Firecracker knows") {
  auto pause = firecracker::pause_vm(socket);
  CHECK(pause.socket == socket);
  CHECK(pause.method == "PATCH");
  CHECK(pause.path == "/vm");
  CHECK(body_of(pause) == json{{"state", "Paused"}});
  auto resume = firecracker::resume_vm(socket);
  CHECK(resume.method == "PATCH");
  CHECK(resume.path == "/vm");
  CHECK(body_of(resume) == json{{"state", "Resumed"}});
  CHECK(resume.timeout_ms == firecracker::api_timeout.count());
}

TEST_CASE("a suspend asks for a Full snapshot into the two files it is given") {
  SavedState to;
  to.state_path = "/var/lib/banger/state/vms/0123456789abcdef/suspend.state.partial";
  to.memory_path = "/var/lib/banger/state/vms/0123456789abcdef/suspend.mem.partial";
  auto call = firecracker::create_snapshot(socket, to, 256);
  CHECK(call.method == "PUT");
  CHECK(call.path == "/snapshot/create");
  CHECK(body_of(call) == json{{"snapshot_type", "Full"},
                              {"snapshot_path", to.state_path},
                              {"mem_file_path", to.memory_path}});
}

TEST_CASE("a bigger guest gets more time to write its memory out") {
  SavedState to{"/s", "/m", 0, "", 0, "firecracker"};
  auto small = firecracker::create_snapshot(socket, to, 128);
  auto large = firecracker::create_snapshot(socket, to, 4096);
  CHECK(small.timeout_ms > firecracker::api_timeout.count());
  CHECK(large.timeout_ms > small.timeout_ms);
  // 4 GiB at a slow disk's 50 MiB/s is about 80 s.
  CHECK(large.timeout_ms >= 80'000);
}

TEST_CASE("a restore loads the files with the VM's tap and vsock socket and leaves the guest "
          "paused") {
  firecracker::RestoreConfig restore{"/vm/suspend.state", "/vm/suspend.mem", "tap-fc-01234567",
                                     "/run/banger/vms/0123456789abcdef/vsock.sock"};
  auto call = firecracker::load_snapshot(socket, restore);
  CHECK(call.method == "PUT");
  CHECK(call.path == "/snapshot/load");
  json expected = {
    {"snapshot_path", "/vm/suspend.state"},
    {"mem_backend", {{"backend_type", "File"}, {"backend_path", "/vm/suspend.mem"}}},
    {"resume_vm", false},
    {"network_overrides", json::array({{{"iface_id", "eth0"}, {"host_dev_name", "tap-fc-01234567"}}})},
    {"vsock_override", {{"uds_path", "/run/banger/vms/0123456789abcdef/vsock.sock"}}},
    {"clock_realtime", true},
  };
  CHECK(body_of(call) == expected);
  // Only one of the two memory fields the spec allows, the current one.
  CHECK_FALSE(body_of(call).contains("mem_file_path"));
}

TEST_CASE("the interface a restore overrides is the one the configuration created") {
  firecracker::BootConfig boot;
  boot.tap = "tap-fc-01234567";
  boot.mac = "06:00:ac:1e:00:02";
  auto calls = firecracker::configure_calls(socket, boot);
  auto network = std::find_if(calls.begin(), calls.end(), [](const HttpCall& c) {
    return c.path.rfind("/network-interfaces/", 0) == 0;
  });
  REQUIRE(network != calls.end());
  CHECK(network->path == std::string("/network-interfaces/") + firecracker::guest_iface);
  CHECK(body_of(*network)["iface_id"] == firecracker::guest_iface);
  auto load = firecracker::load_snapshot(socket, {"/s", "/m", boot.tap, "/v"});
  CHECK(body_of(load)["network_overrides"][0]["iface_id"] == firecracker::guest_iface);
}

TEST_CASE("a refused snapshot call reads as vmm_failed with Firecracker's fault message") {
  auto call = firecracker::create_snapshot(socket, {"/s", "/m", 0, "", 0, ""}, 128);
  HttpReply refused{400, R"({"fault_message": "Create snapshot error: Cannot save the microVM )"
                         R"(state: Operation not allowed: save/restore unavailable while running"})"};
  auto verdict = firecracker::judge(call, refused);
  REQUIRE_FALSE(verdict.ok());
  CHECK(verdict.error().code == Errc::vmm_failed);
  CHECK(verdict.error().message
        == "firecracker rejected PUT /snapshot/create (400): Create snapshot error: Cannot save "
           "the microVM state: Operation not allowed: save/restore unavailable while running");
  CHECK(firecracker::judge(call, HttpReply{204, ""}).ok());
}
