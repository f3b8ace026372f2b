// A whole banger installation for integration tests: a temporary home made
// by banger init, a real banger-helper and a real bangerd as child processes
// (fc-stub as the firecracker binary), and a CAF client that talks to the
// daemon over mutual TLS like the CLI does. Unique ports, bridge and subnet,
// so suites can run in parallel; everything is torn down on destruction.
#pragma once

#include "messages/config.hpp"
#include "messages/cli_protocol.hpp"
#include "messages/helper_protocol.hpp"
#include "tests/support/process.hpp"

#include <caf/fwd.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace banger::test {

struct HostOptions {
  std::vector<std::string> sets;       ///< extra banger init --set KEY=VALUE
  std::vector<std::string> helper_env; ///< e.g. FC_STUB_FAULTS=...
};

class Host {
public:
  explicit Host(HostOptions options = {});
  ~Host();
  Host(const Host&) = delete;
  Host& operator=(const Host&) = delete;

  const std::string& home() const { return home_; }
  std::string path(const std::string& relative) const { return home_ + "/" + relative; }
  const std::string& bridge() const { return bridge_; }
  std::uint16_t daemon_port() const { return daemon_port_; }
  std::uint16_t helper_port() const { return helper_port_; }

  void start_helper();
  void stop_helper(int signal = 15);
  /// Sends `signal` to the helper without waiting (SIGSTOP, SIGCONT).
  void signal_helper(int signal);
  void start_daemon();
  void stop_daemon(int signal = 15);
  bool daemon_running();
  bool helper_running();
  pid_t daemon_pid() const { return daemon_ ? daemon_->pid() : -1; }
  pid_t helper_pid() const { return helper_ ? helper_->pid() : -1; }

  /// Waits until `daemon status` says the helper is reachable.
  void wait_ready();

  /// The control actor; connects (again) on first use after a daemon start.
  control_actor& control();

  /// A request to the daemon, waiting up to `timeout`.
  template <class Reply, class Request>
  Result<Reply> ask(Request request, std::chrono::milliseconds timeout = std::chrono::seconds(60));

  /// Registers a tiny image whose files live under <home>/images/<name>.
  Image add_image(const std::string& name = "tiny");

  /// Lines of the daemon's (or helper's) JSON log so far.
  std::vector<std::string> daemon_log() const;
  std::vector<std::string> helper_log() const;

  /// Host resources of this installation. tap_exists waits for the
  /// helper's background tap removals first (a doctor round trip).
  bool tap_exists(const std::string& vm_id);
  std::vector<int> vmm_pids() const; ///< fc-stub processes of this home

  caf::actor_system& system();

private:
  TempDir dir_;
  std::string home_;
  std::string bridge_;
  std::uint16_t daemon_port_ = 0;
  std::uint16_t helper_port_ = 0;
  HostOptions options_;
  std::optional<Child> helper_;
  std::optional<Child> daemon_;
  struct Client;
  std::unique_ptr<Client> client_;
};

std::string fc_stub_path();

} // namespace banger::test

#include "tests/support/host_fixture_impl.hpp"
