// What a configured fc-stub instance does, seen through its API: metrics,
// pause and resume, connections, the configuration echo, MMDS, vsock and
// the config file.
#include "tests/fc_stub/stub_harness.hpp"

#include <cstring>
#include <doctest/doctest.h>
#include <fstream>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace banger::fc_stub::test {
namespace {

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
