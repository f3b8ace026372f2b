// A VM's writable root file system, made from a base image: a reflink clone
// (FICLONE) where the file system shares extents, a sparse copy otherwise.
// dm-snapshot is detected but not implemented (see FIXME in rootfs.cpp).
#pragma once

#include "messages/home_layout.hpp"
#include "messages/result.hpp"
#include "privileged/host/paths.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace banger::host {

/// The `rootfs.strategy` setting, and what prepare_rootfs actually used. The
/// order is that of choices::rootfs_strategy (messages/settings_table.hpp),
/// which names them.
enum class RootfsStrategy : std::uint8_t {
  automatic,
  reflink,
  dm_snapshot,
  sparse_copy,
};

/// "auto", "reflink", "dm-snapshot", "sparse-copy".
std::string_view to_string(RootfsStrategy strategy);
Result<RootfsStrategy> parse_rootfs_strategy(std::string_view text);

struct StrategySupport {
  bool supported = false;
  /// Why (not): "FICLONE works", "/dev/mapper/control: No such file...".
  std::string detail;
};

/// What the helper can do for a directory.
struct RootfsSupport {
  StrategySupport reflink;
  StrategySupport dm_snapshot;
  StrategySupport sparse_copy;
};

/// Probes `dir` (trusted: from the layout): reflink by cloning between two
/// unnamed temporary files there, dm-snapshot by asking /dev/mapper/control
/// for its version. Sparse copy is always supported.
Result<RootfsSupport> detect_rootfs_support(const std::filesystem::path& dir);

struct PreparedRootfs {
  /// <home>/state/vms/<vm_id>/rootfs.img
  std::filesystem::path path;
  /// reflink or sparse_copy.
  RootfsStrategy strategy = RootfsStrategy::sparse_copy;
  std::uint64_t size_bytes = 0;
};

/// Makes `<home>/state/vms/<vm_id>/rootfs.img` from `image` (relative to, or
/// absolute beneath, `<home>/images`; a regular file). The VM directory is
/// created (0750, `owner`) if needed; the rootfs is 0600 and owned by
/// `owner`. It is written under a temporary name, synced, then renamed, so the
/// final name never holds a partial copy. An existing rootfs is never
/// overwritten: already_exists. `automatic` tries reflink, then sparse copy;
/// `reflink` and `dm_snapshot` fail with invalid_argument where unsupported.
/// A `size_bytes` (vm create --disk) grows the copy to that size, sparsely
/// (the guest grows its file system at boot); below the image's size, or
/// outside messages/disk_size.hpp's bounds, is invalid_argument and nothing
/// is made. 0 keeps the image's size.
Result<PreparedRootfs> prepare_rootfs(const HomeLayout& layout,
                                      std::string_view vm_id,
                                      std::string_view image,
                                      RootfsStrategy strategy,
                                      std::optional<Ownership> owner = {},
                                      std::uint64_t size_bytes = 0);

/// Removes the VM's rootfs.img and leftover temporary copies; not_found if
/// there is no rootfs.img.
Status release_rootfs(const HomeLayout& layout, std::string_view vm_id);

/// Removes `<home>/state/vms/<vm_id>` and everything in it (never following
/// symlinks); not_found if absent. For `vm delete`.
Status remove_vm_state_dir(const HomeLayout& layout, std::string_view vm_id);

} // namespace banger::host
