#include "actors/reactor.hpp"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

namespace banger {

namespace {

using Clock = std::chrono::steady_clock;

int pidfd_open(int pid) {
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}

// Parses a complete HTTP/1.1 response; returns false while more is needed.
bool parse_response(const std::string& data, bool eof, HttpResponse& out,
                    std::string& error) {
  auto header_end = data.find("\r\n\r\n");
  if (header_end == std::string::npos) {
    if (eof)
      error = "connection closed before the response headers";
    return false;
  }
  if (data.compare(0, 9, "HTTP/1.1 ") != 0 && data.compare(0, 9, "HTTP/1.0 ") != 0) {
    error = "not an HTTP response";
    return false;
  }
  out.status = std::atoi(data.c_str() + 9);
  std::size_t length = std::string::npos;
  std::size_t pos = data.find("\r\n") + 2;
  while (pos < header_end) {
    auto eol = data.find("\r\n", pos);
    auto line = data.substr(pos, eol - pos);
    pos = eol + 2;
    auto colon = line.find(':');
    if (colon == std::string::npos)
      continue;
    std::string name = line.substr(0, colon);
    for (auto& c : name)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (name == "content-length")
      length = static_cast<std::size_t>(std::strtoull(line.c_str() + colon + 1, nullptr, 10));
  }
  auto body_start = header_end + 4;
  if (length == std::string::npos) {
    if (!eof && out.status != 204)
      return false;
    out.body = data.substr(body_start);
    return true;
  }
  if (data.size() - body_start < length) {
    if (eof)
      error = "connection closed in the middle of the body";
    return false;
  }
  out.body = data.substr(body_start, length);
  return true;
}

} // namespace

struct Reactor::Impl {
  enum class Kind { http, probe, exit };

  struct Task {
    Kind kind;
    int fd = -1;
    std::string socket_path;
    std::string request;
    std::size_t written = 0;
    std::string response;
    Clock::time_point deadline;
    HttpCallback http_done;
    DoneCallback probe_done;
    ExitCallback exit_done;
    bool connected = false;
  };

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
      if (stored.kind == Kind::exit) {
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = token;
        ::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, stored.fd, &ev);
      } else {
        start_connect(token, stored);
      }
    }
    for (auto token : gone) {
      auto it = tasks.find(token);
      if (it == tasks.end())
        continue;
      if (it->second.fd >= 0) {
        ::epoll_ctl(epoll_fd, EPOLL_CTL_DEL, it->second.fd, nullptr);
        ::close(it->second.fd);
      }
      tasks.erase(it);
    }
    return true;
  }

  // -- reactor thread only ------------------------------------------------------

  // Starts a non-blocking connect for an http or probe task. Returns false
  // when the task finished (with an error or, for a retrying probe, pending).
  bool start_connect(std::uint64_t token, Task& task) {
    task.fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (task.fd < 0) {
      fail(token, task, system_error("socket", task.socket_path, errno));
      return false;
    }
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (task.socket_path.size() >= sizeof(addr.sun_path)) {
      fail(token, task, Error{Errc::invalid_argument, "socket path too long: " + task.socket_path});
      return false;
    }
    std::memcpy(addr.sun_path, task.socket_path.c_str(), task.socket_path.size() + 1);
    int rc = ::connect(task.fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    if (rc != 0 && errno != EINPROGRESS && errno != EAGAIN) {
      int err = errno;
      ::close(task.fd);
      task.fd = -1;
      if (task.kind == Kind::probe && (err == ENOENT || err == ECONNREFUSED))
        return true; // not there yet: retried on the next tick
      fail(token, task, system_error("connect", task.socket_path, err));
      return false;
    }
    if (task.kind == Kind::probe) {
      ::close(task.fd);
      task.fd = -1;
      finish_probe(token, Status{});
      return false;
    }
    epoll_event ev{};
    ev.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP;
    ev.data.u64 = token;
    ::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, task.fd, &ev);
    return true;
  }

  void fail(std::uint64_t token, const Task& task, Error error) {
    if (task.kind == Kind::probe)
      finish_probe(token, Status{std::move(error)});
    else
      finish_http(token, Result<HttpResponse>{std::move(error)});
  }

  void finish_http(std::uint64_t token, Result<HttpResponse> result) {
    auto it = tasks.find(token);
    if (it == tasks.end())
      return;
    auto task = std::move(it->second);
    tasks.erase(it);
    if (task.fd >= 0) {
      ::epoll_ctl(epoll_fd, EPOLL_CTL_DEL, task.fd, nullptr);
      ::close(task.fd);
    }
    if (task.kind == Kind::http && task.http_done)
      task.http_done(std::move(result));
  }

  void finish_probe(std::uint64_t token, Status status) {
    auto it = tasks.find(token);
    if (it == tasks.end())
      return;
    auto task = std::move(it->second);
    tasks.erase(it);
    if (task.fd >= 0) {
      ::epoll_ctl(epoll_fd, EPOLL_CTL_DEL, task.fd, nullptr);
      ::close(task.fd);
    }
    if (task.kind == Kind::probe && task.probe_done)
      task.probe_done(std::move(status));
  }

  void on_http_event(std::uint64_t token, Task& task, std::uint32_t events) {
    if (events & EPOLLOUT) {
      while (task.written < task.request.size()) {
        auto n = ::send(task.fd, task.request.data() + task.written,
                        task.request.size() - task.written, MSG_NOSIGNAL);
        if (n < 0) {
          if (errno == EAGAIN)
            break;
          finish_http(token, Result<HttpResponse>{system_error("send", task.socket_path, errno)});
          return;
        }
        task.written += static_cast<std::size_t>(n);
      }
      if (task.written == task.request.size()) {
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLRDHUP;
        ev.data.u64 = token;
        ::epoll_ctl(epoll_fd, EPOLL_CTL_MOD, task.fd, &ev);
      }
    }
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
      bool eof = false;
      char buffer[4096];
      for (;;) {
        auto n = ::recv(task.fd, buffer, sizeof(buffer), 0);
        if (n > 0) {
          task.response.append(buffer, static_cast<std::size_t>(n));
          continue;
        }
        if (n == 0) {
          eof = true;
        } else if (errno != EAGAIN) {
          finish_http(token, Result<HttpResponse>{system_error("recv", task.socket_path, errno)});
          return;
        }
        break;
      }
      HttpResponse response;
      std::string error;
      if (parse_response(task.response, eof, response, error)) {
        finish_http(token, Result<HttpResponse>{std::move(response)});
      } else if (!error.empty()) {
        finish_http(token, Result<HttpResponse>{
                        Error{Errc::vmm_failed, error + " on " + task.socket_path}});
      } else if (eof) {
        finish_http(token, Result<HttpResponse>{
                        Error{Errc::vmm_failed, "incomplete response on " + task.socket_path}});
      }
    }
  }

  void run() {
    std::vector<epoll_event> events(64);
    for (;;) {
      if (!drain_inbox())
        return;
      // Deadlines, and probes that retry until something listens.
      auto now = Clock::now();
      int timeout_ms = -1;
      std::vector<std::uint64_t> expired, probes;
      for (auto& [token, task] : tasks) {
        if (task.kind == Kind::exit)
          continue;
        if (now >= task.deadline) {
          expired.push_back(token);
          continue;
        }
        if (task.kind == Kind::probe)
          probes.push_back(token);
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                      task.deadline - now).count() + 1;
        if (timeout_ms < 0 || left < timeout_ms)
          timeout_ms = static_cast<int>(left);
      }
      for (auto token : expired) {
        auto& task = tasks.at(token);
        bool probe = task.kind == Kind::probe;
        Error error{Errc::timeout, (probe ? "waiting for socket " : "request on ")
                                     + task.socket_path + " timed out"};
        if (probe)
          finish_probe(token, Status{error});
        else
          finish_http(token, Result<HttpResponse>{error});
      }
      bool retrying = false;
      for (auto token : probes) {
        auto it = tasks.find(token);
        if (it != tasks.end() && start_connect(token, it->second))
          retrying = true;
      }
      if (retrying && (timeout_ms < 0 || timeout_ms > 1))
        timeout_ms = 1;
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
        if (it->second.kind == Kind::exit) {
          auto callback = std::move(it->second.exit_done);
          ::epoll_ctl(epoll_fd, EPOLL_CTL_DEL, it->second.fd, nullptr);
          ::close(it->second.fd);
          tasks.erase(it);
          if (callback)
            callback();
        } else {
          on_http_event(token, it->second, event.events);
        }
      }
    }
  }
};

Reactor::Reactor() : impl_(std::make_unique<Impl>()) {}

Reactor::~Reactor() = default;

void Reactor::http(std::string socket_path, std::string method, std::string path,
                   std::string body, std::chrono::milliseconds timeout, HttpCallback done) {
  Impl::Task task;
  task.kind = Impl::Kind::http;
  task.socket_path = std::move(socket_path);
  task.request = method + " " + path + " HTTP/1.1\r\nHost: localhost\r\n"
                 "Accept: application/json\r\nConnection: close\r\n";
  if (!body.empty() || method == "PUT" || method == "PATCH")
    task.request += "Content-Type: application/json\r\nContent-Length: "
                    + std::to_string(body.size()) + "\r\n";
  task.request += "\r\n" + body;
  task.deadline = Clock::now() + timeout;
  task.http_done = std::move(done);
  impl_->add(std::move(task));
}

void Reactor::wait_for_socket(std::string socket_path, std::chrono::milliseconds timeout,
                              DoneCallback done) {
  Impl::Task task;
  task.kind = Impl::Kind::probe;
  task.socket_path = std::move(socket_path);
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
