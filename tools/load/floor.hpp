// The physical floor of a lifecycle on this machine: the same per-VM work as
// bangerd + banger-helper, done directly in this process (as root) with no
// actors and no remoting — fc-stub spawned by the helper's launch code, the
// same Firecracker API calls through the daemon's reactor, the same durable
// SQLite writes through storage/Store (group-committed like the store
// actor), the same tap and rootfs operations from privileged/host.
#pragma once

#include "tools/load/options.hpp"
#include "tools/load/report.hpp"

#include <string>

namespace banger::load {

struct FloorInput {
  Options options;
  std::string image_rootfs; ///< the daemon image's files, copied for the floor
  std::string image_kernel;
};

/// Runs the scenario (lifecycle or churn) with options.concurrency threads in
/// a scratch home beneath options.home (removed afterwards). `error` is set
/// when it could not start.
RunResult run_floor(const FloorInput& input, std::string& error);

} // namespace banger::load
