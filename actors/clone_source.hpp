// Whether a VM can be the source of a clone as its record stands: the one
// rule, asked by the node before anything of the clone is made (for a
// clear error at once) and by the source's own actor when it copies (its
// record then is the one that counts).
#pragma once

#include "messages/error.hpp"
#include "messages/records.hpp"

#include <algorithm>
#include <optional>
#include <string>

namespace banger {

/// Why `source` cannot be cloned as it is now (`snapshot` empty) or from
/// its snapshot `snapshot`; nullopt when it can. `vmm_runs`: its VMM is
/// there (a record alone cannot say).
inline std::optional<Error> clone_refusal(const VmRecord& source, const std::string& snapshot,
                                          bool vmm_runs = true) {
  auto state = source.runtime.state;
  if (snapshot.empty()) {
    if (vmm_runs && (state == VmState::running || state == VmState::paused))
      return std::nullopt;
    return Error{Errc::conflict, "cannot clone VM " + source.name + " as it is now: it is "
                                   + std::string(to_string(state))
                                   + "; clone a running or paused VM, or one of its snapshots "
                                     "taken while it ran (banger vm clone "
                                   + source.name + "@SNAPSHOT NAME)"};
  }
  auto snap = std::find_if(source.snapshots.begin(), source.snapshots.end(),
                           [&](const SnapshotInfo& s) { return s.name == snapshot; });
  if (snap == source.snapshots.end())
    return Error{Errc::not_found, "VM " + source.name + " has no snapshot " + snapshot
                                    + " (banger vm snapshot ls " + source.name + ")"};
  if (snap->memory.empty())
    return Error{Errc::conflict, "snapshot " + snapshot + " of VM " + source.name
                                   + " was taken while it was stopped: it holds a disk but no "
                                     "guest to clone"};
  return std::nullopt;
}

} // namespace banger
