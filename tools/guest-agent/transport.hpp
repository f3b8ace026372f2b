// How the agent reaches the host. By default the virtio-serial port named
// agent::serial_port_name (QEMU), else a vsock listener on agent::vsock_port
// (Firecracker); tests and odd setups name a Unix socket or a device.
// Every attempt that fails is retried, forever, 100 ms to 1 s apart: the
// agent starts early in boot and the host may come and go.
#pragma once

#include "messages/agent_wire.hpp"
#include "tools/guest-agent/children.hpp"

#include <chrono>
#include <string>

namespace banger::guest {

struct TransportChoice {
  enum class Kind {
    automatic,    ///< virtio-serial port by name, else vsock
    unix_socket,  ///< connect to `path` (a stream socket)
    serial,       ///< open the character device `path`
  };
  Kind kind = Kind::automatic;
  std::string path;
};

class Transport {
public:
  explicit Transport(TransportChoice choice) : choice_(std::move(choice)) {}

  /// The next connection to the host; waits (reaping ended children) until
  /// there is one.
  Fd connect(Children& children);

  /// The vsock listener once there is one, else -1: a connection arriving
  /// on it replaces the current one (a host that reconnects after losing
  /// its end must not wait for the agent to notice).
  int listener() const { return listener_.get(); }

  /// /dev/<port> of the virtio-serial port named `name`, "" if none
  /// (/sys/class/virtio-ports/<port>/name).
  static std::string find_serial_port(const std::string& name);

private:
  Fd try_connect();
  Fd try_serial(const std::string& path);
  Fd try_unix();
  Fd try_vsock();
  void wait(Children& children, std::chrono::milliseconds timeout, int also = -1);
  void failed(const std::string& what);

  TransportChoice choice_;
  Fd listener_;
  std::chrono::milliseconds backoff_{100};
  std::string last_failure_;
};

} // namespace banger::guest
