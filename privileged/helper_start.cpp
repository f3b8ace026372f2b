// What banger-helper does once, before it serves: the sweep of what a
// previous helper left half-done, and the probe of what the state directory
// supports (answered from memory afterwards; see helper_actor.hpp).
#include "messages/log.hpp"
#include "privileged/helper_actor.hpp"
#include "privileged/host/rundir.hpp"
#include "privileged/host/tap.hpp"

#include <filesystem>
#include <set>

namespace banger {

namespace {

const log::Logger log_{"helper"};
const log::Logger tap_log{"helper.tap"};

} // namespace

StaleRuntime remove_stale_runtime(HelperContext& ctx, const std::vector<host::VmmEntry>& live) {
  std::set<std::string> alive;
  for (const auto& vmm : live)
    alive.insert(vmm.vm_id);
  StaleRuntime removed;
  for (const auto& id : vm_subdirectories(ctx.config.layout.run_dir() / "vms")) {
    if (alive.count(id))
      continue;
    if (auto gone = host::remove_run_dir(ctx.config.layout, id); gone)
      ++removed.run_dirs;
    else
      log_.warn("cannot remove a stale runtime directory", {{"vm_id", id}, {"error", gone.error().message}});
  }
  // Taps a killed helper was creating: unmarked, proven ours by the record.
  std::error_code ec;
  for (auto& entry : std::filesystem::directory_iterator(tap_intents_dir(ctx), ec)) {
    auto tap = entry.path().filename().string();
    if (host::validate_tap_name(tap)) {
      auto gone = host::delete_unmarked_tap(tap);
      if (gone)
        ++removed.taps;
      else if (gone.error().code != Errc::not_found && gone.error().code != Errc::helper_refused)
        tap_log.warn("cannot remove a half-made tap", {{"tap", tap}, {"error", gone.error().message}});
    }
    std::filesystem::remove(entry.path(), ec);
  }
  std::set<std::string> live_taps;
  for (const auto& id : alive)
    live_taps.insert(tap_name(id));
  auto scope = tap_scope(ctx);
  auto taps = host::list_taps(scope);
  if (!taps) {
    tap_log.warn("cannot list taps for the start-up sweep", {{"error", taps.error().message}});
    return removed;
  }
  std::vector<std::string> stale;
  for (const auto& tap : *taps)
    if (tap.ours && !live_taps.count(tap.name))
      stale.push_back(tap.name);
  auto results = host::delete_taps(stale, scope);
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (results[i])
      ++removed.taps;
    else
      tap_log.warn("cannot remove a stale tap", {{"tap", stale[i]}, {"error", results[i].error().message}});
  }
  return removed;
}

std::vector<std::string> probe_rootfs_strategies(const std::filesystem::path& dir) {
  auto support = host::detect_rootfs_support(dir);
  if (!support)
    return {"sparse-copy"};
  std::vector<std::string> out;
  if (support->reflink.supported)
    out.push_back("reflink");
  if (support->dm_snapshot.supported)
    out.push_back("dm-snapshot");
  if (support->sparse_copy.supported)
    out.push_back("sparse-copy");
  return out;
}

} // namespace banger
