#include "tools/guest-agent/transport.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace banger::guest {

namespace {

constexpr std::chrono::milliseconds max_backoff{1000};

} // namespace

std::string Transport::find_serial_port(const std::string& name) {
  const std::string root = "/sys/class/virtio-ports";
  DIR* dir = ::opendir(root.c_str());
  if (dir == nullptr)
    return {};
  std::string found;
  while (auto* entry = ::readdir(dir)) {
    std::string port = entry->d_name;
    if (port == "." || port == "..")
      continue;
    if (read_first_line(root + "/" + port + "/name") == name) {
      found = "/dev/" + port;
      break;
    }
  }
  ::closedir(dir);
  return found;
}

void Transport::failed(const std::string& what) {
  // Said once per streak: the agent retries every second for as long as
  // the host is away, and the console is the guest's.
  if (what != last_failure_)
    std::fprintf(stderr, "banger-guest-agent: %s; retrying\n", what.c_str());
  last_failure_ = what;
}

void Transport::wait(Children& children, std::chrono::milliseconds timeout, int also) {
  pollfd fds[2] = {{children.fd(), POLLIN, 0}, {also, POLLIN, 0}};
  ::poll(fds, also >= 0 ? 2 : 1, static_cast<int>(timeout.count()));
  children.reap([](pid_t, int) {});
}

Fd Transport::connect(Children& children) {
  for (;;) {
    if (listener_) {
      // Waiting for the host to connect is no failure: no backoff.
      wait(children, std::chrono::milliseconds(-1), listener_.get());
      Fd fd(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
      if (fd)
        return fd;
      continue;
    }
    if (auto fd = try_connect()) {
      backoff_ = std::chrono::milliseconds(100);
      last_failure_.clear();
      return fd;
    }
    if (listener_)
      continue;
    wait(children, backoff_);
    backoff_ = std::min(backoff_ * 2, max_backoff);
  }
}

Fd Transport::try_connect() {
  switch (choice_.kind) {
  case TransportChoice::Kind::unix_socket:
    return try_unix();
  case TransportChoice::Kind::serial:
    return try_serial(choice_.path);
  case TransportChoice::Kind::automatic:
    if (auto port = find_serial_port(agent::serial_port_name); !port.empty())
      return try_serial(port);
    return try_vsock();
  }
  return Fd();
}

Fd Transport::try_serial(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK));
  if (!fd) {
    failed("cannot open " + path + ": " + std::strerror(errno));
    return Fd();
  }
  // A virtio-serial port whose host side is not connected polls as hung
  // up: a hello written now would be lost, so wait for the host.
  pollfd p{fd.get(), POLLIN, 0};
  if (::poll(&p, 1, 0) == 1 && (p.revents & POLLHUP) && !(p.revents & POLLIN)) {
    failed("no host on " + path);
    return Fd();
  }
  std::fprintf(stderr, "banger-guest-agent: connected on %s\n", path.c_str());
  return fd;
}

Fd Transport::try_unix() {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (choice_.path.size() >= sizeof address.sun_path) {
    failed("socket path too long: " + choice_.path);
    return Fd();
  }
  std::memcpy(address.sun_path, choice_.path.c_str(), choice_.path.size() + 1);
  Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd ||
      ::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    failed("cannot connect to " + choice_.path + ": " + std::strerror(errno));
    return Fd();
  }
  std::fprintf(stderr, "banger-guest-agent: connected to %s\n", choice_.path.c_str());
  return fd;
}

Fd Transport::try_vsock() {
  Fd fd(::socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) {
    failed(std::string("no virtio-serial port and no vsock: ") + std::strerror(errno));
    return Fd();
  }
  sockaddr_vm address{};
  address.svm_family = AF_VSOCK;
  address.svm_port = agent::vsock_port;
  address.svm_cid = VMADDR_CID_ANY;
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(fd.get(), 4) != 0) {
    failed("cannot listen on vsock port " + std::to_string(agent::vsock_port) + ": " +
           std::strerror(errno));
    return Fd();
  }
  std::fprintf(stderr, "banger-guest-agent: listening on vsock port %u\n", agent::vsock_port);
  listener_ = std::move(fd);
  return Fd();
}

} // namespace banger::guest
