// File system access confined to banger's directories. The roots (the home
// directory and its layout) come from the helper's own configuration and are
// trusted; everything below them may have been planted by a compromised
// daemon, so it is opened with openat2(RESOLVE_BENEATH) or component by
// component with O_NOFOLLOW, and later steps use the descriptors, not paths.
#pragma once

#include "messages/result.hpp"
#include "privileged/host/unique_fd.hpp"

#include <cstdint>
#include <fcntl.h>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>

namespace banger::host {

/// Owner given to files and directories created for a VMM.
struct Ownership {
  uid_t uid = 0;
  gid_t gid = 0;
  bool operator==(const Ownership&) const = default;
};

/// Whether symlinks below the root may be followed (never out of it).
enum class Symlinks : std::uint8_t { inside_root, never };

/// A path opened beneath a root, and where it turned out to be.
struct BeneathPath {
  UniqueFd fd;
  /// Canonical absolute path of what `fd` refers to.
  std::filesystem::path path;
};

/// Lexical check of an untrusted path: no NUL or control characters, at most
/// max_path_length, no `..` component; an absolute path must lie under `root`
/// (compared lexically). Returns it relative to `root` ("." for the root).
Result<std::string> relative_to_root(const std::filesystem::path& root,
                                     std::string_view path);

/// Opens a directory named by the helper's configuration (trusted).
Result<UniqueFd> open_trusted_dir(const std::filesystem::path& dir);

/// open_trusted_dir once per directory for the whole process: the
/// descriptor is kept (never closed) and lent to every caller, so requests
/// do not look the home up again. For the helper's own roots only, which do
/// not move while it runs.
Result<int> kept_trusted_dir(const std::filesystem::path& dir);
/// Drops the kept descriptor of `dir` (the directory was removed): the next
/// kept_trusted_dir opens it again.
void forget_trusted_dir(const std::filesystem::path& dir);

/// openat2(root_fd, relative, flags | O_CLOEXEC, RESOLVE_BENEATH |
/// RESOLVE_NO_MAGICLINKS [| RESOLVE_NO_SYMLINKS]). Escapes (`..`, absolute
/// symlinks, symlinks out) are helper_refused, a missing object not_found.
/// `shown` names the object in errors.
Result<UniqueFd> open_beneath(int root_fd, const std::string& relative,
                              int flags, Symlinks symlinks,
                              std::string_view shown, mode_t mode = 0);

/// relative_to_root + open_beneath + canonical path. `flags` defaults to
/// O_PATH: the caller gets a handle to the object without reading it.
Result<BeneathPath> resolve_beneath(const std::filesystem::path& root,
                                    std::string_view path, int flags = O_PATH,
                                    Symlinks symlinks = Symlinks::inside_root);

/// A directory opened or created by make_directory_at.
struct MadeDirectory {
  UniqueFd fd;
  bool created = false;
};

/// Creates directory `name` (one component) in `dir_fd` with `mode` (exact,
/// umask ignored) unless it exists, then opens it as open_directory_at does.
Result<MadeDirectory> make_directory_at(int dir_fd, std::string_view name,
                                        mode_t mode, std::string_view shown);

/// Opens directory `name` (one component) in `dir_fd` without following a
/// symlink: a symlink in its place is helper_refused, a file a conflict,
/// nothing there not_found.
Result<UniqueFd> open_directory_at(int dir_fd, std::string_view name,
                                   std::string_view shown);

/// fchown (when `owner` is set) and fchmod of an open file or directory.
Status set_owner_and_mode(int fd, std::optional<Ownership> owner, mode_t mode,
                          std::string_view shown);

/// Removes `name` in `dir_fd` and, if it is a directory, everything below it.
/// Symlinks are unlinked, never followed; a mount point below stops the
/// removal with a conflict. not_found if `name` does not exist.
Status remove_tree_at(int dir_fd, std::string_view name,
                      std::string_view shown);

/// What /proc/self/fd/<fd> points to.
Result<std::filesystem::path> fd_path(int fd);

} // namespace banger::host
