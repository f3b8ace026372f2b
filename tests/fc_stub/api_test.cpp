// The API as a control plane sees it: status codes, bodies and Firecracker's
// fault messages, from a real fc-stub process.
#include "tests/fc_stub/stub_harness.hpp"

#include <cstring>
#include <doctest/doctest.h>
#include <fstream>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace banger::fc_stub::test {
namespace {

constexpr std::string_view serde_prefix =
    "An error occurred when deserializing the json body of a request: ";

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

TEST_CASE("a fresh instance describes itself as a Firecracker that has not "
          "started") {
  Stub stub;
  Reply info = stub.api().get("/");
  CHECK(info.status == 200);
  CHECK(info.has_header("Content-Type: application/json"));
  auto json = info.json();
  CHECK(json["app_name"] == "Firecracker");
  CHECK(json["id"] == "vm-under-test");
  CHECK(json["state"] == "Not started");
  CHECK(json["vmm_version"] == "1.16.1");
  CHECK(stub.api().get("/version").json()["firecracker_version"] == "1.16.1");
}

TEST_CASE("the full boot sequence is accepted and the instance then reports "
          "Running") {
  Stub stub;
  stub.configure();
  Reply started =
      stub.api().put("/actions", R"({"action_type": "InstanceStart"})");
  CHECK(started.status == 204);
  CHECK(started.body.empty());
  CHECK(stub.api().get("/").json()["state"] == "Running");
  auto machine = stub.api().get("/machine-config").json();
  CHECK(machine["vcpu_count"] == 2);
  CHECK(machine["mem_size_mib"] == 256);
}

TEST_CASE("a body without a required field is refused naming the field") {
  Stub stub;
  Reply reply = stub.api().put("/machine-config", R"({"vcpu_count": 2})");
  CHECK(reply.status == 400);
  CHECK(reply.fault() == std::string(serde_prefix) +
                             "missing field `mem_size_mib` at line 1 column "
                             "17.");
  Reply drive = stub.api().put("/drives/rootfs", R"({"drive_id": "rootfs"})");
  CHECK(drive.status == 400);
  CHECK(contains(drive.fault(), "missing field `is_root_device`"));
  Reply action = stub.api().put("/actions", "{}");
  CHECK(contains(action.fault(), "missing field `action_type`"));
}

TEST_CASE("a value of the wrong JSON type is refused in serde's words") {
  Stub stub;
  Reply text_for_integer = stub.api().put(
      "/machine-config", R"({"vcpu_count": "2", "mem_size_mib": 256})");
  CHECK(text_for_integer.status == 400);
  CHECK(contains(text_for_integer.fault(),
                 "invalid type: string \"2\", expected u8 at line 1 column "
                 "18"));
  Reply integer_for_boolean = stub.api().put(
      "/drives/rootfs",
      R"({"drive_id": "rootfs", "path_on_host": "x", "is_root_device": 1})");
  CHECK(contains(integer_for_boolean.fault(),
                 "invalid type: integer `1`, expected a boolean"));
  Reply float_for_integer = stub.api().put(
      "/machine-config", R"({"vcpu_count": 2.0, "mem_size_mib": 256})");
  CHECK(contains(float_for_integer.fault(),
                 "invalid type: floating point `2.0`, expected u8"));
  Reply array_for_object = stub.api().put(
      "/drives/rootfs",
      R"({"drive_id": "rootfs", "is_root_device": true, "rate_limiter": []})");
  CHECK(contains(array_for_object.fault(),
                 "invalid type: sequence, expected struct RateLimiterConfig"));
  Reply unknown_variant =
      stub.api().put("/actions", R"({"action_type": "Reboot"})");
  CHECK(contains(unknown_variant.fault(),
                 "unknown variant `Reboot`, expected one of `FlushMetrics`, "
                 "`InstanceStart`, `SendCtrlAltDel`"));
}

TEST_CASE("values outside the spec's ranges are refused") {
  Stub stub;
  Reply too_many_vcpus = stub.api().put(
      "/machine-config", R"({"vcpu_count": 33, "mem_size_mib": 256})");
  CHECK(too_many_vcpus.status == 400);
  CHECK(too_many_vcpus.fault() ==
        "Machine config error: The number of vCPUs must be greater than 0, "
        "less than 32 and must be 1 or an even number if SMT is enabled.");
  Reply no_vcpu = stub.api().put("/machine-config",
                                 R"({"vcpu_count": 0, "mem_size_mib": 256})");
  CHECK(contains(no_vcpu.fault(), "The number of vCPUs must be greater"));
  Reply overflow = stub.api().put(
      "/machine-config", R"({"vcpu_count": 300, "mem_size_mib": 256})");
  CHECK(
      contains(overflow.fault(), "invalid value: integer `300`, expected u8"));
  Reply no_memory = stub.api().put("/machine-config",
                                   R"({"vcpu_count": 1, "mem_size_mib": 0})");
  CHECK(contains(no_memory.fault(), "The memory size (MiB) is either 0"));
  Reply reserved_cid = stub.api().put(
      "/vsock", R"({"guest_cid": 2, "uds_path": "/nonexistent/v.sock"})");
  CHECK(reserved_cid.status == 400);
  CHECK(contains(reserved_cid.fault(), "guest_cid at least 3"));
  Reply tiny_mtu = stub.api().put(
      "/network-interfaces/eth0",
      R"({"iface_id": "eth0", "host_dev_name": "tap0", "mtu": 67})");
  CHECK(contains(tiny_mtu.fault(), "MTU 67 is out of range [68, 65535]"));
}

TEST_CASE("unknown fields are refused as with deny_unknown_fields") {
  Stub stub;
  Reply reply = stub.api().put(
      "/boot-source", R"({"kernel_image_path": "k", "kernel_args": "x"})");
  CHECK(reply.status == 400);
  CHECK(reply.fault() ==
        std::string(serde_prefix) +
            "unknown field `kernel_args`, expected one of "
            "`kernel_image_path`, `initrd_path`, `boot_args` at line 1 column "
            "40.");
  Reply nested = stub.api().put(
      "/network-interfaces/eth0",
      R"({"iface_id": "eth0", "host_dev_name": "tap0", "rx_rate_limiter": {"bytes": 1}})");
  CHECK(contains(nested.fault(),
                 "unknown field `bytes`, expected `bandwidth` or `ops`"));
  Reply duplicate = stub.api().put(
      "/machine-config",
      R"({"vcpu_count": 1, "vcpu_count": 2, "mem_size_mib": 128})");
  CHECK(contains(duplicate.fault(), "duplicate field `vcpu_count`"));
}

TEST_CASE("a path id that differs from the body id is refused") {
  Stub stub;
  std::string rootfs = stub.create_file("rootfs");
  Reply drive = stub.api().put("/drives/data",
                               R"({"drive_id": "rootfs", "path_on_host": ")" +
                                   rootfs + R"(", "is_root_device": true})");
  CHECK(drive.status == 400);
  CHECK(drive.fault() ==
        "The id from the path does not match the id from the body!");
  Reply interface =
      stub.api().put("/network-interfaces/eth1",
                     R"({"iface_id": "eth0", "host_dev_name": "tap0"})");
  CHECK(interface.fault() == "The id from the path [eth1] does not match the "
                             "id from the body [eth0]!");
}

TEST_CASE("resource ids may only hold alphanumerics and underscores") {
  Stub stub;
  Reply dashed = stub.api().put(
      "/drives/root-fs",
      R"({"drive_id": "root-fs", "path_on_host": "x", "is_root_device": true})");
  CHECK(dashed.status == 400);
  CHECK(dashed.fault() == "API Resource IDs can only contain alphanumeric "
                          "characters and underscores.");
  Reply missing =
      stub.api().put("/drives", R"({"drive_id": "x", "is_root_device": true})");
  CHECK(missing.fault() == "The ID cannot be empty.");
  std::string rootfs = stub.create_file("rootfs");
  Reply underscored = stub.api().put(
      "/drives/root_fs", R"({"drive_id": "root_fs", "path_on_host": ")" +
                             rootfs + R"(", "is_root_device": true})");
  CHECK(underscored.status == 204);
}

TEST_CASE("pre-boot resources are refused once the instance runs") {
  Stub stub;
  stub.boot();
  constexpr std::string_view post_boot =
      "The requested operation is not supported after starting the microVM.";
  std::string kernel = stub.path("vmlinux");
  CHECK(stub.api()
            .put("/machine-config", R"({"vcpu_count": 1, "mem_size_mib": 128})")
            .fault() == post_boot);
  CHECK(
      stub.api()
          .put("/boot-source", R"({"kernel_image_path": ")" + kernel + R"("})")
          .fault() == post_boot);
  CHECK(stub.api()
            .put("/vsock", R"({"guest_cid": 4, "uds_path": "/tmp/x"})")
            .fault() == post_boot);
  CHECK(stub.api().put("/logger", R"({"level": "Debug"})").fault() ==
        post_boot);
  CHECK(stub.api().put("/metrics", R"({"metrics_path": "/tmp/m"})").fault() ==
        post_boot);
  CHECK(stub.api()
            .put("/actions", R"({"action_type": "InstanceStart"})")
            .fault() == post_boot);
  // Firecracker 1.16 treats a device PUT after boot as PCI hotplug.
  Reply drive = stub.api().put(
      "/drives/data",
      R"({"drive_id": "data", "path_on_host": "x", "is_root_device": false})");
  CHECK(drive.status == 400);
  CHECK(drive.fault() == "PCI is not enabled");
}

TEST_CASE("InstanceStart without a boot source is refused and nothing "
          "starts") {
  Stub stub;
  Reply reply =
      stub.api().put("/actions", R"({"action_type": "InstanceStart"})");
  CHECK(reply.status == 400);
  CHECK(reply.fault() == "Start microvm error: Cannot start microvm without "
                         "kernel configuration.");
  CHECK(stub.api().get("/").json()["state"] == "Not started");
}

TEST_CASE("kernel and drive files that do not exist are refused") {
  Stub stub;
  Reply kernel = stub.api().put("/boot-source",
                                R"({"kernel_image_path": ")" +
                                    stub.path("missing-vmlinux") + R"("})");
  CHECK(kernel.status == 400);
  CHECK(kernel.fault() == "Boot source error: The kernel file cannot be "
                          "opened: No such file or directory (os error 2)");
  std::string missing_rootfs = stub.path("missing.ext4");
  Reply drive = stub.api().put(
      "/drives/rootfs", R"({"drive_id": "rootfs", "path_on_host": ")" +
                            missing_rootfs + R"(", "is_root_device": true})");
  CHECK(drive.status == 400);
  CHECK(drive.fault() ==
        "Drive config error: Unable to create the virtio block device: "
        "Virtio backend error: Error manipulating the backing file: No such "
        "file or directory (os error 2) " +
            missing_rootfs);
}

TEST_CASE("only one drive can be the root device") {
  Stub stub;
  std::string first = stub.create_file("first.ext4");
  std::string second = stub.create_file("second.ext4");
  auto put_root = [&](std::string_view id, const std::string& file) {
    return stub.api().put("/drives/" + std::string(id),
                          R"({"drive_id": ")" + std::string(id) +
                              R"(", "path_on_host": ")" + file +
                              R"(", "is_root_device": true})");
  };
  CHECK(put_root("first", first).status == 204);
  Reply second_root = put_root("second", second);
  CHECK(second_root.status == 400);
  CHECK(second_root.fault() ==
        "Drive config error: A root block device already exists!");
  // Updating the existing root device is not a second root.
  CHECK(put_root("first", second).status == 204);
}

TEST_CASE("guest actions are refused before the guest runs") {
  Stub stub;
  constexpr std::string_view pre_boot =
      "The requested operation is not supported before starting the microVM.";
  CHECK(stub.api()
            .put("/actions", R"({"action_type": "SendCtrlAltDel"})")
            .fault() == pre_boot);
  CHECK(stub.api()
            .put("/actions", R"({"action_type": "FlushMetrics"})")
            .fault() == pre_boot);
  CHECK(stub.api().patch("/vm", R"({"state": "Paused"})").fault() == pre_boot);
  CHECK(stub.running());
}

TEST_CASE("FlushMetrics writes a metrics line once the guest runs") {
  Stub stub;
  std::string metrics = stub.path("metrics.json");
  CHECK(stub.api()
            .put("/metrics", R"({"metrics_path": ")" + metrics + R"("})")
            .status == 204);
  Reply again =
      stub.api().put("/metrics", R"({"metrics_path": ")" + metrics + R"("})");
  CHECK(contains(again.fault(), "Reinitialization of metrics not allowed."));
  stub.boot();
  CHECK(
      stub.api().put("/actions", R"({"action_type": "FlushMetrics"})").status ==
      204);
  std::ifstream file(metrics);
  std::string line;
  REQUIRE(std::getline(file, line));
  CHECK(nlohmann::json::parse(line).contains("utc_timestamp_ms"));
}

TEST_CASE("unknown paths and wrong methods are refused like Firecracker "
          "does") {
  Stub stub;
  Reply unknown = stub.api().get("/nonexistent/thing");
  CHECK(unknown.status == 400);
  CHECK(unknown.fault() ==
        "Invalid request method and/or path: GET nonexistent.");
  Reply wrong_method = stub.api().get("/drives/rootfs");
  CHECK(wrong_method.fault() ==
        "Invalid request method and/or path: GET drives.");
  Reply empty_put = stub.api().request("PUT", "/machine-config");
  CHECK(empty_put.fault() == "Empty PUT request.");
  Reply get_with_body = stub.api().request("GET", "/", "{}");
  CHECK(get_with_body.fault() == "GET request cannot have a body.");
  Reply delete_config = stub.api().request("DELETE", "/machine-config");
  CHECK(delete_config.fault() ==
        "Invalid request method and/or path: DELETE machine-config.");
}

TEST_CASE("an HTTP method micro_http does not know is a parsing error") {
  Stub stub;
  ApiClient client = stub.connect();
  client.send_raw("POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
  Reply reply = client.read_reply();
  CHECK(reply.status == 400);
  CHECK(contains(reply.body, "Invalid HTTP Method: Unsupported HTTP method."));
  // The stub keeps serving other connections.
  CHECK(stub.api().get("/").status == 200);
}

TEST_CASE("malformed JSON is refused with the position of the error") {
  Stub stub;
  Reply reply =
      stub.api().put("/machine-config", "{\"vcpu_count\": 2,\n \"mem\"");
  CHECK(reply.status == 400);
  CHECK(reply.fault() == std::string(serde_prefix) +
                             "EOF while parsing an object at line 2 column "
                             "6.");
}

TEST_CASE("PATCH /vm pauses and resumes a running guest") {
  Stub stub;
  stub.boot();
  CHECK(stub.api().patch("/vm", R"({"state": "Paused"})").status == 204);
  CHECK(stub.api().get("/").json()["state"] == "Paused");
  CHECK(stub.api().patch("/vm", R"({"state": "Resumed"})").status == 204);
  CHECK(stub.api().get("/").json()["state"] == "Running");
  Reply wrong = stub.api().patch("/vm", R"({"state": "Stopped"})");
  CHECK(contains(wrong.fault(),
                 "unknown variant `Stopped`, expected `Paused` or `Resumed`"));
}

TEST_CASE("requests are served on keep-alive and concurrent connections") {
  Stub stub;
  ApiClient first = stub.connect();
  ApiClient second = stub.connect();
  // Two requests pipelined in one write on the first connection.
  first.send_raw("GET / HTTP/1.1\r\n\r\nGET /version HTTP/1.1\r\n\r\n");
  CHECK(second.get("/machine-config").status == 200);
  CHECK(first.read_reply().json()["state"] == "Not started");
  CHECK(first.read_reply().json()["firecracker_version"] == "1.16.1");
  for (int round = 0; round < 5; ++round)
    CHECK(first.get("/").status == 200);
}

TEST_CASE("GET /vm/config returns the configuration in Firecracker's "
          "shape") {
  Stub stub;
  stub.configure();
  auto config = stub.api().get("/vm/config").json();
  CHECK(config["machine-config"]["vcpu_count"] == 2);
  CHECK(config["boot-source"]["boot_args"] == "console=ttyS0 reboot=k");
  REQUIRE(config["drives"].size() == 1);
  CHECK(config["drives"][0]["drive_id"] == "rootfs");
  CHECK(config["drives"][0]["cache_type"] == "Unsafe");
  CHECK(config["drives"][0]["io_engine"] == "Sync");
  CHECK(config["network-interfaces"][0]["guest_mac"] == "06:00:ac:10:00:02");
  CHECK(config["vsock"]["guest_cid"] == 3);
  CHECK(config["balloon"].is_null());
}

TEST_CASE("MMDS contents can be put, patched and read back") {
  Stub stub;
  CHECK(stub.api().get("/mmds").body == "{}");
  Reply early_patch = stub.api().patch("/mmds", R"({"a": 1})");
  CHECK(early_patch.fault() ==
        "MMDS error: The MMDS data store is not initialized.");
  CHECK(stub.api().put("/mmds", R"({"latest": {"id": "x"}, "b": 1})").status ==
        204);
  CHECK(stub.api().patch("/mmds", R"({"b": null, "c": [1]})").status == 204);
  CHECK(stub.api().get("/mmds").json() ==
        nlohmann::json::parse(R"({"latest": {"id": "x"}, "c": [1]})"));
  stub.configure();
  Reply config = stub.api().put(
      "/mmds/config", R"({"version": "V2", "network_interfaces": ["eth9"]})");
  CHECK(contains(config.fault(), "does not correspond to any existing "
                                 "network interface"));
  Reply v1 =
      stub.api().put("/mmds/config", R"({"network_interfaces": ["eth0"]})");
  CHECK(v1.status == 204);
  CHECK(v1.has_header("Deprecation: true"));
}

TEST_CASE("the vsock device listens on its uds_path like Firecracker") {
  Stub stub;
  stub.configure();
  std::string uds = stub.path("vsock.sock");
  REQUIRE(path_exists(uds));
  int descriptor = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, uds.c_str(), sizeof address.sun_path - 1);
  CHECK(::connect(descriptor, reinterpret_cast<sockaddr*>(&address),
                  sizeof address) == 0);
  ::close(descriptor);
  // A second vsock replaces the first one's socket.
  std::string moved = stub.path("vsock2.sock");
  CHECK(
      stub.api()
          .put("/vsock", R"({"guest_cid": 5, "uds_path": ")" + moved + R"("})")
          .status == 204);
  CHECK(path_exists(moved));
  CHECK_FALSE(path_exists(uds));
}

TEST_CASE("a config file configures and starts the instance at launch") {
  banger::test::TempDir directory("fc-stub-config");
  std::string kernel = directory.path() + "/vmlinux";
  std::string rootfs = directory.path() + "/rootfs";
  std::ofstream(kernel) << "k";
  std::ofstream(rootfs) << "r";
  std::string config = directory.path() + "/config.json";
  std::ofstream(config) << R"({
    "boot-source": {"kernel_image_path": ")" +
                               kernel + R"("},
    "drives": [{"drive_id": "rootfs", "path_on_host": ")" +
                               rootfs + R"(",
                "is_root_device": true, "is_read_only": true}],
    "machine-config": {"vcpu_count": 1, "mem_size_mib": 128},
    "network-interfaces": [{"iface_id": "eth0", "host_dev_name": "tap7"}]
  })";
  Stub stub({.arguments = {"--config-file", config}});
  CHECK(stub.api().get("/").json()["state"] == "Running");
  CHECK(stub.api().get("/vm/config").json()["drives"][0]["is_read_only"] ==
        true);
}

TEST_CASE("a config file with an error ends the process with exit code 1") {
  banger::test::TempDir directory("fc-stub-config");
  std::string config = directory.path() + "/config.json";
  std::ofstream(config)
      << R"({"boot-source": {"kernel_image_path": "/nonexistent/vmlinux"},
             "drives": []})";
  std::string socket = directory.path() + "/api.sock";
  auto child = spawn_stub({"--api-sock", socket, "--config-file", config,
                           "--log-path", directory.path() + "/log"});
  auto status = child.wait(5s);
  REQUIRE(status);
  CHECK(exit_code(*status) == 1);
  CHECK_FALSE(path_exists(socket));
  auto missing_section = directory.path() + "/partial.json";
  std::ofstream(missing_section) << R"({"drives": []})";
  auto second =
      spawn_stub({"--api-sock", socket, "--config-file", missing_section,
                  "--log-path", directory.path() + "/log"});
  auto second_status = second.wait(5s);
  REQUIRE(second_status);
  CHECK(exit_code(*second_status) == 1);
}

} // namespace
} // namespace banger::fc_stub::test
