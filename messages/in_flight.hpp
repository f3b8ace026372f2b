// Requests in flight to a remote actor, so that all of them can fail at once
// when its connection drops. CAF 0.17 kills the proxy of an actor whose node
// is gone but answers none of the requests sent to it: each waits for its
// full timeout. The event-based actor that sends them keeps one entry per
// request here and fails every entry on the down message (or any other sign
// that the peer is gone). Each entry settles exactly once: the reply that
// arrives after the failure (a late reply of the previous connection) finds
// no entry and is dropped. Not thread-safe: owned by one actor.
#pragma once

#include <caf/error.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <utility>

namespace banger {

class InFlight {
public:
  using Fail = std::function<void(const caf::error&)>;

  /// Registers a request; `fail` runs if fail_all comes before settle.
  std::uint64_t add(Fail fail) {
    auto id = ++last_;
    pending_.emplace(id, std::move(fail));
    return id;
  }

  /// The request's own answer arrived: true when it was still pending (the
  /// caller then delivers it), false when it was failed already.
  bool settle(std::uint64_t id) { return pending_.erase(id) > 0; }

  /// Fails every pending request with `error`; later replies are dropped.
  void fail_all(const caf::error& error) {
    auto failing = std::move(pending_);
    pending_.clear();
    for (auto& [id, fail] : failing)
      fail(error);
  }

  std::size_t size() const { return pending_.size(); }

private:
  std::uint64_t last_ = 0;
  std::map<std::uint64_t, Fail> pending_;
};

} // namespace banger
