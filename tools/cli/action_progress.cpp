#include "tools/cli/action_progress.hpp"

#include <unistd.h>

#include <algorithm>
#include <iostream>

namespace banger::cli {

using namespace std::chrono_literals;

std::string wait_line(const std::string& name, const std::string& stage, std::int64_t left_us) {
  std::string what;
  if (stage == "wait_for_exit")
    what = "waiting for the guest to power off";
  else if (stage == "probe_guest")
    what = "checking whether the guest is up";
  else if (stage == "kill_vmm" || stage == "signal_vmm")
    what = "waiting for the VMM to exit";
  else
    return {};
  auto line = name + ": " + what + " (" + stage + ")";
  if (left_us >= 0)
    line += ", " + std::to_string((left_us + 999'999) / 1'000'000) + " s left";
  return line;
}

ActionProgress::ActionProgress(Session& session, std::vector<std::string> ids, bool enabled)
  : session_(session), ids_(std::move(ids)) {
  if (enabled && !ids_.empty() && ::isatty(STDERR_FILENO) == 1)
    thread_ = std::thread([this] { run(); });
}

ActionProgress::~ActionProgress() {
  if (!thread_.joinable())
    return;
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void ActionProgress::run() {
  std::vector<VmShowRequest> requests;
  for (const auto& id : ids_)
    requests.push_back({client_envelope(), id});
  std::string shown;
  std::unique_lock lock(mutex_);
  // The first look after a moment: most stops end within it.
  while (!wake_.wait_for(lock, 250ms, [this] { return stop_; })) {
    lock.unlock();
    auto vms = session_.call_all<VmRecord>(requests, 2s);
    std::string line;
    for (auto& vm : vms) {
      if (!vm)
        continue;
      const auto& rt = vm->runtime;
      auto left = rt.stage_deadline_us == 0 ? -1 : std::max<std::int64_t>(0, rt.stage_deadline_us - now_us());
      auto part = wait_line(vm->name, rt.stage, left);
      if (!part.empty())
        line += (line.empty() ? "" : "; ") + part;
    }
    lock.lock();
    if (stop_)
      break;
    if (line != shown) {
      std::cerr << "\r\033[K" << line << std::flush;
      shown = line;
    }
  }
  if (!shown.empty())
    std::cerr << "\r\033[K" << std::flush;
}

} // namespace banger::cli
