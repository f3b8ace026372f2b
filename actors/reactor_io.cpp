#include "actors/reactor_impl.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <utility>
#include <cstring>

namespace banger {

namespace {

/// send(), with `fd` as SCM_RIGHTS when it is a descriptor (>= 0).
ssize_t send_with(int socket, const char* data, std::size_t size, int fd) {
  if (fd < 0)
    return ::send(socket, data, size, MSG_NOSIGNAL);
  iovec iov{const_cast<char*>(data), size};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  auto* cmsg = CMSG_FIRSTHDR(&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
  return ::sendmsg(socket, &msg, MSG_NOSIGNAL);
}

} // namespace

void OwnedFd::reset() {
  if (fd_ >= 0)
    ::close(fd_);
  fd_ = -1;
}

// Starts a non-blocking connect for a stream or probe task. Returns true
// while a probe keeps retrying.
bool Reactor::Impl::connect_unix(std::uint64_t token, Task& task) {
  if (task.kind == Kind::stream && task.keep_alive && !task.retried) {
    if (int kept = take_idle(task.address); kept >= 0) {
      task.fd = kept;
      task.reused = true;
      watch(token, task.fd, EPOLLOUT | EPOLLIN | EPOLLRDHUP);
      return true;
    }
  }
  task.fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (task.fd < 0) {
    finish(token, system_error("socket", task.address, errno));
    return false;
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (task.address.size() >= sizeof(addr.sun_path)) {
    finish(token, Error{Errc::invalid_argument, "socket path too long: " + task.address});
    return false;
  }
  std::memcpy(addr.sun_path, task.address.c_str(), task.address.size() + 1);
  int rc = ::connect(task.fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  if (rc != 0 && errno != EINPROGRESS && errno != EAGAIN) {
    int err = errno;
    ::close(task.fd);
    task.fd = -1;
    if (task.kind == Kind::probe && (err == ENOENT || err == ECONNREFUSED))
      return true; // not there yet: retried on the next tick
    finish(token, system_error("connect", task.address, err));
    return false;
  }
  if (task.kind == Kind::probe) {
    if (rc == 0 && task.keep_connection) {
      park(task.address, task.fd);
      task.fd = -1;
    } else {
      ::close(task.fd);
      task.fd = -1;
    }
    finish(token);
    return false;
  }
  watch(token, task.fd, EPOLLOUT | EPOLLIN | EPOLLRDHUP);
  return true;
}

// One attempt of a banner probe; a failure only schedules the next one.
void Reactor::Impl::connect_tcp(std::uint64_t token, Task& task) {
  task.response.clear();
  task.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (task.fd < 0) {
    finish(token, system_error("socket", task.address, errno));
    return;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(task.port);
  if (::inet_pton(AF_INET, task.address.c_str(), &addr.sin_addr) != 1) {
    finish(token, Error{Errc::invalid_argument, "not an IPv4 address: " + task.address});
    return;
  }
  int rc = ::connect(task.fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  if (rc != 0 && errno != EINPROGRESS) {
    retry_later(task, std::strerror(errno));
    return;
  }
  watch(token, task.fd, EPOLLOUT | EPOLLIN | EPOLLRDHUP);
}

void Reactor::Impl::retry_later(Task& task, std::string why) {
  close_fd(task);
  task.last_error = std::move(why);
  task.retry_at = Clock::now() + banner_retry;
}

/// Completes a task, successfully unless `failure` is set.
void Reactor::Impl::finish(std::uint64_t token, std::optional<Error> failure) {
  auto it = tasks.find(token);
  if (it == tasks.end())
    return;
  auto task = std::move(it->second);
  tasks.erase(it);
  close_fd(task);
  if (task.kind == Kind::duplex) {
    Error why = failure ? std::move(*failure)
                        : Error{Errc::agent_unavailable, "the stream on " + task.address + " closed"};
    for (auto& [bytes, sent] : task.out)
      if (sent)
        sent(why);
    if (task.duplex.closed)
      task.duplex.closed(std::move(why));
  } else if (task.kind == Kind::stream && task.stream_done) {
    if (!failure)
      task.stream_done(Result<std::string>{std::move(task.response)});
    else
      task.stream_done(Result<std::string>{std::move(*failure)});
  } else if (task.probe_done) {
    task.probe_done(!failure ? Status{} : Status{std::move(*failure)});
  }
}

void Reactor::Impl::on_stream_event(std::uint64_t token, Task& task, std::uint32_t events) {
  // A kept connection that fails before any answer: the peer closed it
  // while it was idle. Once more on a new connection (nothing was answered,
  // so nothing was done twice).
  auto retry_fresh = [&] {
    if (!task.reused || task.retried || !task.response.empty())
      return false;
    task.retried = true; // a new connection this time (connect_unix)
    close_fd(task);
    task.written = 0;
    connect_unix(token, task);
    return true;
  };
  if (events & EPOLLOUT) {
    while (task.written < task.request.size()) {
      // The descriptor rides on the first bytes sent: the kernel delivers
      // it with them, and the peer's first read takes it.
      auto n = send_with(task.fd, task.request.data() + task.written,
                         task.request.size() - task.written, task.pass_fd.get());
      if (n < 0) {
        if (errno == EAGAIN)
          break;
        int err = errno;
        if (!retry_fresh())
          finish(token, system_error("send", task.address, err));
        return;
      }
      task.written += static_cast<std::size_t>(n);
      task.pass_fd.reset();
    }
    if (task.written == task.request.size())
      watch(token, task.fd, EPOLLIN | EPOLLRDHUP);
  }
  if (!(events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
    return;
  bool eof = false;
  if (!read_available(task, eof)) {
    int err = errno;
    if (!retry_fresh())
      finish(token, system_error("recv", task.address, err));
    return;
  }
  if (eof && retry_fresh())
    return;
  std::string error;
  if (task.complete(task.response, eof, error)) {
    if (task.keep_alive && !eof && task.reusable && task.reusable(task.response)) {
      park(task.address, task.fd);
      task.fd = -1;
    }
    finish(token);
  }
  else if (!error.empty())
    finish(token, Error{Errc::vmm_failed, error + " on " + task.address});
  else if (eof)
    finish(token, Error{Errc::vmm_failed, "connection closed before a complete answer on "
                                            + task.address});
}

void Reactor::Impl::on_banner_event(std::uint64_t token, Task& task, std::uint32_t events) {
  if (events & EPOLLOUT) {
    int err = 0;
    socklen_t len = sizeof(err);
    ::getsockopt(task.fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      retry_later(task, std::strerror(err));
      return;
    }
    watch(token, task.fd, EPOLLIN | EPOLLRDHUP);
  }
  if (!(events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
    return;
  bool eof = false;
  if (!read_available(task, eof)) {
    retry_later(task, std::strerror(errno));
    return;
  }
  const auto& want = task.request;
  if (task.response.size() >= want.size()) {
    if (task.response.compare(0, want.size(), want) == 0)
      finish(token);
    else
      retry_later(task, "unexpected greeting");
  } else if (eof) {
    retry_later(task, "closed before greeting");
  }
}

void Reactor::Impl::duplex_opened(std::uint64_t token, Task& task) {
  task.open = true;
  task.deadline = Clock::time_point::max();
  if (task.duplex.opened)
    task.duplex.opened();
  if (!task.response.empty() && task.duplex.data)
    task.duplex.data(std::exchange(task.response, {}));
  task.response.clear();
  watch(token, task.fd, (task.out.empty() ? 0u : EPOLLOUT) | EPOLLIN | EPOLLRDHUP);
}

void Reactor::Impl::on_duplex_event(std::uint64_t token, Task& task, std::uint32_t events) {
  if (events & EPOLLOUT) {
    if (!task.open) {
      int err = 0;
      socklen_t len = sizeof(err);
      ::getsockopt(task.fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) {
        finish(token, system_error("connect", task.address, err));
        return;
      }
      while (task.written < task.request.size()) {
        auto n = ::send(task.fd, task.request.data() + task.written,
                        task.request.size() - task.written, MSG_NOSIGNAL);
        if (n < 0) {
          if (errno == EAGAIN)
            return;
          finish(token, system_error("send", task.address, errno));
          return;
        }
        task.written += static_cast<std::size_t>(n);
      }
      if (task.reply_prefix.empty()) {
        duplex_opened(token, task);
        return;
      }
      watch(token, task.fd, EPOLLIN | EPOLLRDHUP);
    } else {
      while (!task.out.empty()) {
        auto& [bytes, sent] = task.out.front();
        auto n = ::send(task.fd, bytes.data() + task.out_written, bytes.size() - task.out_written,
                        MSG_NOSIGNAL);
        if (n < 0) {
          if (errno == EAGAIN)
            break;
          finish(token, system_error("send", task.address, errno));
          return;
        }
        task.out_written += static_cast<std::size_t>(n);
        if (task.out_written < bytes.size())
          continue;
        auto done = std::move(sent);
        task.out.pop_front();
        task.out_written = 0;
        if (done)
          done(Status{});
      }
      if (task.out.empty())
        watch(token, task.fd, EPOLLIN | EPOLLRDHUP);
    }
  }
  if (!(events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
    return;
  // At most 256 KiB per wake-up: one chatty stream cannot starve the others.
  char buffer[16384];
  std::string got;
  bool eof = false;
  while (got.size() < 256 * 1024) {
    auto n = ::recv(task.fd, buffer, sizeof(buffer), 0);
    if (n > 0) {
      got.append(buffer, static_cast<std::size_t>(n));
      continue;
    }
    if (n == 0)
      eof = true;
    else if (errno != EAGAIN) {
      finish(token, system_error("recv", task.address, errno));
      return;
    }
    break;
  }
  if (!task.open) {
    task.response += got;
    auto nl = task.response.find('\n');
    if (nl == std::string::npos) {
      if (eof || task.response.size() > 256)
        finish(token, Error{Errc::agent_unavailable,
                            "no handshake answer on " + task.address
                              + (task.response.empty() ? "" : ": " + task.response.substr(0, 64))});
      return;
    }
    auto line = task.response.substr(0, nl);
    if (line.compare(0, task.reply_prefix.size(), task.reply_prefix) != 0) {
      finish(token, Error{Errc::agent_unavailable,
                          "handshake refused on " + task.address + ": " + line.substr(0, 64)});
      return;
    }
    task.response.erase(0, nl + 1);
    duplex_opened(token, task);
    if (eof)
      finish(token);
    return;
  }
  if (!got.empty() && task.duplex.data)
    task.duplex.data(std::move(got));
  if (eof)
    finish(token);
}

// Reads what is there; false on a read error (errno set).
bool Reactor::Impl::read_available(Task& task, bool& eof) {
  char buffer[4096];
  for (;;) {
    auto n = ::recv(task.fd, buffer, sizeof(buffer), 0);
    if (n > 0) {
      task.response.append(buffer, static_cast<std::size_t>(n));
      continue;
    }
    if (n == 0)
      eof = true;
    else if (errno != EAGAIN)
      return false;
    return true;
  }
}

std::string Reactor::Impl::timeout_message(const Task& task) const {
  switch (task.kind) {
  case Kind::probe:
    return "waiting for socket " + task.address + " timed out";
  case Kind::banner:
    return "nothing answered on " + task.address + ":" + std::to_string(task.port)
           + " in time" + (task.last_error.empty() ? "" : " (last: " + task.last_error + ")");
  default:
    return "request on " + task.address + " timed out";
  }
}

} // namespace banger
