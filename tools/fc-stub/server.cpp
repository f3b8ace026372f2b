#include "tools/fc-stub/server_connection.hpp"

#include "tools/fc-stub/system.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace banger::fc_stub {

Server::Server(ServerSettings settings, const Faults& faults, Logger& logger,
               RequestLog& request_log, VmmSettings vmm_settings)
    : settings_(std::move(settings)), faults_(faults), logger_(logger),
      request_log_(request_log), vmm_(std::move(vmm_settings), logger, *this) {}

Server::~Server() {
  for (auto& connection : connections_)
    ::close(connection->descriptor);
  if (listener_ >= 0)
    ::close(listener_);
  if (signal_descriptor_ >= 0)
    ::close(signal_descriptor_);
}

void Server::capture_signals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigprocmask(SIG_BLOCK, &signals, nullptr);
  signal_descriptor_ = signalfd(-1, &signals, SFD_NONBLOCK | SFD_CLOEXEC);
  // Firecracker ignores SIGPIPE; a client hanging up must not kill it.
  signal(SIGPIPE, SIG_IGN);
}

void Server::terminate_by_signal(int signal_number) {
  logger_.info("Received signal " + std::to_string(signal_number) +
               ", shutting down.");
  remove_api_socket();
  // Die of the signal itself, as Firecracker (which does not handle it)
  // would, so the parent sees WIFSIGNALED.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, signal_number);
  signal(signal_number, SIG_DFL);
  sigprocmask(SIG_UNBLOCK, &signals, nullptr);
  raise(signal_number);
  _exit(128 + signal_number);
}

void Server::pause_for(std::int64_t milliseconds) {
  std::int64_t deadline = monotonic_ms() + milliseconds;
  for (;;) {
    std::int64_t left = deadline - monotonic_ms();
    if (left <= 0)
      return;
    pollfd watched{signal_descriptor_, POLLIN, 0};
    if (::poll(&watched, 1, static_cast<int>(left)) > 0)
      take_signal();
  }
}

void Server::take_signal() {
  signalfd_siginfo information{};
  if (::read(signal_descriptor_, &information, sizeof information) ==
      static_cast<ssize_t>(sizeof information))
    terminate_by_signal(static_cast<int>(information.ssi_signo));
}

std::optional<std::string> Server::bind_api_socket() {
  const std::string& path = settings_.api_socket;
  auto failure = [&](int error) {
    if (error == EADDRINUSE)
      return "Failed to open the API socket at: " + path +
             ". Check that it is not already used.";
    return "Failed to bind and run the HTTP server: IO error: " +
           io_error_text(error);
  };
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path)
    return failure(ENAMETOOLONG);
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  listener_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (listener_ < 0)
    return failure(errno);
  // bind() refuses an existing path with EADDRINUSE, exactly Firecracker's
  // "Address in use" case: a stale or live socket is never replaced.
  if (::bind(listener_, reinterpret_cast<sockaddr*>(&address),
             sizeof address) != 0)
    return failure(errno);
  socket_created_ = true;
  if (::listen(listener_, 128) != 0)
    return failure(errno);
  logger_.info("Listening on API socket (" + quoted(path) + ").");
  return std::nullopt;
}

void Server::remove_api_socket() {
  if (socket_created_) {
    ::unlink(settings_.api_socket.c_str());
    socket_created_ = false;
  }
}

void Server::started() {
  if (faults_.exit_on_start) {
    // A VMM that cannot run the guest it was configured for (QEMU and
    // Firecracker both print why on stderr, then exit mid-request).
    logger_.error("fc-stub exit-on-start fault: Could not start the microVM: "
                  "Cannot allocate memory (os error 12)");
    std::fflush(nullptr);
    ::_exit(*faults_.exit_on_start);
  }
  if (faults_.poweroff_after_boot_ms)
    poweroff_at_ms_ = monotonic_ms() + *faults_.poweroff_after_boot_ms;
  if (faults_.crash_after_boot_ms)
    crash_at_ms_ = monotonic_ms() + *faults_.crash_after_boot_ms;
}

void Server::ctrl_alt_del() {
  if (faults_.ignore_ctrl_alt_del) {
    logger_.info("SendCtrlAltDel ignored (fc-stub ignore-ctrl-alt-del fault).");
    return;
  }
  // A paused guest cannot react to the keystroke until it is resumed.
  if (vmm_.state() == VmState::Paused)
    shutdown_waiting_for_resume_ = true;
  else if (!shutdown_at_ms_)
    shutdown_at_ms_ = monotonic_ms() + faults_.shutdown_delay_ms;
}

void Server::paused() {
  if (shutdown_at_ms_) {
    shutdown_at_ms_.reset();
    shutdown_waiting_for_resume_ = true;
  }
}

void Server::resumed() {
  if (shutdown_waiting_for_resume_) {
    shutdown_waiting_for_resume_ = false;
    shutdown_at_ms_ = monotonic_ms() + faults_.shutdown_delay_ms;
  }
}

void Server::fatal(int exit_code) {
  exit_code_ = exit_code;
}

void Server::run_timers() {
  std::int64_t now = monotonic_ms();
  if (crash_at_ms_ && now >= *crash_at_ms_) {
    logger_.error("fc-stub crash-after-boot fault: killing the process.");
    // An abnormal death: nothing is cleaned up, the socket file stays.
    ::kill(::getpid(), SIGKILL);
  }
  for (auto& connection : connections_) {
    if (connection->delayed && now >= connection->delayed_until_ms) {
      http::Request request = std::move(*connection->delayed);
      connection->delayed.reset();
      serve(*connection, request, connection->delayed_start_ns);
      process_input(*connection);
    }
  }
  if (poweroff_at_ms_ && now >= *poweroff_at_ms_) {
    // What a guest kernel prints on its serial console as it powers off.
    std::fputs("[    1.234567] reboot: Power down\n", stdout);
    std::fflush(stdout);
    logger_.info("Vmm is stopping.", "fc_vcpu 0");
    exit_code_ = 0;
  }
  if (shutdown_at_ms_ && now >= *shutdown_at_ms_) {
    logger_.info("Vmm is stopping.", "fc_vcpu 0");
    exit_code_ = 0;
  }
}

int Server::run() {
  std::vector<pollfd> watched;
  std::vector<Connection*> watched_connections;
  while (!exit_code_) {
    watched.clear();
    watched_connections.clear();
    watched.push_back({signal_descriptor_, POLLIN, 0});
    if (listener_ >= 0)
      watched.push_back({listener_, POLLIN, 0});
    std::size_t vsock_slot = watched.size();
    if (vmm_.vsock_listener() >= 0)
      watched.push_back({vmm_.vsock_listener(), POLLIN, 0});
    std::size_t first_connection = watched.size();
    std::int64_t next_deadline = -1;
    auto consider = [&](std::int64_t deadline) {
      if (next_deadline < 0 || deadline < next_deadline)
        next_deadline = deadline;
    };
    for (auto& connection : connections_) {
      short events = 0;
      if (!connection->close_after_flush)
        events |= POLLIN;
      if (!connection->output.empty())
        events |= POLLOUT;
      if (connection->delayed)
        consider(connection->delayed_until_ms);
      // A hung-up peer would report POLLHUP forever; only its pending
      // (delayed) response keeps it around, and that is a timer.
      int descriptor = connection->peer_closed ? -1 : connection->descriptor;
      watched.push_back({descriptor, events, 0});
      watched_connections.push_back(connection.get());
    }
    if (shutdown_at_ms_)
      consider(*shutdown_at_ms_);
    if (crash_at_ms_)
      consider(*crash_at_ms_);
    if (poweroff_at_ms_)
      consider(*poweroff_at_ms_);
    int timeout = -1;
    if (next_deadline >= 0)
      timeout = static_cast<int>(
          std::max<std::int64_t>(0, next_deadline - monotonic_ms()));

    int ready = ::poll(watched.data(), watched.size(), timeout);
    if (ready < 0 && errno != EINTR)
      break;

    if (watched[0].revents & POLLIN)
      take_signal();
    if (listener_ >= 0 && (watched[1].revents & POLLIN))
      accept_connections();
    if (vsock_slot < first_connection && (watched[vsock_slot].revents & POLLIN))
      vmm_.accept_vsock_connection();
    for (std::size_t index = 0; index < watched_connections.size(); ++index) {
      Connection& connection = *watched_connections[index];
      short revents = watched[first_connection + index].revents;
      if (revents & POLLOUT)
        flush(connection);
      if (revents & (POLLIN | POLLHUP | POLLERR))
        read_from(connection);
    }
    run_timers();

    // Drop connections that are done: closed by the peer with nothing left
    // to say, or refused after a parse error once the reply is out.
    std::erase_if(connections_, [&](const std::unique_ptr<Connection>& item) {
      bool finished = item->output.empty() && !item->delayed &&
                      (item->peer_closed || item->close_after_flush);
      if (finished)
        ::close(item->descriptor);
      return finished;
    });
  }
  finish_connections();
  remove_api_socket();
  int code = exit_code_.value_or(1);
  if (code == 0)
    logger_.info("Firecracker exiting successfully. exit_code=0");
  else
    logger_.error("Firecracker exiting with error. exit_code=" +
                  std::to_string(code));
  return code;
}

} // namespace banger::fc_stub
