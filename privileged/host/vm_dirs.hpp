// The per-VM directories of a home, opened from the home down one component
// at a time without following symlinks: a compromised daemon that owns parts
// of the home cannot redirect the helper elsewhere by planting a link.
#pragma once

#include "messages/home_layout.hpp"
#include "messages/result.hpp"
#include "privileged/host/paths.hpp"

#include <cstdint>
#include <optional>
#include <string_view>

namespace banger::host {

enum class Create : std::uint8_t { no, yes };

/// Mode of a VM's state and run directories.
inline constexpr mode_t vm_dir_mode = 0750;

/// `<home>/state/vms/<vm_id>`; with Create::yes made if missing (parents
/// `state` and `vms` 0755) and given `owner` and mode 0750.
Result<UniqueFd> open_vm_state_dir(const HomeLayout& layout,
                                   std::string_view vm_id, Create create,
                                   std::optional<Ownership> owner = {});

/// `<home>/run/vms/<vm_id>`, same rules as open_vm_state_dir.
Result<UniqueFd> open_vm_run_dir(const HomeLayout& layout,
                                 std::string_view vm_id, Create create,
                                 std::optional<Ownership> owner = {});

/// `<home>/<top>/vms` (top is "state" or "run"), opened without following
/// symlinks; with Create::yes made if missing.
Result<UniqueFd> open_vms_parent(const HomeLayout& layout, std::string_view top,
                                 Create create);

/// A regular file beneath `<home>/images`: `image` is relative to it or
/// absolute beneath it; symlinks may not leave it and `images` itself must
/// not be a symlink. Opened with `flags` (O_PATH to only check it).
Result<BeneathPath> open_image_file(const HomeLayout& layout,
                                    std::string_view image, int flags);

/// `<home>/state/vms/<vm_id>/rootfs.img`, checked as a VMM will be given it:
/// the directories down to it are no symlinks and it is a regular file (not
/// a symlink). not_found if it is missing. Returns its path.
Result<std::filesystem::path> check_vm_rootfs(const HomeLayout& layout,
                                              std::string_view vm_id);

} // namespace banger::host
