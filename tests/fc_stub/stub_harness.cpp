#include "tests/fc_stub/stub_harness.hpp"

#include <cstring>
#include <doctest/doctest.h>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

namespace banger::fc_stub::test {

std::string stub_binary() {
  return FC_STUB_BINARY;
}

std::string Reply::fault() const {
  auto parsed = nlohmann::json::parse(body, nullptr, false);
  if (parsed.is_discarded() || !parsed.contains("fault_message"))
    return {};
  return parsed["fault_message"];
}

bool Reply::has_header(std::string_view line) const {
  return head.find(std::string(line) + "\r\n") != std::string::npos;
}

ApiClient::ApiClient(const std::string& socket_path) {
  descriptor_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, socket_path.c_str(),
               sizeof address.sun_path - 1);
  if (::connect(descriptor_, reinterpret_cast<sockaddr*>(&address),
                sizeof address) != 0) {
    ::close(descriptor_);
    descriptor_ = -1;
    throw std::runtime_error("cannot connect to " + socket_path);
  }
  // A stuck stub must fail the test, not hang it.
  timeval timeout{.tv_sec = 5, .tv_usec = 0};
  ::setsockopt(descriptor_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
}

ApiClient::~ApiClient() {
  if (descriptor_ >= 0)
    ::close(descriptor_);
}

ApiClient::ApiClient(ApiClient&& other) noexcept
    : descriptor_(other.descriptor_), pending_(std::move(other.pending_)) {
  other.descriptor_ = -1;
}

void ApiClient::send_raw(std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t written =
        ::send(descriptor_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (written <= 0)
      throw std::runtime_error("send failed");
    bytes.remove_prefix(static_cast<std::size_t>(written));
  }
}

Reply ApiClient::read_reply() {
  for (;;) {
    std::size_t head_end = pending_.find("\r\n\r\n");
    if (head_end != std::string::npos) {
      Reply reply;
      reply.head = pending_.substr(0, head_end + 2);
      reply.status = std::stoi(reply.head.substr(9, 3));
      std::size_t length = 0;
      if (auto at = reply.head.find("Content-Length: ");
          at != std::string::npos)
        length = std::stoul(reply.head.substr(at + 16));
      if (pending_.size() >= head_end + 4 + length) {
        reply.body = pending_.substr(head_end + 4, length);
        pending_.erase(0, head_end + 4 + length);
        return reply;
      }
    }
    char chunk[4096];
    ssize_t got = ::recv(descriptor_, chunk, sizeof chunk, 0);
    if (got <= 0)
      throw std::runtime_error("connection closed or timed out");
    pending_.append(chunk, static_cast<std::size_t>(got));
  }
}

Reply ApiClient::request(std::string_view method, std::string_view path,
                         std::optional<std::string_view> body) {
  std::string text = std::string(method) + " " + std::string(path) +
                     " HTTP/1.1\r\nHost: localhost\r\nAccept: "
                     "application/json\r\n";
  if (body) {
    text += "Content-Type: application/json\r\nContent-Length: " +
            std::to_string(body->size()) + "\r\n\r\n";
    text += *body;
  } else {
    text += "\r\n";
  }
  send_raw(text);
  return read_reply();
}

bool path_exists(const std::string& path) {
  struct stat status {};
  return ::lstat(path.c_str(), &status) == 0;
}

int exit_code(int status) {
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int terminating_signal(int status) {
  return WIFSIGNALED(status) ? WTERMSIG(status) : 0;
}

namespace {

std::vector<std::string> command_line(const Launch& launch,
                                      const std::string& directory) {
  std::vector<std::string> argv = {stub_binary()};
  if (launch.default_arguments) {
    argv.insert(argv.end(), {"--api-sock", directory + "/api.sock", "--id",
                             launch.id, "--log-path", directory + "/stub.log"});
  }
  argv.insert(argv.end(), launch.arguments.begin(), launch.arguments.end());
  return argv;
}

} // namespace

Stub::Stub(Launch launch)
    : directory_("fc-stub-test"),
      child_(banger::test::Child::spawn(command_line(launch, directory_.path()),
                                        launch.environment,
                                        directory_.path() + "/stub.stderr")) {
  if (launch.wait_for_socket)
    REQUIRE_MESSAGE(wait_for_socket(), "fc-stub did not create its socket");
}

std::string Stub::path(std::string_view name) const {
  return directory() + "/" + std::string(name);
}

std::string Stub::create_file(std::string_view name,
                              std::string_view contents) const {
  std::string file_path = path(name);
  std::ofstream(file_path) << contents;
  return file_path;
}

std::string Stub::log() const {
  std::ifstream file(path("stub.log"));
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

ApiClient& Stub::api() {
  if (!api_)
    api_.emplace(socket_path());
  return *api_;
}

bool Stub::wait_for_socket(std::chrono::milliseconds timeout) {
  return banger::test::eventually(
      [&] {
        if (!path_exists(socket_path()))
          return false;
        try {
          ApiClient probe(socket_path());
          return true;
        } catch (const std::exception&) {
          return false;
        }
      },
      timeout, 1ms);
}

std::optional<int> Stub::wait_exit(std::chrono::milliseconds timeout) {
  return child_.wait(timeout);
}

void Stub::configure() {
  std::string kernel = create_file("vmlinux", "kernel");
  std::string rootfs = create_file("rootfs.ext4", "rootfs");
  auto expect_no_content = [](const Reply& reply) {
    INFO(reply.body);
    REQUIRE(reply.status == 204);
  };
  expect_no_content(api().put("/machine-config",
                              R"({"vcpu_count": 2, "mem_size_mib": 256})"));
  expect_no_content(api().put(
      "/boot-source", R"({"kernel_image_path": ")" + kernel +
                          R"(", "boot_args": "console=ttyS0 reboot=k"})"));
  expect_no_content(
      api().put("/drives/rootfs",
                R"({"drive_id": "rootfs", "path_on_host": ")" + rootfs +
                    R"(", "is_root_device": true, "is_read_only": false})"));
  expect_no_content(api().put(
      "/network-interfaces/eth0",
      R"({"iface_id": "eth0", "host_dev_name": "tap0", "guest_mac": "06:00:ac:10:00:02"})"));
  expect_no_content(api().put("/vsock", R"({"guest_cid": 3, "uds_path": ")" +
                                            path("vsock.sock") + R"("})"));
}

void Stub::boot() {
  configure();
  Reply started = api().put("/actions", R"({"action_type": "InstanceStart"})");
  INFO(started.body);
  REQUIRE(started.status == 204);
}

banger::test::Child spawn_stub(const std::vector<std::string>& arguments,
                               const std::vector<std::string>& environment) {
  std::vector<std::string> argv = {stub_binary()};
  argv.insert(argv.end(), arguments.begin(), arguments.end());
  // Expected failures print Firecracker's error on stderr; keep test output
  // readable.
  return banger::test::Child::spawn(argv, environment, "/dev/null");
}

std::vector<nlohmann::json> read_request_log(const std::string& path) {
  std::vector<nlohmann::json> lines;
  std::ifstream file(path);
  std::string line;
  while (std::getline(file, line))
    lines.push_back(nlohmann::json::parse(line));
  return lines;
}

} // namespace banger::fc_stub::test
