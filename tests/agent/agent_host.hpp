// The host side of a real banger-guest-agent: a listening Unix socket in a
// temp dir, the agent started with --connect-unix against it, and frames
// read and written with deadlines (no sleeps: every wait is a poll).
#pragma once

#include "messages/agent_wire.hpp"
#include "tests/support/process.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace banger::test {

/// What a command sent on its channel, up to its end.
struct CommandResult {
  std::optional<agent::Started> started;
  std::optional<agent::Error> error;
  std::optional<agent::Exited> exited;
  std::string out, err;
};

class AgentHost {
public:
  static constexpr std::chrono::milliseconds deadline{5000};

  AgentHost();
  ~AgentHost();
  AgentHost(const AgentHost&) = delete;
  AgentHost& operator=(const AgentHost&) = delete;

  /// Waits for the agent to connect and returns its hello (REQUIREd).
  agent::Hello accept();
  /// Closes the accepted connection (the host going away).
  void disconnect();

  void send(const agent::Frame& frame);
  void send_bytes(const std::string& bytes);
  template <class T>
  void send(agent::Type type, std::uint32_t channel, const T& payload) {
    send(agent::frame(type, channel, payload));
  }

  /// The next frame, nullopt when none came within `timeout` or the agent
  /// closed the connection.
  std::optional<agent::Frame> next(std::chrono::milliseconds timeout = deadline);
  /// The next frame on `channel`, skipping (and keeping for later) others.
  std::optional<agent::Frame> next_on(std::uint32_t channel,
                                      std::chrono::milliseconds timeout = deadline);
  /// Whether the agent closed the connection (read returned 0).
  bool closed() const { return closed_; }

  /// Runs argv on `channel` to its end (or its error), granting window
  /// for everything received.
  CommandResult run(std::uint32_t channel, std::vector<std::string> argv,
                    std::uint32_t flags = 0, const std::string& input = {}, bool eof = true);

  const std::string& dir() const { return dir_.path(); }
  pid_t agent_pid() const { return agent_.pid(); }

private:
  TempDir dir_;
  std::string socket_path_;
  int listener_ = -1;
  int conn_ = -1;
  bool closed_ = false;
  agent::Decoder decoder_;
  std::vector<agent::Frame> held_;
  Child agent_;
};

} // namespace banger::test
