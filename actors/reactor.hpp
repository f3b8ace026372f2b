// The daemon's one I/O thread: an epoll loop that talks HTTP to VMM API
// sockets, waits for sockets to appear and learns VMM exits through pidfds.
// Nothing else in bangerd waits on a VMM: callers get a callback on the
// reactor thread, which only forwards a message to the actor that asked (see
// vmm_io_actor). No thread per VM, no blocking call on a scheduler thread.
#pragma once

#include "messages/result.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace banger {

struct HttpResponse {
  int status = 0;
  std::string body;
};

class Reactor {
public:
  using HttpCallback = std::function<void(Result<HttpResponse>)>;
  using DoneCallback = std::function<void(Status)>;
  using ExitCallback = std::function<void()>;

  Reactor();
  ~Reactor();
  Reactor(const Reactor&) = delete;
  Reactor& operator=(const Reactor&) = delete;

  /// One HTTP/1.1 exchange over a Unix socket (Connection: close).
  void http(std::string socket_path, std::string method, std::string path,
            std::string body, std::chrono::milliseconds timeout, HttpCallback done);

  /// Succeeds once something accepts connections on `socket_path`.
  void wait_for_socket(std::string socket_path, std::chrono::milliseconds timeout,
                       DoneCallback done);

  /// Calls `on_exit` once when process `pid` exits. Fails at once (error) if
  /// the process does not exist. Returns a token for unwatch().
  Result<std::uint64_t> watch_exit(int pid, ExitCallback on_exit);
  void unwatch(std::uint64_t token);

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace banger
