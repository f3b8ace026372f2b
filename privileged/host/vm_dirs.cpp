#include "privileged/host/vm_dirs.hpp"

#include "privileged/host/errors.hpp"
#include "privileged/host/paths.hpp"
#include "privileged/host/validate.hpp"

#include <cerrno>
#include <optional>
#include <sys/stat.h>

namespace banger::host {

namespace {

constexpr mode_t parent_mode = 0755;

Result<UniqueFd> open_component(int dir_fd, std::string_view name, mode_t mode,
                                Create create, const std::string& shown) {
  if (create == Create::yes) {
    auto made = make_directory_at(dir_fd, name, mode, shown);
    if (!made)
      return std::move(made).error();
    return std::move(made->fd);
  }
  return open_directory_at(dir_fd, name, shown);
}

/// The common case in one openat2 from the kept home descriptor: every
/// component there, a directory, no symlink anywhere (RESOLVE_NO_SYMLINKS
/// refuses what O_NOFOLLOW refuses component by component). Anything else
/// (missing, a symlink, a file) takes the walk, which creates what is missing
/// and names precisely what is wrong.
std::optional<UniqueFd> open_existing(const HomeLayout& layout, const std::string& relative) {
  auto home = kept_trusted_dir(layout.home());
  if (!home)
    return std::nullopt;
  auto fd = open_beneath(*home, relative, O_RDONLY | O_DIRECTORY, Symlinks::never, relative);
  if (!fd) {
    // A home removed (and maybe made again at the same path): the next call
    // opens it afresh.
    struct stat st {};
    if (::fstat(*home, &st) == 0 && st.st_nlink == 0)
      forget_trusted_dir(layout.home());
    return std::nullopt;
  }
  return std::move(*fd);
}

Result<UniqueFd> open_vm_dir(const HomeLayout& layout, std::string_view top,
                             std::string_view vm_id, Create create,
                             std::optional<Ownership> owner) {
  if (auto st = validate_vm_id(vm_id); !st)
    return std::move(st).error();
  if (create == Create::no)
    if (auto fd = open_existing(layout, std::string(top) + "/vms/" + std::string(vm_id)))
      return std::move(*fd);
  auto vms = open_vms_parent(layout, top, create);
  if (!vms)
    return std::move(vms).error();
  std::string shown =
      (layout.home() / std::string(top) / "vms" / std::string(vm_id)).string();
  auto dir = open_component(vms->get(), vm_id, vm_dir_mode, create, shown);
  if (!dir)
    return dir;
  if (create == Create::yes)
    if (auto st = set_owner_and_mode(dir->get(), owner, vm_dir_mode, shown);
        !st)
      return std::move(st).error();
  return dir;
}

} // namespace

Result<UniqueFd> open_vms_parent(const HomeLayout& layout, std::string_view top,
                                 Create create) {
  if (auto fd = open_existing(layout, std::string(top) + "/vms"))
    return std::move(*fd);
  auto home = open_trusted_dir(layout.home());
  if (!home)
    return std::move(home).error();
  std::string top_shown = (layout.home() / std::string(top)).string();
  auto top_fd =
      open_component(home->get(), top, parent_mode, create, top_shown);
  if (!top_fd)
    return std::move(top_fd).error();
  return open_component(top_fd->get(), "vms", parent_mode, create,
                        top_shown + "/vms");
}

Result<UniqueFd> open_vm_state_dir(const HomeLayout& layout,
                                   std::string_view vm_id, Create create,
                                   std::optional<Ownership> owner) {
  return open_vm_dir(layout, "state", vm_id, create, owner);
}

Result<UniqueFd> open_vm_run_dir(const HomeLayout& layout,
                                 std::string_view vm_id, Create create,
                                 std::optional<Ownership> owner) {
  return open_vm_dir(layout, "run", vm_id, create, owner);
}

Result<BeneathPath> open_image_file(const HomeLayout& layout,
                                    std::string_view image, int flags) {
  auto relative = relative_to_root(layout.images_dir(), image);
  if (!relative)
    return std::move(relative).error();
  auto home = kept_trusted_dir(layout.home());
  if (!home)
    return std::move(home).error();
  auto images = open_beneath(*home, "images", O_PATH | O_DIRECTORY,
                             Symlinks::never, layout.images_dir().string());
  if (!images)
    return std::move(images).error();
  auto file = open_beneath(images->get(), *relative, flags,
                           Symlinks::inside_root, image);
  if (!file)
    return std::move(file).error();
  struct stat st {};
  if (::fstat(file->get(), &st) != 0)
    return system_error("fstat", printable(image), errno);
  if (!S_ISREG(st.st_mode))
    return refused("image file " + printable(image) + " is not a regular file");
  auto canonical = fd_path(file->get());
  if (!canonical)
    return std::move(canonical).error();
  return BeneathPath{std::move(*file), std::move(*canonical)};
}

Result<std::filesystem::path> check_vm_rootfs(const HomeLayout& layout,
                                              std::string_view vm_id) {
  auto dir = open_vm_state_dir(layout, vm_id, Create::no);
  if (!dir)
    return std::move(dir).error();
  auto path = layout.vm_rootfs(vm_id);
  struct stat st {};
  if (::fstatat(dir->get(), "rootfs.img", &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT)
      return not_found("the rootfs " + path.string() + " does not exist");
    return system_error("fstatat", path.string(), errno);
  }
  if (!S_ISREG(st.st_mode))
    return refused("the rootfs " + path.string() + " is not a regular file");
  return path;
}

} // namespace banger::host
