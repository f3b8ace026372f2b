#include "tools/load/links.hpp"

#include "messages/remote_call.hpp"

#include <caf/all.hpp>
#include <caf/openssl/all.hpp>

namespace banger::load {

using namespace std::chrono_literals;

Links::Links(caf::actor_system& sys, std::vector<Endpoint> endpoints, bool reconnect)
  : sys_(sys), endpoints_(std::move(endpoints)), reconnect_(reconnect), links_(endpoints_.size()) {
  for (const auto& e : endpoints_)
    addresses_.push_back((e.host.find(':') != std::string::npos ? "[" + e.host + "]" : e.host)
                         + ":" + std::to_string(e.port));
}

Links::~Links() {
  stop();
}

void Links::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable())
    thread_.join();
}

std::string Links::connect_all() {
  for (std::size_t d = 0; d < endpoints_.size(); ++d) {
    auto control = caf::openssl::remote_actor<control_actor>(sys_, endpoints_[d].host,
                                                             endpoints_[d].port);
    if (!control)
      return "cannot reach bangerd at " + addresses_[d] + ": " + sys_.render(control.error());
    std::lock_guard lock(mutex_);
    links_[d] = LinkState{*control, 1, true};
  }
  if (reconnect_)
    thread_ = std::thread([this] { reconnect_loop(); });
  return {};
}

LinkState Links::get(std::size_t daemon) const {
  std::lock_guard lock(mutex_);
  return links_[daemon];
}

bool Links::all_up() const {
  std::lock_guard lock(mutex_);
  for (const auto& l : links_)
    if (!l.up)
      return false;
  return true;
}

bool Links::any_up() const {
  std::lock_guard lock(mutex_);
  for (const auto& l : links_)
    if (l.up)
      return true;
  return false;
}

void Links::lost(std::size_t daemon, std::uint64_t generation) {
  {
    std::lock_guard lock(mutex_);
    auto& l = links_[daemon];
    // Another client may have reported it already, or it is back.
    if (l.generation != generation || !l.up)
      return;
    l.up = false;
  }
  wake_.notify_all();
}

void Links::reconnect_loop() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    std::vector<std::size_t> down;
    for (std::size_t d = 0; d < links_.size(); ++d)
      if (!links_[d].up)
        down.push_back(d);
    if (down.empty()) {
      wake_.wait(lock);
      continue;
    }
    lock.unlock();
    for (auto d : down) {
      auto control = caf::openssl::remote_actor<control_actor>(sys_, endpoints_[d].host,
                                                               endpoints_[d].port);
      if (!control)
        continue;
      // The middleman caches a connect result per host:port until its own
      // down message, so a dial right after a loss can return the dead
      // handle: only a handle that answers counts as up.
      DaemonStatusRequest probe;
      if (!remote_call<DaemonStatus>(sys_, *control, probe, 2s))
        continue;
      std::lock_guard relock(mutex_);
      links_[d].actor = *control;
      ++links_[d].generation;
      links_[d].up = true;
      ++reconnects_;
    }
    lock.lock();
    // Retry what is still down a little later; a stop request ends the wait.
    wake_.wait_for(lock, 20ms, [this] { return stopping_; });
  }
}

} // namespace banger::load
