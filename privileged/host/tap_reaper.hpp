// Tap removal off the caller's path. Unregistering a network device waits
// for RCU grace periods in the kernel (~20 ms on an idle host, whatever the
// device), which made the tap deletion the longest step of every `vm stop`
// while the CPU sat idle. The reaper checks a tap at once (so a wrong name or
// a device that is not banger's is still refused to the caller), queues it,
// and one background thread deletes everything queued so far with
// delete_taps(): one grace-period wait per batch instead of one per tap.
//
// Ordering: claim() before (re)creating a tap takes it off the queue, so a
// VM started right after its stop keeps the device instead of losing it to
// a late removal; a tap already being deleted is waited for. drain() waits
// for everything accepted so far (the helper's inventory does, so `banger
// doctor` never reports a tap that is on its way out); the destructor drains.
#pragma once

#include "messages/result.hpp"
#include "privileged/host/tap.hpp"

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace banger::host {

class TapReaper {
public:
  /// Called on the reaper's thread after each removal, with the tag given to
  /// schedule() (the helper passes the request's op_id for its log).
  using Report = std::function<void(const std::string& tap, const std::string& tag,
                                    const Status& result, std::size_t batch)>;

  explicit TapReaper(Report report = {});
  ~TapReaper();
  TapReaper(const TapReaper&) = delete;
  TapReaper& operator=(const TapReaper&) = delete;

  /// Checks `tap` as delete_tap() does for `scope` (not_found, refused,
  /// invalid_argument reach the caller) and queues its removal, which checks
  /// it again. A tap already queued or being removed is success.
  Status schedule(std::string_view tap, const TapScope& scope, std::string tag = {});

  /// Before `tap` is created again: a queued removal is cancelled (the
  /// device stays and may be reused); a removal in progress is waited for.
  void claim(const std::string& tap);

  /// Waits until every removal accepted before the call has run.
  void drain();

private:
  struct Item {
    std::string tap;
    std::string tag;
    TapScope scope;
  };
  void run();
  bool pending_locked(const std::string& tap) const;

  Report report_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Item> queue_;
  std::vector<Item> in_flight_;
  bool stopping_ = false;
  std::thread thread_;
};

} // namespace banger::host
