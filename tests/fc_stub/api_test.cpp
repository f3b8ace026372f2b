// The API as a control plane sees it: status codes, bodies and Firecracker's
// fault messages, from a real fc-stub process. What the API refuses and how
// it says so; what a configured instance does is in api_behaviour_test.cpp.
#include "tests/fc_stub/stub_harness.hpp"

#include <doctest/doctest.h>

namespace banger::fc_stub::test {
namespace {

constexpr std::string_view serde_prefix =
    "An error occurred when deserializing the json body of a request: ";

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

} // namespace
} // namespace banger::fc_stub::test
