// The daemon's one I/O thread: an epoll loop that talks HTTP (Firecracker)
// and QMP (QEMU) to VMM sockets, waits for sockets to appear and for guests'
// SSH ports to answer, and learns VMM exits through pidfds.
// Nothing else in bangerd waits on a VMM: callers get a callback on the
// reactor thread, which only forwards a message to the actor that asked (see
// vmm_io_actor). No thread per VM, no blocking call on a scheduler thread.
#pragma once

#include "actors/http_response.hpp"
#include "messages/result.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace banger {

class Reactor {
public:
  using HttpCallback = std::function<void(Result<HttpResponse>)>;
  using StreamCallback = std::function<void(Result<std::string>)>;
  using DoneCallback = std::function<void(Status)>;
  using ExitCallback = std::function<void()>;
  /// Says whether `received` (everything read so far; `eof` once the peer
  /// closed) is a complete answer. Sets `error` to give up at once.
  using Completion = std::function<bool(const std::string& received, bool eof, std::string& error)>;

  Reactor();
  ~Reactor();
  Reactor(const Reactor&) = delete;
  Reactor& operator=(const Reactor&) = delete;

  /// One HTTP/1.1 exchange over a Unix socket. The connection is kept for
  /// the next call to the same socket while the server keeps it open (one
  /// per socket); a kept connection the server closed meanwhile is replaced
  /// by a new one, once, before anything was answered.
  void http(std::string socket_path, std::string method, std::string path,
            std::string body, std::chrono::milliseconds timeout, HttpCallback done);

  /// Writes `request` to a Unix socket and reads until `complete` says the
  /// answer is whole; gets everything read. A `pass_fd` (>= 0) travels with
  /// the request's first bytes (SCM_RIGHTS); the exchange owns it and closes
  /// its copy once sent or when the exchange ends.
  void exchange(std::string socket_path, std::string request, Completion complete,
                std::chrono::milliseconds timeout, StreamCallback done, int pass_fd = -1);

  /// Succeeds once a TCP server at ip:port greets with a line starting with
  /// `banner` (e.g. "SSH-"); refused, unreachable or silent peers are retried
  /// until the timeout.
  void wait_for_banner(std::string ip, std::uint16_t port, std::string banner,
                       std::chrono::milliseconds timeout, DoneCallback done);

  /// Succeeds once something accepts connections on `socket_path`. With
  /// `keep_connection` (an HTTP API socket) the connection that succeeded is
  /// kept for the first http() call there.
  void wait_for_socket(std::string socket_path, std::chrono::milliseconds timeout,
                       DoneCallback done, bool keep_connection = false);

  /// A long-lived byte stream over a Unix socket (the guest agent's,
  /// docs/agent.md). After connecting, `handshake` is written and, when
  /// `reply_prefix` is not empty, a line starting with it must come back
  /// before `timeout` (Firecracker's vsock: "CONNECT 1024\n" -> "OK ...").
  /// Then `opened` is called, `data` with every read, and `closed` once
  /// when it ends for any reason but close_duplex(). Returns its token.
  struct DuplexHandlers {
    std::function<void()> opened;
    std::function<void(std::string)> data;
    std::function<void(Error)> closed;
  };
  std::uint64_t open_duplex(std::string socket_path, std::string handshake,
                            std::string reply_prefix, std::chrono::milliseconds timeout,
                            DuplexHandlers handlers);
  /// Queues `bytes` on a duplex stream; `sent` (may be empty) is called once
  /// they are written, or with the error that ended the stream first.
  void send_duplex(std::uint64_t token, std::string bytes, DoneCallback sent);
  /// Ends a duplex stream; none of its handlers is called after.
  void close_duplex(std::uint64_t token);

  /// Calls `on_exit` once when process `pid` exits. Fails at once (error) if
  /// the process does not exist. Returns a token for unwatch().
  Result<std::uint64_t> watch_exit(int pid, ExitCallback on_exit);
  void unwatch(std::uint64_t token);

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace banger
