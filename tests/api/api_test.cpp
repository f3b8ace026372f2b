// The HTTP API end to end: the real bangerd, banger-helper and fc-stub (the
// real guest agent behind fc-stub's vsock socket, FC_STUB_GUEST_AGENT), and
// curl with the CLI's client certificate, as docs/api.md tells a user to.
// Root only (the helper makes bridges and taps); skipped otherwise.
#include "tests/api/api_client.hpp"
#include "tests/cli/cli_run.hpp"
#include "tests/support/skip.hpp"

#include <doctest/doctest.h>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

using namespace banger;
using namespace banger::test;
using namespace std::chrono_literals;

namespace {

/// Files an image can be imported from (fc-stub boots anything), outside
/// the home as a user's would be.
std::pair<std::string, std::string> image_files(const TempDir& src) {
  auto dir = src.path();
  std::ofstream(dir + "/vmlinux") << "not really a kernel";
  std::ofstream(dir + "/rootfs.ext4") << std::string(64 * 1024, 'r');
  return {dir + "/vmlinux", dir + "/rootfs.ext4"};
}

std::string state_of(const HttpReply& r) {
  auto j = r.json();
  return j.is_object() && j.contains("state") ? j["state"].get<std::string>() : "?";
}

bool log_has(const std::vector<std::string>& lines, const std::string& needle) {
  for (auto& l : lines)
    if (l.find(needle) != std::string::npos)
      return true;
  return false;
}

} // namespace

TEST_CASE("curl with the client certificate drives a VM through what the CLI does") {
  BANGER_REQUIRE_API_TOOLS();
  ApiHost api({}, {std::string("FC_STUB_GUEST_AGENT=") + GUEST_AGENT_BIN});
  api.start();

  auto status = api.get("/v1/status");
  REQUIRE_MESSAGE(status.status == 200, status.body << status.error);
  CHECK(status.json()["helper_reachable"] == true);
  CHECK(status.header("Content-Type").rfind("application/json", 0) == 0);

  // image add: accepted, imported on, then listed.
  TempDir src("banger-api-src");
  auto [kernel, rootfs] = image_files(src);
  auto added = api.call("POST", "/v1/images",
                        nlohmann::json{{"name", "tiny"}, {"kernel", kernel}, {"rootfs", rootfs}}.dump());
  REQUIRE_MESSAGE(added.status == 202, added.body);
  auto import_op = added.json()["op_id"].get<std::string>();
  REQUIRE(eventually([&] { return api.get("/v1/images/imports/" + import_op).json()["done"] == true; },
                     20s, 20ms));
  auto images = api.get("/v1/images").json()["images"];
  REQUIRE(images.size() == 1);
  CHECK(images[0]["name"] == "tiny");
  CHECK(api.get("/v1/images/tiny").json()["id"] == images[0]["id"]);

  // create, with the caller's op_id, which the daemon and the helper log.
  auto created = api.call("POST", "/v1/vms",
                          R"({"name": "web", "image": "tiny", "cpus": 2, "memory_mib": 192,
                              "start": true, "ports": ["18080:80"]})",
                          {"-H", "X-Banger-Op-Id: op-a1b2c3d4e5f6"});
  REQUIRE_MESSAGE(created.status == 201, created.body);
  CHECK(created.header("X-Banger-Op-Id") == "op-a1b2c3d4e5f6");
  CHECK(state_of(created) == "running");
  CHECK(created.json()["image"] == "tiny");
  CHECK(created.json()["cpus"] == 2);
  CHECK(created.json()["ports"][0]["host_port"] == 18080);
  CHECK(log_has(api.host().daemon_log(), "op-a1b2c3d4e5f6"));
  CHECK(log_has(api.host().helper_log(), "op-a1b2c3d4e5f6"));
  auto op = api.get("/v1/ops/op-a1b2c3d4e5f6");
  REQUIRE(op.status == 200);
  CHECK(op.json()["kind"] == "vm.create");
  CHECK(op.json()["outcome"] == "succeeded");
  CHECK(op.json()["stages"].size() >= 5);

  // show and list agree with the CLI.
  auto shown = api.get("/v1/vms/web");
  REQUIRE(shown.status == 200);
  auto cli_shown = run_banger({"--home", api.host().home(), "-o", "json", "vm", "show", "web"});
  REQUIRE(cli_shown.exit_code == 0);
  auto via_cli = nlohmann::json::parse(cli_shown.out);
  for (auto key : {"id", "name", "image", "guest_ip", "mac", "tap", "pid", "state", "cpus"})
    CHECK_MESSAGE(shown.json()[key] == via_cli[key], key);
  auto listed = api.get("/v1/vms").json();
  REQUIRE(listed["vms"].size() == 1);
  CHECK(listed["unreachable"].empty());

  // Lifecycle actions, each answering the VM as it left it.
  REQUIRE(eventually([&] { return !api.get("/v1/vms/web").json()["agent"].get<std::string>().empty(); },
                     20s, 20ms));
  CHECK(state_of(api.call("POST", "/v1/vms/web/pause")) == "paused");
  CHECK(state_of(api.call("POST", "/v1/vms/web/resume")) == "running");
  auto snap = api.call("POST", "/v1/vms/web/snapshots", R"({"name": "s1"})");
  REQUIRE_MESSAGE(snap.status == 201, snap.body);
  CHECK(snap.json()["snapshot"] == "s1");
  auto snaps = api.get("/v1/vms/web/snapshots").json();
  REQUIRE(snaps["snapshots"].size() == 1);
  CHECK(snaps["snapshots"][0]["name"] == "s1");

  // Through the guest agent: a command, and a file both ways.
  auto exec = api.call("POST", "/v1/vms/web/exec",
                       R"({"argv": ["sh", "-c", "read x; echo out:$x; echo err >&2; exit 3"],
                           "stdin": "hello\n"})");
  REQUIRE_MESSAGE(exec.status == 200, exec.body);
  CHECK(exec.json()["stdout"] == "out:hello\n");
  CHECK(exec.json()["stderr"] == "err\n");
  CHECK(exec.json()["exit_code"] == 3);
  auto guest_file = api.host().path("guest-file.txt");
  std::string payload(300 * 1024, 'x'); // over one session chunk
  payload += "end\n";
  std::ofstream(api.host().path("payload.bin")) << payload;
  auto put = api.call("PUT", "/v1/vms/web/files?path=" + guest_file + "&mode=0600",
                      "", {"-H", "Content-Type: application/octet-stream", "--data-binary",
                           "@" + api.host().path("payload.bin")});
  // Bodies over api.max-body (64 KiB by default) are refused before they are read.
  CHECK(put.status == 413);
  CHECK(put.error_code() == "payload_too_large");
  std::ofstream(api.host().path("small.bin")) << "small file\n";
  put = api.call("PUT", "/v1/vms/web/files?path=" + guest_file + "&mode=0600", "",
                 {"-H", "Content-Type: application/octet-stream", "--data-binary",
                  "@" + api.host().path("small.bin")});
  REQUIRE_MESSAGE(put.status == 200, put.body);
  CHECK(put.json()["written"] == 11);
  auto got = api.get("/v1/vms/web/files?path=" + guest_file);
  CHECK(got.status == 200);
  CHECK(got.body == "small file\n");

  auto clone = api.call("POST", "/v1/vms/web/clone", R"({"snapshot": "s1", "name": "web2"})");
  REQUIRE_MESSAGE(clone.status == 201, clone.body);
  CHECK(clone.json()["vm"]["name"] == "web2");
  CHECK(clone.json()["vm"]["guest_ip"] != shown.json()["guest_ip"]);
  CHECK(api.call("DELETE", "/v1/vms/web2").status == 200);

  CHECK(api.call("POST", "/v1/vms/web/snapshots/s1/restore").status == 200);
  CHECK(api.call("DELETE", "/v1/vms/web/snapshots/s1").status == 200);
  CHECK(state_of(api.call("POST", "/v1/vms/web/suspend")) == "suspended");
  CHECK(state_of(api.call("POST", "/v1/vms/web/start", R"({"no_wait": true})")) == "running");
  CHECK(state_of(api.call("POST", "/v1/vms/web/restart")) == "running");
  CHECK(state_of(api.call("POST", "/v1/vms/web/kill", R"({"signal": "KILL"})")) == "stopped");
  CHECK(state_of(api.call("POST", "/v1/vms/web/start")) == "running");
  CHECK(state_of(api.call("POST", "/v1/vms/web/stop")) == "stopped");

  auto logs = api.get("/v1/vms/web/logs?offset=0&max=4096");
  REQUIRE(logs.status == 200);
  CHECK(logs.json()["exists"] == true);
  CHECK(logs.json()["next_offset"].get<std::uint64_t>() == logs.json()["data"].get<std::string>().size());

  auto doctor = api.get("/v1/doctor");
  REQUIRE(doctor.status == 200);
  CHECK(doctor.json()["clean"] == true);

  CHECK(api.call("DELETE", "/v1/vms/web").status == 200);
  CHECK(api.get("/v1/vms/web").status == 404);
  CHECK(api.call("DELETE", "/v1/images/tiny").status == 200);
  CHECK(api.get("/v1/images").json()["images"].empty());

  // The async create: 202 and an op_id to poll.
  api.host().add_image("tiny2");
  auto begun = api.call("POST", "/v1/vms?async=true", R"({"name": "bg", "image": "tiny2"})");
  REQUIRE_MESSAGE(begun.status == 202, begun.body);
  auto bg_op = begun.json()["op_id"].get<std::string>();
  CHECK(begun.header("X-Banger-Op-Id") == bg_op);
  REQUIRE(eventually([&] { return api.get("/v1/ops/" + bg_op).json()["outcome"] == "succeeded"; },
                     20s, 20ms));
  CHECK(state_of(api.get("/v1/vms/bg")) == "created");
  CHECK(api.call("DELETE", "/v1/vms/bg").status == 200);
}

TEST_CASE("bad input gets the error object with a code, the op_id and the status that fits") {
  BANGER_REQUIRE_API_TOOLS();
  ApiHost api;
  api.start();
  api.host().add_image("tiny");
  struct Case {
    std::string method, path, body;
    int status;
    std::string code;
  };
  std::vector<Case> cases = {
    {"GET", "/v1/vms/nope", "", 404, "not_found"},
    {"GET", "/v1/nothing-here", "", 404, "not_found"},
    {"POST", "/v1/vms", R"({"image": "tiny", "bogus": 1})", 400, "invalid_argument"},
    {"POST", "/v1/vms", R"({"image": "tiny", "cpus": "two"})", 400, "invalid_argument"},
    {"POST", "/v1/vms", R"({"image": "tiny", "cpus": 4096})", 400, "invalid_argument"},
    {"POST", "/v1/vms", R"({"image": "tiny", "name": "Bad Name!"})", 400, "invalid_argument"},
    {"POST", "/v1/vms", R"({"image": "tiny", "ports": ["99999:80"]})", 400, "invalid_argument"},
    {"POST", "/v1/vms", R"({"image": "tiny", "disk": "lots"})", 400, "invalid_argument"},
    {"POST", "/v1/vms", R"({"name": "x"})", 400, "invalid_argument"},
    {"POST", "/v1/vms", "[1, 2]", 400, "invalid_argument"},
    {"POST", "/v1/vms", "{not json", 400, "invalid_argument"},
    {"POST", "/v1/vms", R"({"image": "nosuch"})", 404, "not_found"},
    {"GET", "/v1/ops/op-nothex", "", 400, "invalid_argument"},
    {"GET", "/v1/ops/op-000000000000", "", 404, "not_found"},
    {"GET", "/v1/events?after=99999", "", 400, "invalid_argument"},
    {"GET", "/v1/cluster", "", 409, "conflict"},
  };
  for (auto& c : cases) {
    auto r = api.call(c.method, c.path, c.body);
    INFO(c.method << " " << c.path << " " << c.body << " -> " << r.status << " " << r.body);
    CHECK(r.status == c.status);
    CHECK(r.error_code() == c.code);
    auto op_id = r.json()["error"]["op_id"].get<std::string>();
    CHECK(op_id.size() == 15);
    CHECK(r.header("X-Banger-Op-Id") == op_id);
  }
  // A name taken: 409, and nothing half-made stays.
  REQUIRE(api.call("POST", "/v1/vms", R"({"name": "one", "image": "tiny"})").status == 201);
  auto again = api.call("POST", "/v1/vms", R"({"name": "one", "image": "tiny"})");
  CHECK(again.status == 409);
  CHECK(again.error_code() == "already_exists");
  CHECK(api.get("/v1/vms").json()["vms"].size() == 1);
  // A stopped VM cannot be paused.
  auto paused = api.call("POST", "/v1/vms/one/pause");
  CHECK(paused.status == 409);
  CHECK(paused.error_code() == "conflict");
  // The caller's op_id must be well-formed; a good one is kept.
  auto bad_op = api.call("GET", "/v1/status", "", {"-H", "X-Banger-Op-Id: op-XYZ"});
  CHECK(bad_op.status == 400);
  CHECK(bad_op.error_code() == "invalid_argument");
  // Not JSON: 415.
  auto wrong_type = api.call("POST", "/v1/vms/one/start", "", {"-H", "Content-Type: text/plain",
                                                                "--data-binary", "x"});
  CHECK(wrong_type.status == 415);
  // The body bound: 413 before the daemon is asked.
  auto big = api.call("POST", "/v1/vms", R"({"image": "tiny", "name": ")" + std::string(70000, 'a') + "\"}");
  CHECK(big.status == 413);
  CHECK(big.error_code() == "payload_too_large");
  // The daemon is unharmed by all of it.
  CHECK(api.get("/v1/status").status == 200);
}

TEST_CASE("without a certificate from the home's CA nothing is served") {
  BANGER_REQUIRE_API_TOOLS();
  ApiHost api;
  api.start();
  // No client certificate: the handshake fails.
  auto none = run({"curl", "-sS", "--max-time", "10", "--cacert", api.ca(), api.url("/v1/status")});
  CHECK(none.exit_code != 0);
  CHECK(none.out.empty());
  // A certificate of another CA: refused too.
  auto other = api.host().path("other");
  std::filesystem::create_directories(other);
  auto made = run({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                   "-nodes", "-keyout", other + "/key.pem", "-out", other + "/cert.pem", "-days", "1",
                   "-subj", "/CN=intruder"});
  REQUIRE_MESSAGE(made.exit_code == 0, made.err);
  auto foreign = run({"curl", "-sS", "--max-time", "10", "--cacert", api.ca(), "--cert",
                      other + "/cert.pem", "--key", other + "/key.pem", api.url("/v1/status")});
  CHECK(foreign.exit_code != 0);
  CHECK(foreign.out.empty());
  // Plain HTTP on the port: no answer that serves anything.
  auto plain = run({"curl", "-sS", "--max-time", "10", "http://127.0.0.1:" + std::to_string(api.port()) + "/v1/status"});
  CHECK(plain.out.find("helper_reachable") == std::string::npos);
  // And the right certificate still works, also for a client that resumes
  // its TLS session on a second connection (curl, browsers, Prometheus).
  CHECK(api.get("/v1/status").status == 200);
  auto twice = run({"curl", "-sS", "--max-time", "10", "--cert", api.cert(), "--key", api.key(),
                    "--cacert", api.ca(), "-H", "Connection: close", "-w", "%{http_code}\n",
                    "-o", "/dev/null", "-o", "/dev/null", api.url("/v1/status"), api.url("/v1/vms")});
  CHECK_MESSAGE(twice.out == "200\n200\n", twice.err);
}

TEST_CASE("connections over api.max-connections are closed at accept and silent clients are dropped") {
  BANGER_REQUIRE_API_TOOLS();
  ApiHost api({"api.max-connections=2", "api.timeout=1s"});
  api.start();
  auto connect = [&] {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(api.port());
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
    return fd;
  };
  /// Whether the server closed `fd` within `wait`.
  auto closed_within = [](int fd, std::chrono::milliseconds wait) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(wait.count())) <= 0)
      return false;
    char byte;
    return ::recv(fd, &byte, 1, MSG_DONTWAIT) <= 0;
  };
  // Two silent connections take both slots...
  int a = connect(), b = connect();
  // (each is admitted: still open a moment later)
  CHECK_FALSE(closed_within(a, 200ms));
  // ...so a third is closed at accept, and a real client is refused.
  int c = connect();
  CHECK(closed_within(c, 2000ms));
  auto refused = api.get("/v1/status");
  CHECK(refused.status == 0);
  // The silent ones are dropped after api.timeout (1 s)...
  CHECK(closed_within(a, 5000ms));
  CHECK(closed_within(b, 5000ms));
  // ...and the API serves again.
  CHECK(eventually([&] { return api.get("/v1/status").status == 200; }, 5s, 50ms));
  ::close(a);
  ::close(b);
  ::close(c);
  // Counted for the operator.
  auto metrics = api.get("/metrics").body;
  CHECK(metrics.find("banger_api_connections_refused_total 0\n") == std::string::npos);
}
