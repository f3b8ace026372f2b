#include "privileged/host/paths.hpp"

#include "privileged/host/errors.hpp"
#include "privileged/host/validate.hpp"

#include <cerrno>
#include <dirent.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <map>
#include <mutex>
#include <vector>

namespace banger::host {

namespace {

// openat2 answers EAGAIN when a concurrent rename might have let `..` escape;
// retrying is the documented remedy. A bound keeps a hostile renamer from
// pinning the helper.
constexpr int openat2_attempts = 16;

// Deeper trees than this are not something banger creates.
constexpr int max_tree_depth = 32;

std::string lexical_root(const std::filesystem::path& root) {
  std::string text = root.lexically_normal().string();
  while (text.size() > 1 && text.back() == '/')
    text.pop_back();
  return text;
}

bool is_single_component(std::string_view name) {
  return !name.empty() && name != "." && name != ".." &&
         name.find('/') == std::string_view::npos &&
         name.find('\0') == std::string_view::npos;
}

std::string join(std::string_view dir, std::string_view name) {
  std::string out(dir);
  out += '/';
  out += name;
  return out;
}

Status remove_contents(int dir_fd, dev_t device, int depth,
                       const std::string& shown);

Status remove_entry(int dir_fd, const std::string& name, dev_t device,
                    int depth, const std::string& shown) {
  struct stat st {};
  if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT)
      return {};
    return system_error("fstatat", shown, errno);
  }
  if (!S_ISDIR(st.st_mode)) {
    if (::unlinkat(dir_fd, name.c_str(), 0) != 0 && errno != ENOENT)
      return system_error("unlinkat", shown, errno);
    return {};
  }
  if (st.st_dev != device)
    return conflict(shown + " is a mount point; not removing below it");
  UniqueFd child(::openat(dir_fd, name.c_str(),
                          O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!child) {
    // Replaced by a symlink or file since fstatat: remove that instead.
    if (errno == ELOOP || errno == ENOTDIR) {
      if (::unlinkat(dir_fd, name.c_str(), 0) != 0 && errno != ENOENT)
        return system_error("unlinkat", shown, errno);
      return {};
    }
    if (errno == ENOENT)
      return {};
    return system_error("openat", shown, errno);
  }
  if (auto st2 = remove_contents(child.get(), device, depth + 1, shown); !st2)
    return st2;
  if (::unlinkat(dir_fd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT)
    return system_error("unlinkat", shown, errno);
  return {};
}

Status remove_contents(int dir_fd, dev_t device, int depth,
                       const std::string& shown) {
  if (depth > max_tree_depth)
    return conflict(shown + " is nested deeper than " +
                    std::to_string(max_tree_depth) + " levels");
  int dup_fd = ::fcntl(dir_fd, F_DUPFD_CLOEXEC, 0);
  if (dup_fd < 0)
    return system_error("fcntl(F_DUPFD_CLOEXEC)", shown, errno);
  DIR* dir = ::fdopendir(dup_fd);
  if (dir == nullptr) {
    int err = errno;
    ::close(dup_fd);
    return system_error("fdopendir", shown, err);
  }
  // Names first, removal second: readdir over a directory being changed may
  // skip entries.
  std::vector<std::string> names;
  errno = 0;
  while (auto* entry = ::readdir(dir)) {
    std::string_view name = entry->d_name;
    if (name != "." && name != "..")
      names.emplace_back(name);
    errno = 0;
  }
  int err = errno;
  ::closedir(dir);
  if (err != 0)
    return system_error("readdir", shown, err);
  for (const auto& name : names)
    if (auto st = remove_entry(dir_fd, name, device, depth, join(shown, name));
        !st)
      return st;
  return {};
}

} // namespace

Result<std::string> relative_to_root(const std::filesystem::path& root,
                                     std::string_view path) {
  if (auto st = validate_text("path", path, 1, max_path_length); !st)
    return std::move(st).error();
  std::string_view rest = path;
  if (path.front() == '/') {
    std::string prefix = lexical_root(root);
    if (prefix.empty() || prefix.front() != '/')
      return invalid_argument("root " + printable(root.string()) +
                              " is not absolute");
    bool under = path.substr(0, prefix.size()) == prefix &&
                 (path.size() == prefix.size() || path[prefix.size()] == '/' ||
                  prefix == "/");
    if (!under)
      return refused("path " + printable(path) + " is outside " + prefix);
    rest = path.substr(prefix.size());
  }
  std::string relative;
  while (!rest.empty()) {
    auto slash = rest.find('/');
    std::string_view part = rest.substr(0, slash);
    rest = slash == std::string_view::npos ? std::string_view{}
                                           : rest.substr(slash + 1);
    if (part.empty() || part == ".")
      continue;
    if (part == "..")
      return refused("path " + printable(path) + " contains '..'");
    if (!relative.empty())
      relative += '/';
    relative += part;
  }
  return relative.empty() ? std::string(".") : relative;
}

Result<UniqueFd> open_trusted_dir(const std::filesystem::path& dir) {
  UniqueFd fd(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT)
      return not_found("directory " + dir.string() + " does not exist");
    return system_error("open", dir.string(), errno);
  }
  return fd;
}

namespace {
std::mutex kept_mutex;
// Never closed while a lender may use it: forget_trusted_dir moves the
// descriptor to `retired` instead, kept open for the process's life.
std::map<std::string, UniqueFd> kept;
std::vector<UniqueFd> retired;
} // namespace

void forget_trusted_dir(const std::filesystem::path& dir) {
  std::lock_guard guard{kept_mutex};
  auto it = kept.find(dir.lexically_normal().string());
  if (it == kept.end())
    return;
  retired.push_back(std::move(it->second));
  kept.erase(it);
}

Result<int> kept_trusted_dir(const std::filesystem::path& dir) {
  std::lock_guard guard{kept_mutex};
  auto key = dir.lexically_normal().string();
  if (auto it = kept.find(key); it != kept.end())
    return it->second.get();
  auto fd = open_trusted_dir(dir);
  if (!fd)
    return std::move(fd).error(); // not kept: a later call tries again
  return kept.emplace(key, std::move(*fd)).first->second.get();
}

Result<UniqueFd> open_beneath(int root_fd, const std::string& relative,
                              int flags, Symlinks symlinks,
                              std::string_view shown, mode_t mode) {
  open_how how{};
  how.flags = static_cast<std::uint64_t>(flags | O_CLOEXEC);
  // O_TMPFILE includes O_DIRECTORY's bit: test all of it.
  bool creates = (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE;
  how.mode = creates ? mode : 0;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  if (symlinks == Symlinks::never)
    how.resolve |= RESOLVE_NO_SYMLINKS;
  long fd = -1;
  for (int attempt = 0; attempt < openat2_attempts; ++attempt) {
    fd = ::syscall(SYS_openat2, root_fd, relative.c_str(), &how, sizeof how);
    if (fd >= 0 || (errno != EAGAIN && errno != EINTR))
      break;
  }
  if (fd >= 0)
    return UniqueFd(static_cast<int>(fd));
  std::string object = printable(shown);
  switch (errno) {
  case EXDEV:
    return refused("path " + object + " escapes its allowed directory");
  case ELOOP:
    return refused("path " + object +
                   (symlinks == Symlinks::never
                        ? " goes through a symlink"
                        : " goes through too many symlinks"));
  case ENOENT:
    return not_found("path " + object + " does not exist");
  case ENOSYS:
    return Error{Errc::system,
                 "openat2 " + object +
                     ": not supported by this kernel (Linux >= 5.6 needed)"};
  default:
    return system_error("openat2", object, errno);
  }
}

Result<BeneathPath> resolve_beneath(const std::filesystem::path& root,
                                    std::string_view path, int flags,
                                    Symlinks symlinks) {
  auto relative = relative_to_root(root, path);
  if (!relative)
    return std::move(relative).error();
  auto root_fd = open_trusted_dir(root);
  if (!root_fd)
    return std::move(root_fd).error();
  auto fd = open_beneath(root_fd->get(), *relative, flags, symlinks, path);
  if (!fd)
    return std::move(fd).error();
  auto canonical = fd_path(fd->get());
  if (!canonical)
    return std::move(canonical).error();
  // Defense in depth: RESOLVE_BENEATH already guarantees this.
  auto canonical_root = fd_path(root_fd->get());
  if (!canonical_root)
    return std::move(canonical_root).error();
  std::string prefix = canonical_root->string();
  std::string found = canonical->string();
  if (found != prefix &&
      found.rfind(prefix == "/" ? prefix : prefix + "/", 0) != 0)
    return refused("path " + printable(path) + " resolves outside " + prefix);
  return BeneathPath{std::move(*fd), std::move(*canonical)};
}

Result<MadeDirectory> make_directory_at(int dir_fd, std::string_view name,
                                        mode_t mode, std::string_view shown) {
  if (!is_single_component(name))
    return invalid_argument("directory name " + printable(name) +
                            " is not a single path component");
  std::string name_z(name);
  bool created = ::mkdirat(dir_fd, name_z.c_str(), mode) == 0;
  if (!created && errno != EEXIST)
    return system_error("mkdirat", shown, errno);
  auto fd = open_directory_at(dir_fd, name, shown);
  if (!fd)
    return std::move(fd).error();
  if (created && ::fchmod(fd->get(), mode) != 0)
    return system_error("fchmod", shown, errno);
  return MadeDirectory{std::move(*fd), created};
}

Result<UniqueFd> open_directory_at(int dir_fd, std::string_view name,
                                   std::string_view shown) {
  if (!is_single_component(name))
    return invalid_argument("directory name " + printable(name) +
                            " is not a single path component");
  std::string name_z(name);
  UniqueFd fd(::openat(dir_fd, name_z.c_str(),
                       O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (fd)
    return fd;
  int err = errno;
  if (err == ENOENT)
    return not_found(std::string(shown) + " does not exist");
  if (err == ELOOP || err == ENOTDIR) {
    struct stat st {};
    if (::fstatat(dir_fd, name_z.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
        S_ISLNK(st.st_mode))
      return refused(std::string(shown) +
                     " is a symlink; banger's directories are never reached "
                     "through one");
    return conflict(std::string(shown) + " exists and is not a directory");
  }
  return system_error("openat", shown, err);
}

Status set_owner_and_mode(int fd, std::optional<Ownership> owner, mode_t mode,
                          std::string_view shown) {
  if (owner && ::fchown(fd, owner->uid, owner->gid) != 0)
    return system_error("fchown", shown, errno);
  if (::fchmod(fd, mode) != 0)
    return system_error("fchmod", shown, errno);
  return {};
}

Status remove_tree_at(int dir_fd, std::string_view name,
                      std::string_view shown) {
  if (!is_single_component(name))
    return invalid_argument("name " + printable(name) +
                            " is not a single path component");
  std::string name_z(name);
  std::string shown_s(shown);
  struct stat parent {};
  if (::fstat(dir_fd, &parent) != 0)
    return system_error("fstat", shown, errno);
  struct stat st {};
  if (::fstatat(dir_fd, name_z.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT)
      return not_found(shown_s + " does not exist");
    return system_error("fstatat", shown, errno);
  }
  return remove_entry(dir_fd, name_z, parent.st_dev, 0, shown_s);
}

Result<std::filesystem::path> fd_path(int fd) {
  std::string link = "/proc/self/fd/" + std::to_string(fd);
  char buf[max_path_length + 32];
  ssize_t n = ::readlink(link.c_str(), buf, sizeof buf);
  if (n < 0)
    return system_error("readlink", link, errno);
  if (static_cast<std::size_t>(n) == sizeof buf)
    return Error{Errc::system, "readlink " + link + ": path too long"};
  return std::filesystem::path(std::string(buf, static_cast<std::size_t>(n)));
}

} // namespace banger::host
