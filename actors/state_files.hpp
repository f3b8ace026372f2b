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
#include <string>
#include <vector>

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

// -- snapshots: <vm_dir>/snapshots/<name>/ holds disk.img and, of a running
// or paused guest, its saved state; made in .<name>.partial/ next to it and
// renamed into place once whole.

std::filesystem::path snapshot_dir(const std::filesystem::path& vm_dir, const std::string& name);
std::filesystem::path snapshot_partial_dir(const std::filesystem::path& vm_dir,
                                           const std::string& name);
/// The state files of a snapshot in `dir` (memory_path for the kinds that
/// keep memory apart).
SavedState snapshot_state_files(const std::filesystem::path& dir, bool separate_memory);

/// Makes an empty partial folder for snapshot `name` (removing one a crash
/// left).
Status begin_snapshot(const std::filesystem::path& vm_dir, const std::string& name);

/// Copies the disk `rootfs` into `dir`/disk.img: a reflink where the file
/// system can, else a sparse copy; fsynced. Returns the bytes it occupies.
Result<std::uint64_t> copy_disk(const std::filesystem::path& rootfs,
                                const std::filesystem::path& dir);

/// Size and checksum of `files` (fsynced first); `files` with both set.
Result<SavedState> measure_state(SavedState files);

/// Renames the partial folder of snapshot `name` into place; parent fsynced.
Status commit_snapshot(const std::filesystem::path& vm_dir, const std::string& name);

/// Removes snapshot `name`'s folder and any partial one; missing is fine.
Status remove_snapshot(const std::filesystem::path& vm_dir, const std::string& name);

/// The snapshot folders under `vm_dir` (committed ones; partial ones left
/// by a crash are listed with their dot name).
std::vector<std::string> snapshot_folders(const std::filesystem::path& vm_dir);

/// Copies the saved state `from` (a snapshot's) to become the saved state
/// `final` (a clone's, in another VM directory): each file copied under its
/// temporary name, then sealed as seal_state does. The copy must measure
/// as `from` was recorded (size and checksum), or it is removed.
Result<SavedState> copy_state(const SavedState& from, SavedState final);

/// Replaces `rootfs` by a copy of `disk` (reflink or sparse, same mode),
/// atomically: copied next to it, fsynced, renamed over it.
Status roll_back_disk(const std::filesystem::path& disk, const std::filesystem::path& rootfs);

} // namespace banger
