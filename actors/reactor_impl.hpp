// Internal to the reactor: the task table and the epoll loop's state, shared
// by reactor.cpp (the public calls, the inbox and the loop) and reactor_io.cpp
// (connecting, reading and writing sockets, and completing tasks).
#pragma once

#include "actors/reactor.hpp"

#include <sys/epoll.h>

#include <chrono>
#include <deque>
#include <functional>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace banger {

/// A descriptor a task owns until it is sent.
class OwnedFd {
public:
  OwnedFd() = default;
  explicit OwnedFd(int fd) : fd_(fd) {}
  OwnedFd(OwnedFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  OwnedFd& operator=(OwnedFd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  ~OwnedFd() { reset(); }
  int get() const { return fd_; }
  void reset();

private:
  int fd_ = -1;
};

struct Reactor::Impl {
  using Clock = std::chrono::steady_clock;
  /// idle: a kept HTTP connection to a VMM's API socket, waiting for the
  /// next call (watched so a peer that closes it is noticed and dropped).
  /// duplex: a long-lived stream (open_duplex).
  enum class Kind { stream, probe, banner, exit, idle, duplex };

  struct Task {
    Kind kind;
    int fd = -1;
    std::string address; ///< socket path, or ip for banner probes
    std::uint16_t port = 0;
    std::string request; ///< stream: bytes to send; banner: expected prefix
    std::size_t written = 0;
    std::string response;
    Clock::time_point deadline;
    Clock::time_point retry_at; ///< banner: next connect attempt
    std::string last_error;     ///< banner: why the last attempt failed
    Completion complete;
    StreamCallback stream_done;
    DoneCallback probe_done;
    ExitCallback exit_done;
    /// stream: reuse a kept connection to `address`, and keep this one after
    /// a complete answer if `reusable` says the peer keeps it open.
    bool keep_alive = false;
    std::function<bool(const std::string& response)> reusable;
    /// stream: running on a kept connection (a failure before any answer
    /// retries once on a new one: the peer may have closed it meanwhile).
    bool reused = false;
    bool retried = false;
    /// probe: keep the connection that succeeded for the next stream call.
    bool keep_connection = false;
    /// stream: sent with the request's first bytes, then closed.
    OwnedFd pass_fd;
    /// duplex: `request` is the handshake, `complete`/`response` unused.
    DuplexHandlers duplex;
    std::string reply_prefix;
    bool open = false;
    /// duplex: queued writes, the first one `out_written` bytes in.
    std::deque<std::pair<std::string, DoneCallback>> out;
    std::size_t out_written = 0;
  };

  struct DuplexSend {
    std::uint64_t token;
    std::string bytes;
    DoneCallback sent;
  };

  static constexpr auto banner_retry = std::chrono::milliseconds(100);

  int epoll_fd = -1;
  int wake_fd = -1;
  std::thread thread;

  // Shared with caller threads: the inbox of new tasks and cancellations.
  std::mutex mutex;
  std::uint64_t next_token = 1;
  std::vector<std::pair<std::uint64_t, Task>> inbox;
  std::vector<std::uint64_t> cancelled;
  std::vector<DuplexSend> sends;
  bool stopping = false;

  // Owned by the reactor thread alone.
  std::map<std::uint64_t, Task> tasks;
  /// Kept connections (Kind::idle tasks), at most one per socket path.
  std::map<std::string, std::uint64_t> idle_by_path;

  Impl();
  ~Impl();

  void wake();
  std::uint64_t add(Task task);
  void cancel(std::uint64_t token);
  bool drain_inbox();
  void run();

  // Reactor thread only. watch and close_fd are in reactor.cpp, the rest in
  // reactor_io.cpp.
  void watch(std::uint64_t token, int fd, std::uint32_t events);
  void close_fd(Task& task);
  /// Keeps `fd`, connected to `path`, for the next stream call there.
  void park(const std::string& path, int fd);
  /// A kept connection to `path`, or -1.
  int take_idle(const std::string& path);
  void drop_idle(std::uint64_t token);
  bool connect_unix(std::uint64_t token, Task& task);
  void connect_tcp(std::uint64_t token, Task& task);
  void retry_later(Task& task, std::string why);
  void finish(std::uint64_t token, std::optional<Error> failure = std::nullopt);
  void on_stream_event(std::uint64_t token, Task& task, std::uint32_t events);
  void on_banner_event(std::uint64_t token, Task& task, std::uint32_t events);
  void on_duplex_event(std::uint64_t token, Task& task, std::uint32_t events);
  void duplex_opened(std::uint64_t token, Task& task);
  static bool read_available(Task& task, bool& eof);
  std::string timeout_message(const Task& task) const;
};

} // namespace banger
