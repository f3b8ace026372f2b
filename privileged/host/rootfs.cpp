#include "privileged/host/rootfs.hpp"

#include "messages/disk_size.hpp"
#include "messages/settings_table.hpp"

#include "privileged/host/errors.hpp"
#include "privileged/host/validate.hpp"
#include "privileged/host/vm_dirs.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <dirent.h>
#include <linux/dm-ioctl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace banger::host {

namespace {

constexpr const char* rootfs_name = "rootfs.img";
constexpr std::string_view temp_prefix = ".rootfs.img.tmp-";
constexpr mode_t rootfs_mode = 0600;
constexpr std::size_t copy_chunk = std::size_t{1} << 30;

/// Errors meaning "this file system (pair) cannot clone", as opposed to a
/// failure worth reporting.
bool clone_unsupported(int err) {
  return err == EOPNOTSUPP || err == EXDEV || err == EINVAL || err == ENOTTY ||
         err == ENOSYS;
}

/// Same for copy_file_range: fall back to read/write.
bool copy_range_unsupported(int err) {
  return err == EXDEV || err == EINVAL || err == ENOSYS || err == EOPNOTSUPP;
}

std::string random_hex(std::size_t bytes) {
  std::vector<unsigned char> raw(bytes);
  std::size_t filled = 0;
  while (filled < bytes) {
    ssize_t n = ::getrandom(raw.data() + filled, bytes - filled, 0);
    if (n > 0)
      filled += static_cast<std::size_t>(n);
  }
  std::string out;
  char buf[3];
  for (auto b : raw) {
    std::snprintf(buf, sizeof buf, "%02x", b);
    out += buf;
  }
  return out;
}

/// An anonymous file in `dir_fd` (O_TMPFILE, or a name unlinked at once).
UniqueFd anonymous_file(int dir_fd) {
  UniqueFd fd(::openat(dir_fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
  if (fd)
    return fd;
  std::string name = ".banger-probe-" + random_hex(8);
  fd.reset(::openat(dir_fd, name.c_str(),
                    O_CREAT | O_EXCL | O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (fd)
    ::unlinkat(dir_fd, name.c_str(), 0);
  return fd;
}

StrategySupport detect_reflink(int dir_fd, const std::string& shown) {
  UniqueFd source = anonymous_file(dir_fd);
  if (!source)
    return {false, "cannot create a probe file in " + shown + ": " +
                       std::strerror(errno)};
  UniqueFd clone = anonymous_file(dir_fd);
  if (!clone)
    return {false, "cannot create a probe file in " + shown + ": " +
                       std::strerror(errno)};
  std::vector<char> block(4096, 'b');
  if (::write(source.get(), block.data(), block.size()) !=
      static_cast<ssize_t>(block.size()))
    return {false, "cannot write a probe file in " + shown + ": " +
                       std::strerror(errno)};
  if (::ioctl(clone.get(), FICLONE, source.get()) != 0)
    return {false, "ioctl(FICLONE) in " + shown + ": " + std::strerror(errno)};
  return {true, "ioctl(FICLONE) works in " + shown};
}

// FIXME: dm-snapshot (a loop device over the image as origin plus a snapshot
// target over a per-VM COW file) is not implemented: this development machine
// has no device-mapper to test it against. Detection reports it unsupported
// even where device-mapper exists, so `auto` never picks it and an explicit
// request fails clearly.
StrategySupport detect_dm_snapshot() {
  const char* control = "/dev/mapper/control";
  UniqueFd fd(::open(control, O_RDWR | O_CLOEXEC));
  if (!fd)
    return {false, std::string(control) + ": " + std::strerror(errno)};
  dm_ioctl request{};
  request.version[0] = DM_VERSION_MAJOR;
  request.data_size = sizeof request;
  if (::ioctl(fd.get(), DM_VERSION, &request) != 0)
    return {false, std::string("ioctl(DM_VERSION) on ") + control + ": " +
                       std::strerror(errno)};
  return {false, "device-mapper " + std::to_string(request.version[0]) + "." +
                     std::to_string(request.version[1]) +
                     " is available, but banger-helper does not implement "
                     "dm-snapshot yet"};
}

/// Copies [start, end) of `src` into the same range of `dst`.
Status copy_range(int src, int dst, off_t start, off_t end,
                  const std::string& shown) {
  off_t in = start;
  off_t out = start;
  bool kernel_copy = true;
  std::vector<char> buffer;
  while (in < end) {
    auto want = static_cast<std::size_t>(
        std::min<off_t>(end - in, static_cast<off_t>(copy_chunk)));
    if (kernel_copy) {
      ssize_t n = ::copy_file_range(src, &in, dst, &out, want, 0);
      if (n > 0)
        continue;
      if (n == 0)
        return conflict("image for " + shown + " shrank during the copy");
      if (errno == EINTR)
        continue;
      if (!copy_range_unsupported(errno))
        return system_error("copy_file_range", shown, errno);
      kernel_copy = false;
      buffer.resize(std::size_t{1} << 20);
    }
    want = std::min(want, buffer.size());
    ssize_t n = ::pread(src, buffer.data(), want, in);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return system_error("pread", shown, errno);
    if (n == 0)
      return conflict("image for " + shown + " shrank during the copy");
    for (ssize_t done = 0; done < n;) {
      ssize_t w = ::pwrite(dst, buffer.data() + done,
                           static_cast<std::size_t>(n - done), out + done);
      if (w < 0 && errno == EINTR)
        continue;
      if (w < 0)
        return system_error("pwrite", shown, errno);
      done += w;
    }
    in += n;
    out += n;
  }
  return {};
}

/// Copies the data extents of `src` only, so holes stay holes in `dst`.
Status sparse_copy(int src, int dst, off_t size, const std::string& shown) {
  if (::ftruncate(dst, size) != 0)
    return system_error("ftruncate", shown, errno);
  off_t offset = 0;
  while (offset < size) {
    off_t data = ::lseek(src, offset, SEEK_DATA);
    if (data < 0 && errno == ENXIO)
      break; // only a hole is left
    if (data < 0 && (errno == EINVAL || errno == EOPNOTSUPP))
      return copy_range(src, dst, offset, size, shown); // no hole support
    if (data < 0)
      return system_error("lseek(SEEK_DATA)", shown, errno);
    if (data >= size)
      break;
    off_t hole = ::lseek(src, data, SEEK_HOLE);
    if (hole < 0)
      return system_error("lseek(SEEK_HOLE)", shown, errno);
    hole = std::min(hole, size);
    if (auto st = copy_range(src, dst, data, hole, shown); !st)
      return st;
    offset = hole;
  }
  return {};
}

/// Unlinks `.rootfs.img.tmp-*` left by a crash in the VM directory.
void remove_stale_temps(int vm_fd) {
  int dup_fd = ::fcntl(vm_fd, F_DUPFD_CLOEXEC, 0);
  if (dup_fd < 0)
    return;
  DIR* dir = ::fdopendir(dup_fd);
  if (dir == nullptr) {
    ::close(dup_fd);
    return;
  }
  std::vector<std::string> stale;
  while (auto* entry = ::readdir(dir)) {
    std::string_view name = entry->d_name;
    if (name.substr(0, temp_prefix.size()) == temp_prefix)
      stale.emplace_back(name);
  }
  ::closedir(dir);
  for (const auto& name : stale)
    ::unlinkat(vm_fd, name.c_str(), 0);
}

/// A disk size of 0 (the image's) or within bounds and not below the image.
Status check_grow(std::uint64_t size_bytes, off_t image_size, std::string_view image) {
  if (size_bytes == 0)
    return {};
  if (auto st = check_disk_size(size_bytes); !st)
    return st;
  if (size_bytes < static_cast<std::uint64_t>(image_size))
    return invalid_argument("disk size " + format_disk_size(size_bytes) + " is smaller than "
                            "the image's rootfs " + printable(image) + " ("
                            + format_disk_size(static_cast<std::uint64_t>(image_size))
                            + "): a disk can only be grown");
  return {};
}

/// Unlinks the temporary copy unless the rename made it the rootfs.
class TempFileGuard {
public:
  TempFileGuard(int dir_fd, std::string name)
      : dir_fd_(dir_fd), name_(std::move(name)) {}
  ~TempFileGuard() {
    if (!committed_)
      ::unlinkat(dir_fd_, name_.c_str(), 0);
  }
  TempFileGuard(const TempFileGuard&) = delete;
  TempFileGuard& operator=(const TempFileGuard&) = delete;
  void commit() { committed_ = true; }

private:
  int dir_fd_;
  std::string name_;
  bool committed_ = false;
};

} // namespace

// The names are rootfs.strategy's choices in the settings table, in the
// enum's order: what banger.conf accepts is what the helper knows.
static_assert(choices::rootfs_strategy.size() ==
              static_cast<std::size_t>(RootfsStrategy::sparse_copy) + 1);

std::string_view to_string(RootfsStrategy strategy) {
  auto index = static_cast<std::size_t>(strategy);
  return index < choices::rootfs_strategy.size() ? choices::rootfs_strategy[index] : "unknown";
}

Result<RootfsStrategy> parse_rootfs_strategy(std::string_view text) {
  std::string names;
  for (std::size_t i = 0; i < choices::rootfs_strategy.size(); ++i) {
    if (choices::rootfs_strategy[i] == text)
      return static_cast<RootfsStrategy>(i);
    names += (i ? ", " : "") + std::string(choices::rootfs_strategy[i]);
  }
  return invalid_argument("rootfs strategy " + printable(text) + " is not one of " + names);
}

Result<RootfsSupport> detect_rootfs_support(const std::filesystem::path& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd)
    return system_error("open", dir.string(), errno);
  RootfsSupport support;
  support.reflink = detect_reflink(fd.get(), dir.string());
  support.dm_snapshot = detect_dm_snapshot();
  support.sparse_copy = {true, "SEEK_DATA/SEEK_HOLE + copy_file_range"};
  return support;
}

Result<PreparedRootfs> prepare_rootfs(const HomeLayout& layout,
                                      std::string_view vm_id,
                                      std::string_view image,
                                      RootfsStrategy strategy,
                                      std::optional<Ownership> owner,
                                      std::uint64_t size_bytes) {
  if (auto st = validate_vm_id(vm_id); !st)
    return std::move(st).error();
  if (auto st = relative_to_root(layout.images_dir(), image); !st)
    return std::move(st).error();
  if (strategy == RootfsStrategy::dm_snapshot)
    return invalid_argument("rootfs strategy dm-snapshot is not supported "
                            "here: " +
                            detect_dm_snapshot().detail);

  // O_NONBLOCK: a FIFO planted under images/ must not hang the helper.
  auto image_file = open_image_file(layout, image, O_RDONLY | O_NONBLOCK);
  if (!image_file)
    return std::move(image_file).error();
  const UniqueFd* source = &image_file->fd;
  struct stat source_stat {};
  if (::fstat(source->get(), &source_stat) != 0)
    return system_error("fstat", printable(image), errno);
  if (auto st = check_grow(size_bytes, source_stat.st_size, image); !st)
    return std::move(st).error();

  auto vm_dir = open_vm_state_dir(layout, vm_id, Create::yes, owner);
  if (!vm_dir)
    return std::move(vm_dir).error();
  std::string target = layout.vm_rootfs(vm_id).string();
  struct stat existing {};
  if (::fstatat(vm_dir->get(), rootfs_name, &existing, AT_SYMLINK_NOFOLLOW) ==
      0)
    return Error{Errc::already_exists, target + " already exists"};
  remove_stale_temps(vm_dir->get());

  std::string temp_name = std::string(temp_prefix) + random_hex(8);
  UniqueFd temp(::openat(vm_dir->get(), temp_name.c_str(),
                         O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                         rootfs_mode));
  if (!temp)
    return system_error("openat", target + " (temporary copy)", errno);
  TempFileGuard guard(vm_dir->get(), temp_name);

  RootfsStrategy used = RootfsStrategy::sparse_copy;
  if (strategy == RootfsStrategy::reflink ||
      strategy == RootfsStrategy::automatic) {
    if (::ioctl(temp.get(), FICLONE, source->get()) == 0) {
      used = RootfsStrategy::reflink;
    } else if (!clone_unsupported(errno)) {
      return system_error("ioctl(FICLONE)", target, errno);
    } else if (strategy == RootfsStrategy::reflink) {
      return invalid_argument("rootfs strategy reflink is not supported "
                              "here: ioctl(FICLONE) " +
                              target + ": " + std::strerror(errno));
    }
  }
  if (used == RootfsStrategy::sparse_copy)
    if (auto st =
            sparse_copy(source->get(), temp.get(), source_stat.st_size, target);
        !st)
      return std::move(st).error();

  // A hole at the end: the disk is larger, the host's disk use is not.
  if (size_bytes > static_cast<std::uint64_t>(source_stat.st_size)
      && ::ftruncate(temp.get(), static_cast<off_t>(size_bytes)) != 0)
    return system_error("ftruncate", target, errno);
  if (auto st = set_owner_and_mode(temp.get(), owner, rootfs_mode, target); !st)
    return std::move(st).error();
  if (::fdatasync(temp.get()) != 0)
    return system_error("fdatasync", target, errno);
  if (::renameat2(vm_dir->get(), temp_name.c_str(), vm_dir->get(), rootfs_name,
                  RENAME_NOREPLACE) != 0) {
    if (errno == EEXIST)
      return Error{Errc::already_exists, target + " already exists"};
    return system_error("renameat2", target, errno);
  }
  guard.commit();
  if (::fsync(vm_dir->get()) != 0)
    return system_error("fsync", layout.vm_dir(vm_id).string(), errno);
  return PreparedRootfs{layout.vm_rootfs(vm_id), used,
                        std::max(size_bytes, static_cast<std::uint64_t>(source_stat.st_size))};
}

Status release_rootfs(const HomeLayout& layout, std::string_view vm_id) {
  if (auto st = validate_vm_id(vm_id); !st)
    return st;
  auto vm_dir = open_vm_state_dir(layout, vm_id, Create::no);
  if (!vm_dir)
    return std::move(vm_dir).error();
  remove_stale_temps(vm_dir->get());
  std::string target = layout.vm_rootfs(vm_id).string();
  struct stat st {};
  if (::fstatat(vm_dir->get(), rootfs_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT)
      return not_found(target + " does not exist");
    return system_error("fstatat", target, errno);
  }
  if (S_ISDIR(st.st_mode))
    return conflict(target + " is a directory");
  // A symlink in its place is unlinked as a link: unlinkat never follows.
  if (::unlinkat(vm_dir->get(), rootfs_name, 0) != 0) {
    if (errno == ENOENT)
      return not_found(target + " does not exist");
    return system_error("unlinkat", target, errno);
  }
  return {};
}

Status remove_vm_state_dir(const HomeLayout& layout, std::string_view vm_id) {
  if (auto st = validate_vm_id(vm_id); !st)
    return st;
  auto vms = open_vms_parent(layout, "state", Create::no);
  if (!vms)
    return std::move(vms).error();
  return remove_tree_at(vms->get(), vm_id, layout.vm_dir(vm_id).string());
}

} // namespace banger::host
