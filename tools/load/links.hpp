// The daemons a load run talks to. Each link holds the control actor of one
// daemon and a generation that grows with every (re)connection. Without
// --reconnect a link is connected once, as before; with it a lost link is
// connected again in the background (a thread retrying every 20 ms) while
// the clients wait, so a run survives SIGKILLed and restarted daemons.
#pragma once

#include "messages/cli_protocol.hpp"
#include "tools/load/options.hpp"

#include <caf/fwd.hpp>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace banger::load {

struct LinkState {
  control_actor actor;
  std::uint64_t generation = 0;
  bool up = false;
};

class Links {
public:
  Links(caf::actor_system& sys, std::vector<Endpoint> endpoints, bool reconnect);
  ~Links();
  Links(const Links&) = delete;
  Links& operator=(const Links&) = delete;

  /// The first connection to every daemon; an error names the address.
  std::string connect_all();

  std::size_t size() const { return endpoints_.size(); }
  const std::vector<std::string>& addresses() const { return addresses_; }
  LinkState get(std::size_t daemon) const;
  bool all_up() const;
  bool any_up() const;

  /// A client saw generation `generation` of link `daemon` go down.
  void lost(std::size_t daemon, std::uint64_t generation);

  /// Ends the reconnecting thread (idempotent).
  void stop();

  /// Successful connections after the first ones.
  std::uint64_t reconnects() const { return reconnects_.load(); }

private:
  void reconnect_loop();

  caf::actor_system& sys_;
  std::vector<Endpoint> endpoints_;
  std::vector<std::string> addresses_;
  bool reconnect_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<LinkState> links_;
  bool stopping_ = false;
  std::atomic<std::uint64_t> reconnects_{0};
  std::thread thread_;
};

} // namespace banger::load
