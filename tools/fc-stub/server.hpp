// The process around the VMM: one poll() loop over the API socket, its
// connections, the vsock socket, signals and timers. No threads, so start-up
// stays cheap and a slow (delayed) response on one connection never blocks
// another.
#pragma once

#include "tools/fc-stub/faults.hpp"
#include "tools/fc-stub/logger.hpp"
#include "tools/fc-stub/request_log.hpp"
#include "tools/fc-stub/vmm.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace banger::fc_stub {

struct ServerSettings {
  std::string api_socket; // empty with --no-api
  std::size_t payload_limit = 51200;
};

class Server : public VmmEvents {
public:
  Server(ServerSettings settings, const Faults& faults, Logger& logger,
         RequestLog& request_log, VmmSettings vmm_settings);
  ~Server() override;
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  Vmm& vmm() { return vmm_; }

  /// Blocks SIGTERM/SIGINT into a signalfd so the loop can clean up. Must run
  /// before anything that may wait (socket delay).
  void capture_signals();

  /// Waits `milliseconds`, returning early (and terminating like the signal
  /// would) if SIGTERM/SIGINT arrives.
  void pause_for(std::int64_t milliseconds);

  /// Binds the API socket. Returns Firecracker's error text on failure.
  std::optional<std::string> bind_api_socket();

  /// Serves until the guest shuts down or a fatal error; returns the exit
  /// code. Signals end the process from inside.
  int run();

  /// Removes the API socket file (exit paths).
  void remove_api_socket();

  // VmmEvents
  void started() override;
  void ctrl_alt_del() override;
  void paused() override;
  void resumed() override;
  void fatal(int exit_code) override;

private:
  struct Connection;

  void accept_connections();
  void read_from(Connection& connection);
  void process_input(Connection& connection);
  void serve(Connection& connection, const http::Request& request,
             std::int64_t start_ns);
  void queue(Connection& connection, std::string_view bytes);
  void flush(Connection& connection);
  void run_timers();
  // Reads a pending SIGTERM/SIGINT from the signalfd and dies of it.
  void take_signal();
  [[noreturn]] void terminate_by_signal(int signal_number);
  void finish_connections();

  ServerSettings settings_;
  const Faults& faults_;
  Logger& logger_;
  RequestLog& request_log_;
  Vmm vmm_;
  int signal_descriptor_ = -1;
  int listener_ = -1;
  bool socket_created_ = false;
  std::vector<std::unique_ptr<Connection>> connections_;

  std::optional<std::int64_t> shutdown_at_ms_;
  bool shutdown_waiting_for_resume_ = false;
  std::optional<std::int64_t> crash_at_ms_;
  std::optional<std::int64_t> poweroff_at_ms_;
  std::optional<int> exit_code_;
};

} // namespace banger::fc_stub
