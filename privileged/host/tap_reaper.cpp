#include "privileged/host/tap_reaper.hpp"

#include "privileged/host/tap.hpp"

#include <algorithm>
#include <tuple>

namespace banger::host {

TapReaper::TapReaper(Report report) : report_(std::move(report)) {
  thread_ = std::thread([this] { run(); });
}

TapReaper::~TapReaper() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  thread_.join(); // run() empties the queue before it returns
}

bool TapReaper::pending_locked(const std::string& tap) const {
  auto named = [&](const Item& item) { return item.tap == tap; };
  return std::any_of(queue_.begin(), queue_.end(), named)
         || std::any_of(in_flight_.begin(), in_flight_.end(), named);
}

Status TapReaper::schedule(std::string_view tap_view, const TapScope& scope, std::string tag) {
  std::string tap(tap_view);
  {
    std::lock_guard lock(mutex_);
    if (pending_locked(tap))
      return {};
  }
  if (auto checked = check_tap(tap, scope); !checked)
    return checked;
  {
    std::lock_guard lock(mutex_);
    if (!pending_locked(tap))
      queue_.push_back(Item{std::move(tap), std::move(tag), scope});
  }
  changed_.notify_all();
  return {};
}

void TapReaper::claim(const std::string& tap) {
  std::unique_lock lock(mutex_);
  std::erase_if(queue_, [&](const Item& item) { return item.tap == tap; });
  changed_.wait(lock, [&] {
    return std::none_of(in_flight_.begin(), in_flight_.end(),
                        [&](const Item& item) { return item.tap == tap; });
  });
}

void TapReaper::drain() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return queue_.empty() && in_flight_.empty(); });
}

void TapReaper::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    changed_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty())
      return; // stopping, and nothing left to remove
    in_flight_.swap(queue_);
    // Grouped by scope (one in the helper): one batch each.
    std::stable_sort(in_flight_.begin(), in_flight_.end(), [](const Item& a, const Item& b) {
      return std::tie(a.scope.installation, a.scope.bridge)
             < std::tie(b.scope.installation, b.scope.bridge);
    });
    lock.unlock();
    for (std::size_t first = 0; first < in_flight_.size();) {
      auto last = first;
      std::vector<std::string> names;
      while (last < in_flight_.size() && in_flight_[last].scope == in_flight_[first].scope)
        names.push_back(in_flight_[last++].tap);
      auto results = delete_taps(names, in_flight_[first].scope);
      if (report_)
        for (std::size_t i = 0; i < names.size(); ++i)
          report_(names[i], in_flight_[first + i].tag, results[i], names.size());
      first = last;
    }
    lock.lock();
    in_flight_.clear();
    changed_.notify_all();
  }
}

} // namespace banger::host
