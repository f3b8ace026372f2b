// Pause and snapshots through the API, in the orders Firecracker accepts
// and the ones it refuses: pause only a started guest, snapshot only a
// paused one, load only into a process with no configuration, and nothing
// configured after a load. A load that fails ends the process, as in
// Firecracker.
#include "tests/fc_stub/stub_harness.hpp"

#include <doctest/doctest.h>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

namespace banger::fc_stub::test {
namespace {

constexpr std::string_view pre_boot =
    "The requested operation is not supported before starting the microVM.";
constexpr std::string_view post_boot =
    "The requested operation is not supported after starting the microVM.";
constexpr std::string_view load_prefix =
    "Load snapshot error: Failed to restore from snapshot: ";

struct Snapshot {
  std::string state;
  std::string memory;
};

std::string read_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(file)), {});
}

/// `length` bytes at `offset` (memory files are large and mostly holes).
std::string read_at(const std::string& path, std::uint64_t offset,
                    std::size_t length) {
  std::ifstream file(path, std::ios::binary);
  file.seekg(static_cast<std::streamoff>(offset));
  std::string bytes(length, '\0');
  file.read(bytes.data(), static_cast<std::streamsize>(length));
  bytes.resize(static_cast<std::size_t>(file.gcount()));
  return bytes;
}

/// The first line of a memory file: the guest's boot and uptime.
std::string memory_head(const std::string& path) {
  std::string head = read_at(path, 0, 128);
  return head.substr(0, head.find('\n'));
}

std::uint64_t file_size(const std::string& path) {
  struct stat status {};
  REQUIRE(::stat(path.c_str(), &status) == 0);
  return static_cast<std::uint64_t>(status.st_size);
}

/// The boot id the stub's log gave the guest at InstanceStart.
std::string boot_id_of(const Stub& stub) {
  std::string log = stub.log();
  std::size_t at = log.find(" MiB, boot ");
  REQUIRE(at != std::string::npos);
  return log.substr(at + 11, 16);
}

std::string create_body(const Snapshot& snapshot) {
  return R"({"snapshot_type": "Full", "snapshot_path": ")" + snapshot.state +
         R"(", "mem_file_path": ")" + snapshot.memory + R"("})";
}

/// Snapshots the paused `source` into files named `name` in its directory.
Snapshot snapshot_into(Stub& source, const std::string& name) {
  Snapshot snapshot{source.path(name + ".state"), source.path(name + ".mem")};
  Reply created = source.api().put("/snapshot/create", create_body(snapshot));
  INFO(created.body);
  REQUIRE(created.status == 204);
  return snapshot;
}

/// The guest's memory in these tests: small, so its files are quick to
/// write and remove.
constexpr std::uint64_t guest_mib = 32;

/// Boots `source` with a guest_mib guest, pauses it and snapshots it into
/// its own directory.
Snapshot take_snapshot(Stub& source) {
  source.configure();
  REQUIRE(source.api()
              .patch("/machine-config",
                     R"({"mem_size_mib": )" + std::to_string(guest_mib) + "}")
              .status == 204);
  REQUIRE(source.api()
              .put("/actions", R"({"action_type": "InstanceStart"})")
              .status == 204);
  REQUIRE(source.api().patch("/vm", R"({"state": "Paused"})").status == 204);
  return snapshot_into(source, "vm");
}

/// A snapshot/load body as banger sends it, loading into `target`.
std::string load_body(const Snapshot& snapshot, const Stub& target,
                      bool resume = true, std::string_view iface = "eth0") {
  return R"({"snapshot_path": ")" + snapshot.state +
         R"(", "mem_backend": {"backend_type": "File", "backend_path": ")" +
         snapshot.memory + R"("}, "resume_vm": )" +
         (resume ? "true" : "false") +
         R"(, "network_overrides": [{"iface_id": ")" + std::string(iface) +
         R"(", "host_dev_name": "tap-restored"}], "vsock_override": {"uds_path": ")" +
         target.path("vsock.sock") + R"("}})";
}

/// Loads `body` into a fresh stub and expects the load to be refused and
/// the process to end with exit code 1; returns the fault message.
std::string failed_load(const std::string& body) {
  Stub target;
  Reply reply = target.api().put("/snapshot/load", body);
  CHECK(reply.status == 400);
  auto status = target.wait_exit();
  REQUIRE(status);
  CHECK(exit_code(*status) == 1);
  return reply.fault();
}

TEST_CASE("pause, resume and snapshot/create of a guest that never started "
          "are refused") {
  Stub stub;
  stub.configure();
  CHECK(stub.api().patch("/vm", R"({"state": "Paused"})").fault() == pre_boot);
  CHECK(stub.api().patch("/vm", R"({"state": "Resumed"})").fault() == pre_boot);
  Snapshot snapshot{stub.path("vm.state"), stub.path("vm.mem")};
  CHECK(stub.api().put("/snapshot/create", create_body(snapshot)).fault() ==
        pre_boot);
  CHECK_FALSE(path_exists(snapshot.state));
  CHECK(stub.api().get("/").json()["state"] == "Not started");
}

TEST_CASE("a running guest cannot be snapshotted and nothing is written") {
  Stub stub;
  stub.boot();
  Snapshot snapshot{stub.path("vm.state"), stub.path("vm.mem")};
  Reply refused = stub.api().put("/snapshot/create", create_body(snapshot));
  CHECK(refused.status == 400);
  CHECK(refused.fault() ==
        "Create snapshot error: Cannot save the microVM state: Operation not "
        "allowed: save/restore unavailable while running");
  CHECK_FALSE(path_exists(snapshot.state));
  CHECK_FALSE(path_exists(snapshot.memory));
  // Paused and resumed again, it is running and still refused.
  CHECK(stub.api().patch("/vm", R"({"state": "Paused"})").status == 204);
  CHECK(stub.api().patch("/vm", R"({"state": "Resumed"})").status == 204);
  CHECK(stub.api().put("/snapshot/create", create_body(snapshot)).status ==
        400);
}

TEST_CASE("pausing a paused guest and resuming a running one are accepted") {
  Stub stub;
  stub.boot();
  CHECK(stub.api().patch("/vm", R"({"state": "Resumed"})").status == 204);
  CHECK(stub.api().patch("/vm", R"({"state": "Paused"})").status == 204);
  CHECK(stub.api().patch("/vm", R"({"state": "Paused"})").status == 204);
  CHECK(stub.api().get("/").json()["state"] == "Paused");
}

TEST_CASE("a snapshot is a sealed state file and a memory file of the guest's "
          "size") {
  Stub source;
  Snapshot snapshot = take_snapshot(source);
  std::string state = read_file(snapshot.state);
  CHECK(state.rfind("fc-stub snapshot v10.0.0\n", 0) == 0);
  std::size_t body_start = state.find('\n') + 1;
  std::size_t seal = state.rfind("crc64 ");
  REQUIRE(seal != std::string::npos);
  auto described =
      nlohmann::json::parse(state.substr(body_start, seal - body_start));
  CHECK(described["machine-config"]["mem_size_mib"] == guest_mib);
  CHECK(described["machine-config"]["vcpu_count"] == 2);
  CHECK(described["network-interfaces"][0]["iface_id"] == "eth0");
  CHECK(described["network-interfaces"][0]["host_dev_name"] == "tap0");
  CHECK(described["vsock"]["uds_path"] == source.path("vsock.sock"));
  CHECK(described["guest"]["boot_id"] == boot_id_of(source));

  CHECK(file_size(snapshot.memory) == guest_mib << 20);
  CHECK(memory_head(snapshot.memory)
            .rfind("fc-stub guest memory boot=" + boot_id_of(source) +
                       " mib=0/32 uptime_ms=",
                   0) == 0);
  std::string last = "fc-stub guest memory boot=" + boot_id_of(source) +
                     " mib=31/32 uptime_ms=";
  CHECK(read_at(snapshot.memory, 31ULL << 20, last.size()) == last);
  // The guest is still there, paused, and can run on.
  CHECK(source.api().get("/").json()["state"] == "Paused");
  CHECK(source.api().patch("/vm", R"({"state": "Resumed"})").status == 204);
}

TEST_CASE("a fresh process loads a snapshot and becomes the same guest on the "
          "devices the load names") {
  Stub source;
  Snapshot snapshot = take_snapshot(source);
  std::string head = memory_head(snapshot.memory);
  std::string saved_uptime = head.substr(head.find("uptime_ms=") + 10);

  Stub target({.arguments = {}, .id = "restored"});
  Reply loaded =
      target.api().put("/snapshot/load", load_body(snapshot, target));
  INFO(loaded.body);
  CHECK(loaded.status == 204);
  CHECK(target.api().get("/").json()["state"] == "Running");
  auto config = target.api().get("/vm/config").json();
  CHECK(config["machine-config"]["mem_size_mib"] == guest_mib);
  CHECK(config["network-interfaces"][0]["iface_id"] == "eth0");
  CHECK(config["network-interfaces"][0]["host_dev_name"] == "tap-restored");
  CHECK(config["network-interfaces"][0]["guest_mac"] == "06:00:ac:10:00:02");
  CHECK(config["vsock"]["uds_path"] == target.path("vsock.sock"));
  CHECK(path_exists(target.path("vsock.sock")));
  // The same boot, its clock where the memory file left it.
  CHECK(contains(target.log(), "Guest restored: boot " + boot_id_of(source) +
                                   ", uptime " + saved_uptime + " ms, 32 MiB"));
  // A running guest, as after a boot: it pauses, snapshots and shuts down.
  CHECK(target.api().patch("/vm", R"({"state": "Paused"})").status == 204);
  Snapshot again{target.path("again.state"), target.path("again.mem")};
  CHECK(target.api().put("/snapshot/create", create_body(again)).status == 204);
  CHECK(contains(memory_head(again.memory), "boot=" + boot_id_of(source)));
  CHECK(target.api().patch("/vm", R"({"state": "Resumed"})").status == 204);
  CHECK(target.api()
            .put("/actions", R"({"action_type": "SendCtrlAltDel"})")
            .status == 204);
  auto status = target.wait_exit();
  REQUIRE(status);
  CHECK(exit_code(*status) == 0);
}

TEST_CASE("resume_vm false leaves the loaded guest paused until PATCH /vm") {
  Stub source;
  Snapshot snapshot = take_snapshot(source);
  Stub target;
  CHECK(target.api()
            .put("/snapshot/load", load_body(snapshot, target, false))
            .status == 204);
  CHECK(target.api().get("/").json()["state"] == "Paused");
  CHECK(target.api().patch("/vm", R"({"state": "Resumed"})").status == 204);
  CHECK(target.api().get("/").json()["state"] == "Running");
}

TEST_CASE("a load after only the logger and metrics were set is accepted, "
          "with the deprecated mem_file_path too") {
  Stub source;
  Snapshot snapshot = take_snapshot(source);
  Stub target;
  CHECK(target.api()
            .put("/logger",
                 R"({"log_path": ")" + target.path("api.log") + R"("})")
            .status == 204);
  CHECK(target.api()
            .put("/metrics", R"({"metrics_path": ")" +
                                 target.path("metrics.json") + R"("})")
            .status == 204);
  Reply loaded = target.api().put(
      "/snapshot/load",
      R"({"snapshot_path": ")" + snapshot.state + R"(", "mem_file_path": ")" +
          snapshot.memory +
          R"(", "resume_vm": true, "vsock_override": {"uds_path": ")" +
          target.path("vsock.sock") + R"("}})");
  INFO(loaded.body);
  CHECK(loaded.status == 204);
  CHECK(loaded.has_header("Deprecation: true"));
}

TEST_CASE("any boot configuration before a load makes it refused, and the "
          "process lives on") {
  Stub source;
  Snapshot snapshot = take_snapshot(source);
  std::string kernel = source.path("vmlinux");
  std::string rootfs = source.path("rootfs.ext4");
  const std::pair<std::string, std::string> configurations[] = {
      {"/machine-config", R"({"vcpu_count": 1, "mem_size_mib": 128})"},
      {"/boot-source", R"({"kernel_image_path": ")" + kernel + R"("})"},
      {"/drives/rootfs",
       R"({"drive_id": "rootfs", "path_on_host": ")" + rootfs +
           R"(", "is_root_device": true, "is_read_only": false})"},
      {"/network-interfaces/eth0",
       R"({"iface_id": "eth0", "host_dev_name": "tap1"})"},
      {"/balloon", R"({"amount_mib": 0, "deflate_on_oom": false})"},
      {"/entropy", "{}"},
      // Refused configuration counts too: Firecracker marks the boot path
      // before it checks the request.
      {"/boot-source", R"({"kernel_image_path": "/nonexistent"})"},
  };
  for (const auto& [path, body] : configurations) {
    CAPTURE(path);
    Stub target;
    target.api().put(path, body);
    Reply refused =
        target.api().put("/snapshot/load", load_body(snapshot, target));
    CHECK(refused.status == 400);
    CHECK(refused.fault() ==
          "Load snapshot error: Loading a microVM snapshot not allowed after "
          "configuring boot-specific resources.");
    CHECK(target.running());
    CHECK(target.api().get("/").json()["state"] == "Not started");
  }
  // The vsock, on its own path.
  Stub target;
  CHECK(target.api()
            .put("/vsock", R"({"guest_cid": 3, "uds_path": ")" +
                               target.path("other.sock") + R"("})")
            .status == 204);
  CHECK(
      target.api().put("/snapshot/load", load_body(snapshot, target)).status ==
      400);
  CHECK(target.running());
}

TEST_CASE("a load into a started guest is refused") {
  Stub source;
  Snapshot snapshot = take_snapshot(source);
  Stub target;
  target.boot();
  CHECK(
      target.api().put("/snapshot/load", load_body(snapshot, target)).fault() ==
      post_boot);
  CHECK(target.running());
}

TEST_CASE("after a load, configuration, a second load and InstanceStart are "
          "refused") {
  Stub source;
  Snapshot snapshot = take_snapshot(source);
  Stub target;
  REQUIRE(
      target.api().put("/snapshot/load", load_body(snapshot, target)).status ==
      204);
  const std::pair<std::string, std::string> refused[] = {
      {"/machine-config", R"({"vcpu_count": 1, "mem_size_mib": 128})"},
      {"/boot-source",
       R"({"kernel_image_path": ")" + source.path("vmlinux") + R"("})"},
      {"/vsock",
       R"({"guest_cid": 3, "uds_path": ")" + target.path("v2.sock") + R"("})"},
      {"/snapshot/load", load_body(snapshot, target)},
      {"/actions", R"({"action_type": "InstanceStart"})"},
  };
  for (const auto& [path, body] : refused) {
    CAPTURE(path);
    CHECK(target.api().put(path, body).fault() == post_boot);
  }
  CHECK(target.api().get("/").json()["state"] == "Running");
}

TEST_CASE("a state file that is missing, corrupted or of another format "
          "fails the load and ends the process") {
  Stub source;
  Snapshot snapshot = take_snapshot(source);
  std::string state = read_file(snapshot.state);
  auto variant = [&](std::string_view name, const std::string& contents) {
    Snapshot changed{source.create_file(name, contents), snapshot.memory};
    return changed;
  };
  Stub probe; // only for its directory in the load body
  auto load_of = [&](const Snapshot& which) { return load_body(which, probe); };

  CHECK(failed_load(load_of({source.path("absent.state"), snapshot.memory})) ==
        std::string(load_prefix) +
            "Failed to get snapshot state from file: Failed to open snapshot "
            "file: No such file or directory (os error 2)");

  std::string flipped = state;
  flipped[flipped.find("mem_size_mib") + 2] ^= 0x20;
  CHECK(failed_load(load_of(variant("flipped.state", flipped))) ==
        std::string(load_prefix) +
            "Failed to get snapshot state from file: Failed to load snapshot "
            "state from file: CRC64 validation failed");

  CHECK(contains(failed_load(load_of(variant(
                     "truncated.state", state.substr(0, state.size() / 2)))),
                 "CRC64 validation failed"));
  CHECK(contains(
      failed_load(load_of(variant("alien.state", "not a snapshot at all\n"))),
      "Magic value does not match arch: "));
  std::string newer = state;
  newer.replace(newer.find("v10.0.0"), 7, "v11.0.0");
  CHECK(contains(failed_load(load_of(variant("newer.state", newer))),
                 "Invalid data version: 11.0.0"));
}

TEST_CASE("a memory file that is missing, of the wrong size or of another "
          "guest fails the load and ends the process") {
  Stub source;
  Snapshot snapshot = take_snapshot(source);
  Stub probe;
  std::string memory_prefix =
      std::string(load_prefix) +
      "Failed to load guest memory: Error creating guest memory from file: ";

  CHECK(failed_load(
            load_body({snapshot.state, source.path("absent.mem")}, probe)) ==
        memory_prefix + "Failed to load guest memory: No such file or "
                        "directory (os error 2)");

  Snapshot shorter = snapshot_into(source, "short");
  REQUIRE(::truncate(shorter.memory.c_str(), (guest_mib << 20) - 4096) == 0);
  CHECK(failed_load(load_body(shorter, probe)) ==
        memory_prefix +
            "Failed to restore guest memory: Total sum of memory regions "
            "exceeds largest possible file offset");

  Snapshot longer = snapshot_into(source, "long");
  REQUIRE(::truncate(longer.memory.c_str(), (guest_mib << 20) + 1) == 0);
  CHECK(contains(failed_load(load_body(longer, probe)),
                 "the memory file has 33554433 bytes, the snapshot's guest "
                 "33554432"));

  // Another boot's memory of the same size.
  Stub other;
  Snapshot foreign = take_snapshot(other);
  CHECK(failed_load(load_body({snapshot.state, foreign.memory}, probe)) ==
        memory_prefix +
            "Failed to restore guest memory: MiB 0 of the memory file does not "
            "hold this snapshot's guest memory (fc-stub)");

  // Memory damaged in the middle.
  Snapshot damaged = snapshot_into(source, "damaged");
  {
    std::fstream file(damaged.memory,
                      std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(20LL << 20);
    file.put('X');
  }
  CHECK(contains(failed_load(load_body(damaged, probe)),
                 "MiB 20 of the memory file does not hold"));
}

TEST_CASE("overrides may name only devices the snapshot has") {
  Stub source;
  Snapshot snapshot = take_snapshot(source);
  Stub probe;
  CHECK(failed_load(load_body(snapshot, probe, true, "eth1")) ==
        std::string(load_prefix) +
            "Failed to get snapshot state from file: Unknown Network Device.");

  // A guest saved without a vsock device.
  Stub bare;
  std::string kernel = bare.create_file("vmlinux", "kernel");
  REQUIRE(
      bare.api()
          .put("/boot-source", R"({"kernel_image_path": ")" + kernel + R"("})")
          .status == 204);
  REQUIRE(bare.api()
              .put("/actions", R"({"action_type": "InstanceStart"})")
              .status == 204);
  REQUIRE(bare.api().patch("/vm", R"({"state": "Paused"})").status == 204);
  Snapshot without{bare.path("bare.state"), bare.path("bare.mem")};
  REQUIRE(bare.api().put("/snapshot/create", create_body(without)).status ==
          204);
  std::string with_vsock_override =
      R"({"snapshot_path": ")" + without.state +
      R"(", "mem_backend": {"backend_type": "File", "backend_path": ")" +
      without.memory + R"("}, "vsock_override": {"uds_path": ")" +
      probe.path("vsock.sock") + R"("}})";
  CHECK(failed_load(with_vsock_override) ==
        std::string(load_prefix) +
            "Failed to get snapshot state from file: Unknown Vsock Device.");
  // Without the override the same snapshot loads.
  Stub target;
  CHECK(
      target.api()
          .put(
              "/snapshot/load",
              R"({"snapshot_path": ")" + without.state +
                  R"(", "mem_backend": {"backend_type": "File", "backend_path": ")" +
                  without.memory + R"("}})")
          .status == 204);
}

TEST_CASE("a vsock socket path still in use fails the restore of its device") {
  Stub source;
  Snapshot snapshot = take_snapshot(source);
  // No override: the saved path, which the source still listens on.
  std::string body =
      R"({"snapshot_path": ")" + snapshot.state +
      R"(", "mem_backend": {"backend_type": "File", "backend_path": ")" +
      snapshot.memory + R"("}, "resume_vm": true})";
  CHECK(
      contains(failed_load(body),
               "Failed to build microVM from snapshot: Failed to restore "
               "devices: Cannot create backend for vsock device: Error "
               "binding to the host-side Unix socket: Address already in use"));
}

} // namespace
} // namespace banger::fc_stub::test
