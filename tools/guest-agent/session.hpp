// What every channel of the guest agent has in common: a session is opened
// by the host's exec, file_put or file_get frame, takes the frames that
// follow on its channel, and says when it is over. Sessions never write to
// the link themselves: they hand frames to an Outbox, which bounds what
// waits unsent.
#pragma once

#include "messages/agent_wire.hpp"
#include "tools/guest-agent/sys.hpp"

#include <cstdint>
#include <string>
#include <vector>

#include <poll.h>

namespace banger::guest {

/// The descriptors of one poll() round, and what came back.
class PollSet {
public:
  std::size_t add(int fd, short events) {
    fds_.push_back(pollfd{fd, events, 0});
    return fds_.size() - 1;
  }
  short revents(std::size_t index) const { return fds_[index].revents; }
  std::vector<pollfd>& fds() { return fds_; }

private:
  std::vector<pollfd> fds_;
};

/// Where frames for the host go.
class Outbox {
public:
  virtual ~Outbox() = default;
  virtual void send(const agent::Frame& frame) = 0;
  /// Whether sessions may produce more output now: the link's unsent bytes
  /// are bounded, so a host that does not read stops the children's pipes
  /// rather than growing the agent.
  virtual bool has_room() const = 0;

  template <class T>
  void send(agent::Type type, std::uint32_t channel, const T& payload) {
    send(agent::frame(type, channel, payload));
  }
  /// An error frame; the message is cut to what the host accepts.
  void send_error(std::uint32_t channel, const Failure& failure) {
    send(agent::Type::error, channel,
         agent::Error{failure.code, failure.message.substr(0, agent::max_text)});
  }
};

/// The output a host allows a channel to send before it grants more.
class SendWindow {
public:
  std::uint64_t available() const { return bytes_; }
  void take(std::size_t n) { bytes_ -= n; }
  /// Saturates: a host granting more than 2^64 bytes is no reason to wrap.
  void grant(std::uint32_t n) {
    bytes_ = bytes_ + n < bytes_ ? UINT64_MAX : bytes_ + n;
  }

private:
  std::uint64_t bytes_ = agent::initial_window;
};

class Session {
public:
  explicit Session(std::uint32_t channel, Outbox& out) : channel_(channel), out_(out) {}
  virtual ~Session() = default;
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  std::uint32_t channel() const { return channel_; }

  /// A frame the host sent on this channel (never the opening one).
  virtual void on_frame(const agent::Frame& frame) = 0;
  /// Adds the descriptors this session waits on.
  virtual void fill(PollSet& polls) = 0;
  /// After poll(): acts on what fill() added.
  virtual void handle(const PollSet& polls) = 0;
  /// Work that needs no waiting (reading a regular file): the loop then
  /// polls without sleeping.
  virtual bool ready() const { return false; }
  /// A child process of this session ended.
  virtual bool on_child_exit(pid_t, int /*status*/) { return false; }
  /// The session has said its last frame.
  virtual bool done() const = 0;

protected:
  /// Answers `error` and marks the channel over.
  void fail(const Failure& failure) {
    out_.send_error(channel_, failure);
    failed_ = true;
  }

  std::uint32_t channel_;
  Outbox& out_;
  bool failed_ = false;
};

} // namespace banger::guest
