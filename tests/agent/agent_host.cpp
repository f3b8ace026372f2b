#include "tests/agent/agent_host.hpp"

#include <doctest/doctest.h>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>

namespace banger::test {

namespace {

int listen_unix(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(fd, 4) != 0)
    throw std::runtime_error("cannot listen on " + path);
  return fd;
}

Child start_agent(const std::string& socket, const std::string& log) {
  return Child::spawn({AGENT_BIN, "--connect-unix", socket}, {}, log);
}

} // namespace

AgentHost::AgentHost()
    : dir_("banger-agent-test"), socket_path_(dir_.path() + "/agent.sock"),
      listener_(listen_unix(socket_path_)),
      agent_(start_agent(socket_path_, dir_.path() + "/agent.log")) {}

AgentHost::~AgentHost() {
  if (conn_ >= 0)
    ::close(conn_);
  ::close(listener_);
}

agent::Hello AgentHost::accept() {
  if (conn_ >= 0)
    disconnect();
  pollfd p{listener_, POLLIN, 0};
  REQUIRE(::poll(&p, 1, static_cast<int>(deadline.count())) == 1);
  conn_ = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
  REQUIRE(conn_ >= 0);
  closed_ = false;
  decoder_ = agent::Decoder();
  held_.clear();
  auto hello = next();
  REQUIRE(hello.has_value());
  REQUIRE(hello->type == agent::Type::hello);
  REQUIRE(hello->channel == 0);
  auto decoded = agent::decode_hello(hello->payload);
  REQUIRE(decoded.has_value());
  return *decoded;
}

void AgentHost::disconnect() {
  ::close(conn_);
  conn_ = -1;
}

void AgentHost::send(const agent::Frame& frame) { send_bytes(agent::encode(frame)); }

void AgentHost::send_bytes(const std::string& bytes) {
  std::size_t at = 0;
  while (at < bytes.size()) {
    auto n = ::send(conn_, bytes.data() + at, bytes.size() - at, MSG_NOSIGNAL);
    REQUIRE(n > 0);
    at += static_cast<std::size_t>(n);
  }
}

std::optional<agent::Frame> AgentHost::next(std::chrono::milliseconds timeout) {
  if (!held_.empty()) {
    auto frame = held_.front();
    held_.erase(held_.begin());
    return frame;
  }
  auto until = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (auto frame = decoder_.next())
      return frame;
    REQUIRE_FALSE(decoder_.failed());
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    if (left.count() < 0 || closed_)
      return std::nullopt;
    pollfd p{conn_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) != 1)
      return std::nullopt;
    char buffer[65536];
    auto n = ::read(conn_, buffer, sizeof buffer);
    if (n <= 0) {
      closed_ = true;
      return std::nullopt;
    }
    decoder_.feed(std::string_view(buffer, static_cast<std::size_t>(n)));
  }
}

std::optional<agent::Frame> AgentHost::next_on(std::uint32_t channel,
                                               std::chrono::milliseconds timeout) {
  for (auto it = held_.begin(); it != held_.end(); ++it)
    if (it->channel == channel) {
      auto frame = *it;
      held_.erase(it);
      return frame;
    }
  auto held = std::move(held_);
  held_.clear();
  std::optional<agent::Frame> found;
  for (;;) {
    auto frame = next(timeout);
    if (!frame)
      break;
    if (frame->channel == channel) {
      found = std::move(frame);
      break;
    }
    held.push_back(std::move(*frame));
  }
  held_ = std::move(held);
  return found;
}

CommandResult AgentHost::run(std::uint32_t channel, std::vector<std::string> argv,
                             std::uint32_t flags, const std::string& input, bool eof) {
  agent::Exec exec;
  exec.op_id = "op-test";
  exec.flags = flags;
  exec.rows = 24;
  exec.cols = 80;
  exec.argv = std::move(argv);
  send(agent::Type::exec, channel, exec);
  if (!input.empty())
    send(agent::Frame{agent::Type::stdin_data, channel, input});
  if (eof)
    send(agent::Frame{agent::Type::stdin_eof, channel, {}});
  CommandResult result;
  for (;;) {
    auto frame = next_on(channel);
    REQUIRE(frame.has_value());
    switch (frame->type) {
    case agent::Type::started:
      result.started = agent::decode_started(frame->payload);
      REQUIRE(result.started.has_value());
      break;
    case agent::Type::stdout_data:
    case agent::Type::stderr_data:
      (frame->type == agent::Type::stdout_data ? result.out : result.err) += frame->payload;
      send(agent::Type::window, channel,
           agent::Window{static_cast<std::uint32_t>(frame->payload.size())});
      break;
    case agent::Type::exited:
      result.exited = agent::decode_exited(frame->payload);
      REQUIRE(result.exited.has_value());
      return result;
    case agent::Type::error:
      result.error = agent::decode_error(frame->payload);
      REQUIRE(result.error.has_value());
      return result;
    default:
      FAIL("unexpected " << agent::to_string(frame->type) << " on a command's channel");
    }
  }
}

} // namespace banger::test
