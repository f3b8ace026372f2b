#include "actors/reactor_impl.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>

namespace banger {

namespace {

using Clock = std::chrono::steady_clock;

int pidfd_open(int pid) {
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}

} // namespace

Reactor::Impl::Impl() {
  epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
  wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = 0;
  ::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, wake_fd, &ev);
  thread = std::thread([this] { run(); });
}

Reactor::Impl::~Impl() {
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

void Reactor::Impl::wake() {
  std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_fd, &one, sizeof(one));
}

std::uint64_t Reactor::Impl::add(Task task) {
  std::uint64_t token;
  {
    std::lock_guard guard{mutex};
    token = next_token++;
    inbox.emplace_back(token, std::move(task));
  }
  wake();
  return token;
}

void Reactor::Impl::cancel(std::uint64_t token) {
  {
    std::lock_guard guard{mutex};
    cancelled.push_back(token);
  }
  wake();
}

// Takes new tasks and cancellations; returns false when stopping.
bool Reactor::Impl::drain_inbox() {
  std::vector<std::pair<std::uint64_t, Task>> fresh;
  std::vector<std::uint64_t> gone;
  std::vector<DuplexSend> writes;
  {
    std::lock_guard guard{mutex};
    if (stopping)
      return false;
    fresh.swap(inbox);
    gone.swap(cancelled);
    writes.swap(sends);
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
  for (auto& write : writes) {
    auto it = tasks.find(write.token);
    if (it == tasks.end() || it->second.kind != Kind::duplex) {
      if (write.sent)
        write.sent(Error{Errc::agent_unavailable, "the stream is closed"});
      continue;
    }
    auto& task = it->second;
    task.out.emplace_back(std::move(write.bytes), std::move(write.sent));
    if (task.open && task.fd >= 0)
      watch(write.token, task.fd, EPOLLOUT | EPOLLIN | EPOLLRDHUP);
  }
  return true;
}

// -- reactor thread only ------------------------------------------------------

void Reactor::Impl::watch(std::uint64_t token, int fd, std::uint32_t events) {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = token;
  if (::epoll_ctl(epoll_fd, EPOLL_CTL_MOD, fd, &ev) != 0)
    ::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev);
}

void Reactor::Impl::close_fd(Task& task) {
  if (task.fd < 0)
    return;
  ::epoll_ctl(epoll_fd, EPOLL_CTL_DEL, task.fd, nullptr);
  ::close(task.fd);
  task.fd = -1;
}

void Reactor::Impl::park(const std::string& path, int fd) {
  if (auto old = idle_by_path.find(path); old != idle_by_path.end())
    drop_idle(old->second);
  std::uint64_t token;
  {
    std::lock_guard guard{mutex};
    token = next_token++;
  }
  Task task;
  task.kind = Kind::idle;
  task.fd = fd;
  task.address = path;
  task.deadline = Clock::time_point::max();
  tasks.emplace(token, std::move(task));
  idle_by_path[path] = token;
  watch(token, fd, EPOLLIN | EPOLLRDHUP);
}

int Reactor::Impl::take_idle(const std::string& path) {
  auto it = idle_by_path.find(path);
  if (it == idle_by_path.end())
    return -1;
  auto task = tasks.find(it->second);
  idle_by_path.erase(it);
  if (task == tasks.end())
    return -1;
  int fd = task->second.fd;
  tasks.erase(task); // still in the epoll set: the caller's watch() moves it
  return fd;
}

void Reactor::Impl::drop_idle(std::uint64_t token) {
  auto it = tasks.find(token);
  if (it == tasks.end())
    return;
  if (auto p = idle_by_path.find(it->second.address);
      p != idle_by_path.end() && p->second == token)
    idle_by_path.erase(p);
  close_fd(it->second);
  tasks.erase(it);
}

void Reactor::Impl::run() {
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
      if (task.kind == Kind::exit || task.kind == Kind::idle)
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
      case Kind::idle:
        // The VMM closed it (or exited), or sent what nobody asked for.
        drop_idle(token);
        break;
      case Kind::duplex:
        on_duplex_event(token, it->second, event.events);
        break;
      default:
        on_stream_event(token, it->second, event.events);
      }
    }
  }
}

Reactor::Reactor() : impl_(std::make_unique<Impl>()) {}

Reactor::~Reactor() = default;

void Reactor::http(std::string socket_path, std::string method, std::string path,
                   std::string body, std::chrono::milliseconds timeout, HttpCallback done) {
  // HTTP/1.1 keeps the connection (micro_http does too): one per VMM, not
  // one per call (BENCHMARKS.md).
  std::string request = method + " " + path + " HTTP/1.1\r\nHost: localhost\r\n"
                        "Accept: application/json\r\n";
  if (!body.empty() || method == "PUT" || method == "PATCH")
    request += "Content-Type: application/json\r\nContent-Length: "
               + std::to_string(body.size()) + "\r\n";
  request += "\r\n" + body;
  auto complete = [](const std::string& data, bool eof, std::string& error) {
    HttpResponse ignored;
    return parse_http_response(data, eof, ignored, error);
  };
  Impl::Task task;
  task.kind = Impl::Kind::stream;
  task.address = std::move(socket_path);
  task.request = std::move(request);
  task.complete = complete;
  task.deadline = Clock::now() + timeout;
  task.keep_alive = true;
  task.reusable = http_keeps_connection;
  task.stream_done = [done = std::move(done)](Result<std::string> raw) {
    if (!raw) {
      done(Result<HttpResponse>{raw.error()});
      return;
    }
    HttpResponse response;
    std::string error;
    parse_http_response(*raw, true, response, error);
    done(Result<HttpResponse>{std::move(response)});
  };
  impl_->add(std::move(task));
}

void Reactor::exchange(std::string socket_path, std::string request, Completion complete,
                       std::chrono::milliseconds timeout, StreamCallback done, int pass_fd) {
  Impl::Task task;
  task.pass_fd = OwnedFd(pass_fd);
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
                              DoneCallback done, bool keep_connection) {
  Impl::Task task;
  task.kind = Impl::Kind::probe;
  task.keep_connection = keep_connection;
  task.address = std::move(socket_path);
  task.deadline = Clock::now() + timeout;
  task.probe_done = std::move(done);
  impl_->add(std::move(task));
}

std::uint64_t Reactor::open_duplex(std::string socket_path, std::string handshake,
                                   std::string reply_prefix, std::chrono::milliseconds timeout,
                                   DuplexHandlers handlers) {
  Impl::Task task;
  task.kind = Impl::Kind::duplex;
  task.address = std::move(socket_path);
  task.request = std::move(handshake);
  task.reply_prefix = std::move(reply_prefix);
  task.duplex = std::move(handlers);
  task.deadline = Impl::Clock::now() + timeout;
  return impl_->add(std::move(task));
}

void Reactor::send_duplex(std::uint64_t token, std::string bytes, DoneCallback sent) {
  {
    std::lock_guard guard{impl_->mutex};
    impl_->sends.push_back(Impl::DuplexSend{token, std::move(bytes), std::move(sent)});
  }
  impl_->wake();
}

void Reactor::close_duplex(std::uint64_t token) {
  impl_->cancel(token);
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
