// The load driver: client actors in one actor system, connected over mutual
// TLS to one or more daemons, each running scenario units until the count or
// the duration is used up, then the clean-up of every VM the run created.
#pragma once

#include "tools/load/options.hpp"
#include "tools/load/report.hpp"

#include <string>

namespace banger::load {

/// What the banger side of a run produced; `setup_error` non-empty when it
/// could not even start (no connection, no image...).
struct DriverOutcome {
  Report report;
  std::string setup_error;
  /// The image's rootfs and kernel as the daemon knows them (for --floor).
  std::string image_rootfs;
  std::string image_kernel;
};

DriverOutcome run_driver(const Options& options);

} // namespace banger::load
