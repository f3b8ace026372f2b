// A guest's saved state on disk (vm suspend, snapshots): a VMM writes it
// under temporary names; it becomes the saved state only once each file is
// on disk (fsync), measured and checksummed, and renamed into place, with
// the directory synced. A crash at any point leaves the old state or the
// new one, never a half-written file under a name the record trusts; what
// is left under a temporary name is removed by the next save or recovery.
//
// These are blocking file operations (reading a 1 GiB memory file takes a
// while): the VM actor runs them on a detached actor, never on its own
// scheduler thread.
#pragma once

#include "messages/records.hpp"
#include "messages/result.hpp"

#include <filesystem>

namespace banger {

/// Where a suspend of the VM whose directory is `vm_dir` puts its files
/// (memory_path only for the kinds that keep memory apart).
SavedState suspend_files(const std::filesystem::path& vm_dir, bool separate_memory);

/// The temporary names the VMM writes `final`'s files under.
SavedState partial_of(const SavedState& final);

/// Makes the files of `partial` (complete, as the VMM wrote them) the saved
/// state `final`: size and XXH3-128 checksum measured, fsynced, renamed
/// into place, directory fsynced. Returns `final` with size and checksum.
Result<SavedState> seal_state(const SavedState& partial, SavedState final);

/// The files of `saved` are what was recorded: present, same total size,
/// same checksum. Otherwise an error saying which differs.
Status verify_state(const SavedState& saved);

/// Removes the files of `saved` and their temporary names; missing is fine.
void remove_state(const SavedState& saved);

} // namespace banger
