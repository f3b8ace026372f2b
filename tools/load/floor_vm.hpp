// One VM's lifecycle as the floor does it (see floor.hpp): create, start,
// stop and delete, each the same host work and durable writes as bangerd's,
// done directly on the calling thread. Internal to banger-load.
#pragma once

#include "actors/network.hpp"
#include "actors/reactor.hpp"
#include "messages/home_layout.hpp"
#include "messages/settings.hpp"
#include "privileged/host/process.hpp"
#include "privileged/host/rootfs.hpp"
#include "privileged/host/tap.hpp"
#include "privileged/host/tap_reaper.hpp"
#include "storage/store.hpp"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace banger::load::floor_vm {

/// Group commit without an actor: callers block until their write is
/// durable; whatever is queued when the writer gets to work shares one
/// transaction, as in the store actor.
class Committer {
public:
  explicit Committer(Store& store) : store_(store), thread_([this] { loop(); }) {}
  ~Committer() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }

  Status write(Write w) { return write(std::vector<Write>{std::move(w)}); }

  /// Writes that belong together (a VM operation's end: its record and its
  /// status), committed whole or not at all, as the store actor's SaveOutcome.
  Status write(std::vector<Write> w) {
    std::promise<Status> done;
    auto result = done.get_future();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      queue_.push_back({std::move(w), &done});
    }
    wake_.notify_one();
    return result.get();
  }

private:
  void loop() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty())
        return;
      auto batch = std::move(queue_);
      queue_.clear();
      lock.unlock();
      std::vector<std::vector<Write>> groups;
      groups.reserve(batch.size());
      for (auto& [w, p] : batch)
        groups.push_back(std::move(w));
      auto results = store_.apply_groups(groups);
      for (std::size_t i = 0; i < batch.size(); ++i)
        batch[i].second->set_value(std::move(results[i]));
      lock.lock();
    }
  }

  Store& store_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::pair<std::vector<Write>, std::promise<Status>*>> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

struct Env {
  HomeLayout layout{""};
  Settings settings;
  Subnet subnet;
  host::VmmConfig vmm;
  host::RootfsStrategy strategy = host::RootfsStrategy::automatic;
  Image image;
  std::unique_ptr<Store> store;
  std::unique_ptr<Committer> committer;
  Reactor reactor;
  std::atomic<std::uint32_t> next_address{0};
  /// As in banger-helper: taps are removed off the stop's path, in batches.
  host::TapReaper taps;
  /// The floor's own taps (marked for its scratch home, as the helper does).
  host::TapScope tap_scope() const {
    return host::TapScope{settings.network_bridge, host::installation_id(layout.home())};
  }
};

/// One VM as the floor handles it.
struct FloorVm {
  VmRecord rec;
  host::ProcessIdentity vmm;
  std::shared_ptr<std::promise<void>> exited;
};

Status create(Env& env, FloorVm& vm, const std::string& name);
Status start(Env& env, FloorVm& vm);
/// What the daemon's clean-up does after a stop: tap and runtime directory.
void cleanup_runtime(Env& env, FloorVm& vm);
Status stop(Env& env, FloorVm& vm);
Status remove(Env& env, FloorVm& vm);

} // namespace banger::load::floor_vm
