// A VM's runtime directory, <home>/run/vms/<vm_id>: API and QMP sockets,
// vsock, jailer chroot. Meaningless once the VMM has exited.
#pragma once

#include "messages/home_layout.hpp"
#include "messages/result.hpp"
#include "privileged/host/paths.hpp"

#include <filesystem>
#include <string_view>

namespace banger::host {

/// Creates the run directory (and `run/vms` if missing) with mode 0750 owned
/// by `owner`, who is the VMM's user: the VMM creates its sockets there. An
/// existing directory is given the same owner and mode. Returns its path.
Result<std::filesystem::path> create_run_dir(const HomeLayout& layout,
                                             std::string_view vm_id,
                                             Ownership owner);

/// Removes the run directory and everything in it, only beneath
/// `<home>/run/vms`: symlinks inside are unlinked, never followed; a mount
/// point inside stops the removal (conflict). not_found if absent.
Status remove_run_dir(const HomeLayout& layout, std::string_view vm_id);

} // namespace banger::host
