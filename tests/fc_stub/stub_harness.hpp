// Drives a real fc-stub process: spawn it in a fresh temporary directory,
// wait (bounded polling, no fixed sleeps) for its API socket, and talk
// HTTP/1.1 to it over the Unix socket like a control plane would.
#pragma once

#include "tests/support/process.hpp"

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace banger::fc_stub::test {

using namespace std::chrono_literals;

/// Path of the fc-stub binary under test (set by CMake).
std::string stub_binary();

struct Reply {
  int status = 0;
  std::string head; // status line and headers
  std::string body;
  nlohmann::json json() const { return nlohmann::json::parse(body); }
  std::string fault() const;
  bool has_header(std::string_view line) const;
};

/// One keep-alive connection to an API socket.
class ApiClient {
public:
  explicit ApiClient(const std::string& socket_path);
  ~ApiClient();
  ApiClient(ApiClient&& other) noexcept;
  ApiClient(const ApiClient&) = delete;
  ApiClient& operator=(const ApiClient&) = delete;

  Reply request(std::string_view method, std::string_view path,
                std::optional<std::string_view> body = std::nullopt);
  Reply get(std::string_view path) { return request("GET", path); }
  Reply put(std::string_view path, std::string_view body) {
    return request("PUT", path, body);
  }
  Reply patch(std::string_view path, std::string_view body) {
    return request("PATCH", path, body);
  }

  /// Sends raw bytes and reads one reply (for malformed requests and
  /// pipelining).
  void send_raw(std::string_view bytes);
  Reply read_reply();

private:
  int descriptor_ = -1;
  std::string pending_;
};

bool path_exists(const std::string& path);

/// Whether `part` occurs in `text` (fault messages are checked by phrase).
inline bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

/// Exit code of a wait status, or -1 if the process did not exit normally.
int exit_code(int status);
/// Terminating signal of a wait status, or 0.
int terminating_signal(int status);

struct Launch {
  std::vector<std::string> arguments; // after --api-sock/--id/--log-path
  std::vector<std::string> environment;
  std::string id = "vm-under-test";
  bool wait_for_socket = true;
  bool default_arguments = true; // --api-sock, --id and --log-path
};

/// A running fc-stub with its own directory, killed on destruction.
class Stub {
public:
  explicit Stub(Launch launch = {});

  const std::string& directory() const { return directory_.path(); }
  std::string path(std::string_view name) const;
  std::string socket_path() const { return path("api.sock"); }
  /// Creates a file in the stub's directory and returns its path.
  std::string create_file(std::string_view name,
                          std::string_view contents = "") const;
  /// The stub's log (--log-path).
  std::string log() const;

  /// The shared connection, opened on first use.
  ApiClient& api();
  ApiClient connect() const { return ApiClient(socket_path()); }

  /// Waits until the API socket accepts connections.
  bool wait_for_socket(std::chrono::milliseconds timeout = 5s);
  std::optional<int> wait_exit(std::chrono::milliseconds timeout = 5s);
  bool running() { return child_.running(); }
  void signal(int signal_number) { child_.signal(signal_number); }
  pid_t pid() const { return child_.pid(); }

  /// PUTs the standard configuration (machine, boot source, rootfs, eth0,
  /// vsock) that precedes InstanceStart; fails the test on any non-204.
  void configure();
  /// configure() then InstanceStart.
  void boot();

private:
  banger::test::TempDir directory_;
  banger::test::Child child_;
  std::optional<ApiClient> api_;
};

/// Starts a stub that is expected to exit on its own (bad flags, faults).
banger::test::Child
spawn_stub(const std::vector<std::string>& arguments,
           const std::vector<std::string>& environment = {});

/// Reads the request log: one parsed JSON object per line.
std::vector<nlohmann::json> read_request_log(const std::string& path);

} // namespace banger::fc_stub::test
