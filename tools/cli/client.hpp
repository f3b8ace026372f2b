// The CLI's connection to bangerd: one actor system, one mutual-TLS
// connection to the control actor, blocking requests with timeouts (a CLI
// may block; the daemon never does).
#pragma once

#include "messages/config.hpp"
#include "messages/cli_protocol.hpp"
#include "messages/remote_call.hpp"
#include "tools/cli/args.hpp"
#include "tools/cli/errors.hpp"

#include <caf/actor_system.hpp>
#include <caf/expected.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace banger::cli {

/// Why a session could not be opened: the exit code and a message for
/// `error: <message>`.
struct SessionError {
  int exit_code = exit_unreachable;
  std::string message;

  /// Not daemon errors, so not Errc codes: the CLI's own two codes.
  Failure failure() const {
    return {exit_code == exit_unreachable ? code_daemon_unreachable : code_credentials, message,
            "", exit_code};
  }
};

class Session {
public:
  /// Reads <home>/banger.conf (for daemon.port), sets up the client's TLS
  /// files and connects. Never hangs: CAF's middleman timeouts bound a hung
  /// peer, and a refused connection fails at once.
  static std::unique_ptr<Session> open(const GlobalOptions& options, SessionError& error);

  ~Session();

  /// One request; the reply or the error (CAF errors mapped by view()).
  template <class Reply, class Request>
  caf::expected<Reply> call(const Request& request, std::chrono::milliseconds timeout) {
    return std::move(call_all<Reply>(std::vector<Request>{request}, timeout).front());
  }

  /// All requests sent at once, replies collected in request order: the
  /// daemon works on them concurrently. A daemon that goes away fails them
  /// at once (messages/remote_call.hpp).
  template <class Reply, class Request>
  std::vector<caf::expected<Reply>> call_all(const std::vector<Request>& requests,
                                             std::chrono::milliseconds timeout) {
    return remote_call_all<Reply>(*system_, control_, requests, timeout);
  }

  const std::string& address() const { return address_; }
  /// For a command that keeps a conversation going (vm exec).
  caf::actor_system& system() { return *system_; }
  const control_actor& control() const { return control_; }
  const Config& config() const { return *config_; }

private:
  Session() = default;

  std::unique_ptr<Config> config_;
  std::unique_ptr<caf::actor_system> system_;
  control_actor control_;
  std::string address_;
};

/// The envelope every CLI request carries: current protocol, no op_id (the
/// daemon mints it), no credential (mutual TLS authenticates the CLI).
Envelope client_envelope();

} // namespace banger::cli
