#include "actors/reactor.hpp"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace banger {

namespace {

using Clock = std::chrono::steady_clock;

int pidfd_open(int pid) {
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}

} // namespace

struct Reactor::Impl {
  enum class Kind { stream, probe, banner, exit };

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
  bool stopping = false;

  // Owned by the reactor thread alone.
  std::map<std::uint64_t, Task> tasks;

  Impl() {
    epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
    wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = 0;
    ::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, wake_fd, &ev);
    thread = std::thread([this] { run(); });
  }

  ~Impl() {
    {
      std::lock_guard guard{mutex};
      stopping = true;
    }
    wake();
    thread.join();
    for (auto& [token, task] : tasks)
      if (task.fd >= 0)
        ::close(task.fd);
    for (auto& [token, task] : inbox)
      if (task.fd >= 0)
        ::close(task.fd);
    ::close(wake_fd);
    ::close(epoll_fd);
  }

  void wake() {
    std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_fd, &one, sizeof(one));
  }

  std::uint64_t add(Task task) {
    std::uint64_t token;
    {
      std::lock_guard guard{mutex};
      token = next_token++;
      inbox.emplace_back(token, std::move(task));
    }
    wake();
    return token;
  }

  void cancel(std::uint64_t token) {
    {
      std::lock_guard guard{mutex};
      cancelled.push_back(token);
    }
    wake();
  }

  // Takes new tasks and cancellations; returns false when stopping.
  bool drain_inbox() {
    std::vector<std::pair<std::uint64_t, Task>> fresh;
    std::vector<std::uint64_t> gone;
    {
      std::lock_guard guard{mutex};
      if (stopping)
        return false;
      fresh.swap(inbox);
      gone.swap(cancelled);
    }
    for (auto& [token, task] : fresh) {
      auto& stored = tasks.emplace(token, std::move(task)).first->second;
      switch (stored.kind) {
      case Kind::exit:
        watch(token, stored.fd, EPOLLIN);
        break;
      case Kind::banner:
        connect_tcp(token, stored);
        break;
      default:
        connect_unix(token, stored);
      }
    }
    for (auto token : gone) {
      auto it = tasks.find(token);
      if (it == tasks.end())
        continue;
      close_fd(it->second);
      tasks.erase(it);
    }
    return true;
  }

  // -- reactor thread only ------------------------------------------------------

  void watch(std::uint64_t token, int fd, std::uint32_t events) {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = token;
    if (::epoll_ctl(epoll_fd, EPOLL_CTL_MOD, fd, &ev) != 0)
      ::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev);
  }

  void close_fd(Task& task) {
    if (task.fd < 0)
      return;
    ::epoll_ctl(epoll_fd, EPOLL_CTL_DEL, task.fd, nullptr);
    ::close(task.fd);
    task.fd = -1;
  }

  // Starts a non-blocking connect for a stream or probe task. Returns true
  // while a probe keeps retrying.
  bool connect_unix(std::uint64_t token, Task& task) {
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
      ::close(task.fd);
      task.fd = -1;
      finish(token);
      return false;
    }
    watch(token, task.fd, EPOLLOUT | EPOLLIN | EPOLLRDHUP);
    return true;
  }

  // One attempt of a banner probe; a failure only schedules the next one.
  void connect_tcp(std::uint64_t token, Task& task) {
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

  void retry_later(Task& task, std::string why) {
    close_fd(task);
    task.last_error = std::move(why);
    task.retry_at = Clock::now() + banner_retry;
  }

  /// Completes a task, successfully unless `failure` is set.
  void finish(std::uint64_t token, std::optional<Error> failure = std::nullopt) {
    auto it = tasks.find(token);
    if (it == tasks.end())
      return;
    auto task = std::move(it->second);
    tasks.erase(it);
    close_fd(task);
    if (task.kind == Kind::stream && task.stream_done) {
      if (!failure)
        task.stream_done(Result<std::string>{std::move(task.response)});
      else
        task.stream_done(Result<std::string>{std::move(*failure)});
    } else if (task.probe_done) {
      task.probe_done(!failure ? Status{} : Status{std::move(*failure)});
    }
  }

  void on_stream_event(std::uint64_t token, Task& task, std::uint32_t events) {
    if (events & EPOLLOUT) {
      while (task.written < task.request.size()) {
        auto n = ::send(task.fd, task.request.data() + task.written,
                        task.request.size() - task.written, MSG_NOSIGNAL);
        if (n < 0) {
          if (errno == EAGAIN)
            break;
          finish(token, system_error("send", task.address, errno));
          return;
        }
        task.written += static_cast<std::size_t>(n);
      }
      if (task.written == task.request.size())
        watch(token, task.fd, EPOLLIN | EPOLLRDHUP);
    }
    if (!(events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
      return;
    bool eof = false;
    if (!read_available(task, eof)) {
      finish(token, system_error("recv", task.address, errno));
      return;
    }
    std::string error;
    if (task.complete(task.response, eof, error))
      finish(token);
    else if (!error.empty())
      finish(token, Error{Errc::vmm_failed, error + " on " + task.address});
    else if (eof)
      finish(token, Error{Errc::vmm_failed, "connection closed before a complete answer on "
                                              + task.address});
  }

  void on_banner_event(std::uint64_t token, Task& task, std::uint32_t events) {
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

  // Reads what is there; false on a read error (errno set).
  static bool read_available(Task& task, bool& eof) {
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

  std::string timeout_message(const Task& task) const {
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

  void run() {
    std::vector<epoll_event> events(64);
    for (;;) {
      if (!drain_inbox())
        return;
      // Deadlines, and probes that retry until something answers.
      auto now = Clock::now();
      std::optional<Clock::time_point> wake_at;
      auto earliest = [&](Clock::time_point t) {
        if (!wake_at || t < *wake_at)
          wake_at = t;
      };
      std::vector<std::uint64_t> expired, probes, banners;
      for (auto& [token, task] : tasks) {
        if (task.kind == Kind::exit)
          continue;
        if (now >= task.deadline) {
          expired.push_back(token);
          continue;
        }
        earliest(task.deadline);
        if (task.kind == Kind::probe)
          probes.push_back(token);
        if (task.kind == Kind::banner && task.fd < 0) {
          if (now >= task.retry_at)
            banners.push_back(token);
          else
            earliest(task.retry_at);
        }
      }
      for (auto token : expired)
        finish(token, Error{Errc::timeout, timeout_message(tasks.at(token))});
      for (auto token : probes) {
        auto it = tasks.find(token);
        if (it != tasks.end() && connect_unix(token, it->second))
          earliest(now + std::chrono::milliseconds(1));
      }
      for (auto token : banners) {
        auto it = tasks.find(token);
        if (it == tasks.end())
          continue;
        connect_tcp(token, it->second);
        if (it = tasks.find(token); it != tasks.end() && it->second.fd < 0)
          earliest(it->second.retry_at);
      }
      int timeout_ms = -1;
      if (wake_at)
        timeout_ms = static_cast<int>(std::max<long>(
          0, std::chrono::duration_cast<std::chrono::milliseconds>(*wake_at - Clock::now()).count()
               + 1));
      int n = ::epoll_wait(epoll_fd, events.data(), static_cast<int>(events.size()), timeout_ms);
      for (int i = 0; i < n; ++i) {
        auto& event = events[static_cast<std::size_t>(i)];
        auto token = event.data.u64;
        if (token == 0) {
          std::uint64_t drained;
          while (::read(wake_fd, &drained, sizeof(drained)) > 0) {
          }
          continue;
        }
        auto it = tasks.find(token);
        if (it == tasks.end())
          continue;
        switch (it->second.kind) {
        case Kind::exit: {
          auto callback = std::move(it->second.exit_done);
          close_fd(it->second);
          tasks.erase(it);
          if (callback)
            callback();
          break;
        }
        case Kind::banner:
          on_banner_event(token, it->second, event.events);
          break;
        default:
          on_stream_event(token, it->second, event.events);
        }
      }
    }
  }
};

Reactor::Reactor() : impl_(std::make_unique<Impl>()) {}

Reactor::~Reactor() = default;

void Reactor::http(std::string socket_path, std::string method, std::string path,
                   std::string body, std::chrono::milliseconds timeout, HttpCallback done) {
  std::string request = method + " " + path + " HTTP/1.1\r\nHost: localhost\r\n"
                        "Accept: application/json\r\nConnection: close\r\n";
  if (!body.empty() || method == "PUT" || method == "PATCH")
    request += "Content-Type: application/json\r\nContent-Length: "
               + std::to_string(body.size()) + "\r\n";
  request += "\r\n" + body;
  auto complete = [](const std::string& data, bool eof, std::string& error) {
    HttpResponse ignored;
    return parse_http_response(data, eof, ignored, error);
  };
  exchange(std::move(socket_path), std::move(request), complete, timeout,
           [done = std::move(done)](Result<std::string> raw) {
             if (!raw) {
               done(Result<HttpResponse>{raw.error()});
               return;
             }
             HttpResponse response;
             std::string error;
             parse_http_response(*raw, true, response, error);
             done(Result<HttpResponse>{std::move(response)});
           });
}

void Reactor::exchange(std::string socket_path, std::string request, Completion complete,
                       std::chrono::milliseconds timeout, StreamCallback done) {
  Impl::Task task;
  task.kind = Impl::Kind::stream;
  task.address = std::move(socket_path);
  task.request = std::move(request);
  task.complete = std::move(complete);
  task.deadline = Clock::now() + timeout;
  task.stream_done = std::move(done);
  impl_->add(std::move(task));
}

void Reactor::wait_for_banner(std::string ip, std::uint16_t port, std::string banner,
                              std::chrono::milliseconds timeout, DoneCallback done) {
  Impl::Task task;
  task.kind = Impl::Kind::banner;
  task.address = std::move(ip);
  task.port = port;
  task.request = std::move(banner);
  task.deadline = Clock::now() + timeout;
  task.probe_done = std::move(done);
  impl_->add(std::move(task));
}

void Reactor::wait_for_socket(std::string socket_path, std::chrono::milliseconds timeout,
                              DoneCallback done) {
  Impl::Task task;
  task.kind = Impl::Kind::probe;
  task.address = std::move(socket_path);
  task.deadline = Clock::now() + timeout;
  task.probe_done = std::move(done);
  impl_->add(std::move(task));
}

Result<std::uint64_t> Reactor::watch_exit(int pid, ExitCallback on_exit) {
  // pidfd_open here, not on the reactor thread, so a missing process is
  // reported to the caller at once.
  int fd = pidfd_open(pid);
  if (fd < 0)
    return system_error("pidfd_open", "pid " + std::to_string(pid), errno);
  Impl::Task task;
  task.kind = Impl::Kind::exit;
  task.fd = fd;
  task.deadline = Clock::time_point::max();
  task.exit_done = std::move(on_exit);
  return impl_->add(std::move(task));
}

void Reactor::unwatch(std::uint64_t token) {
  impl_->cancel(token);
}

} // namespace banger
