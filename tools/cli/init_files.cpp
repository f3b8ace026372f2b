// `banger init`'s file primitives: directories with exact modes, atomic
// writes whose mode is right before the first byte, and the checks a kept
// file passes. No symlink is ever followed.
#include "tools/cli/init_steps.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <vector>

namespace banger::init {

Result<std::string> random_hex(std::size_t bytes) {
  std::vector<unsigned char> raw(bytes);
  if (RAND_bytes(raw.data(), static_cast<int>(raw.size())) != 1)
    return Error{Errc::internal, "RAND_bytes failed: no entropy source"};
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (auto b : raw) {
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 15]);
  }
  OPENSSL_cleanse(raw.data(), raw.size());
  return out;
}

std::string octal(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof(buf), "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

// Directories: created with their mode; an existing one must be a real
// directory owned by this user, and loses any permission bit beyond `mode`.
Status ensure_dir(Context& ctx, const fs::path& path, mode_t mode) {
  struct stat st{};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno != ENOENT)
      return system_error("lstat", path.string(), errno);
    if (::mkdir(path.c_str(), mode) != 0)
      return system_error("mkdir", path.string(), errno);
    if (::chmod(path.c_str(), mode) != 0) // mkdir's mode went through the umask
      return system_error("chmod", path.string(), errno);
    ctx.record(path, InitAction::created, "mode " + octal(mode));
    return {};
  }
  if (!S_ISDIR(st.st_mode))
    return invalid(path.string() + " exists and is not a directory (symlinks are refused)");
  if (st.st_uid != ::geteuid())
    return invalid(path.string() + " is owned by uid " + std::to_string(st.st_uid) +
                   ", not by this user (uid " + std::to_string(::geteuid()) +
                   "); run banger init as the user bangerd runs as");
  auto current = st.st_mode & 07777;
  if ((current & ~mode) != 0) {
    if (::chmod(path.c_str(), current & mode) != 0)
      return system_error("chmod", path.string(), errno);
    ctx.record(path, InitAction::kept,
               "mode narrowed " + octal(current) + " -> " + octal(current & mode));
  } else {
    ctx.record(path, InitAction::kept, "mode " + octal(current));
  }
  return {};
}

bool exists_no_follow(const fs::path& path) {
  struct stat st{};
  return ::lstat(path.c_str(), &st) == 0;
}

namespace {

Status write_all(int fd, const void* data, std::size_t size, const fs::path& path) {
  auto* p = static_cast<const char*>(data);
  while (size > 0) {
    auto n = ::write(fd, p, size);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return system_error("write", path.string(), errno);
    p += n;
    size -= static_cast<std::size_t>(n);
  }
  return {};
}

} // namespace

// Writes `path` atomically: a fresh temporary file in the same directory gets
// its owner group and final mode *before* any byte is written (so a secret
// never sits in a file with a wider mode), is filled and fsynced, then renamed
// over `path`; the directory is fsynced so the rename survives a crash.
Status write_atomic(const fs::path& path, mode_t mode, gid_t group,
                    const std::function<Status(int fd)>& fill) {
  auto suffix = random_hex(6);
  if (!suffix)
    return std::move(suffix).error();
  auto tmp = path.parent_path() / ("." + path.filename().string() + ".tmp-" + *suffix);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                  mode & 0700);
  if (fd < 0)
    return system_error("open", tmp.string(), errno);
  auto fail = [&](Error error) -> Status {
    ::close(fd);
    ::unlink(tmp.c_str());
    return error;
  };
  if (group != no_group && ::fchown(fd, static_cast<uid_t>(-1), group) != 0)
    return fail(system_error("fchown", tmp.string() + " (group " + std::to_string(group) +
                                         "; init must run as a member of that group or root)",
                             errno));
  if (::fchmod(fd, mode) != 0)
    return fail(system_error("fchmod", tmp.string(), errno));
  if (auto st = fill(fd); !st)
    return fail(std::move(st).error());
  if (::fsync(fd) != 0)
    return fail(system_error("fsync", tmp.string(), errno));
  if (::close(fd) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return system_error("close", tmp.string(), err);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return system_error("rename", path.string(), err);
  }
  int dir = ::open(path.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0)
    return system_error("open", path.parent_path().string(), errno);
  int rc = ::fsync(dir);
  int err = errno;
  ::close(dir);
  if (rc != 0)
    return system_error("fsync", path.parent_path().string(), err);
  return {};
}

Status write_atomic(const fs::path& path, mode_t mode, gid_t group, const void* data,
                    std::size_t size) {
  return write_atomic(path, mode, group,
                      [&](int fd) { return write_all(fd, data, size, path); });
}

// A file init keeps: it must be a regular file owned by this user. Bits beyond
// `narrow_to` are removed (content untouched); when `group` is given the file
// gets that group and exactly `group_mode`.
Status keep_file(Context& ctx, const fs::path& path, mode_t narrow_to, gid_t group,
                 mode_t group_mode) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return system_error("open", path.string() + " (symlinks are refused)", errno);
  struct stat st{};
  auto done = [&](Status st) {
    ::close(fd);
    return st;
  };
  if (::fstat(fd, &st) != 0)
    return done(system_error("fstat", path.string(), errno));
  if (!S_ISREG(st.st_mode))
    return done(invalid(path.string() + " is not a regular file"));
  if (st.st_uid != ::geteuid())
    return done(invalid(path.string() + " is owned by uid " + std::to_string(st.st_uid) +
                        ", not by this user; run banger init as the user bangerd runs as"));
  mode_t current = st.st_mode & 07777;
  std::string note = "mode " + octal(current);
  if (group != no_group) {
    if (st.st_gid != group && ::fchown(fd, static_cast<uid_t>(-1), group) != 0)
      return done(system_error("fchown", path.string(), errno));
    if (current != group_mode && ::fchmod(fd, group_mode) != 0)
      return done(system_error("fchmod", path.string(), errno));
    if (st.st_gid != group || current != group_mode)
      note = "mode " + octal(current) + " -> " + octal(group_mode) + ", group " +
             ctx.client_group_name;
  } else if ((current & ~narrow_to) != 0) {
    if (::fchmod(fd, current & narrow_to) != 0)
      return done(system_error("fchmod", path.string(), errno));
    note = "mode narrowed " + octal(current) + " -> " + octal(current & narrow_to);
  }
  ctx.record(path, InitAction::kept, note);
  return done({});
}

Result<std::string> read_small_file(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return system_error("open", path.string(), errno);
  std::string out;
  char chunk[4096];
  for (;;) {
    auto n = ::read(fd, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return system_error("read", path.string(), err);
    }
    if (n == 0)
      break;
    out.append(chunk, static_cast<std::size_t>(n));
    if (out.size() > (1 << 20)) {
      ::close(fd);
      return invalid(path.string() + " is unexpectedly large");
    }
  }
  OPENSSL_cleanse(chunk, sizeof(chunk));
  ::close(fd);
  return out;
}

InitAction fresh(const Context& ctx, const fs::path& path) {
  return ctx.force && exists_no_follow(path) ? InitAction::replaced : InitAction::created;
}

Status fsync_path(const fs::path& path, bool directory) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | (directory ? O_DIRECTORY : 0));
  if (fd < 0)
    return system_error("open", path.string(), errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  return rc == 0 ? Status{} : system_error("fsync", path.string(), err);
}

} // namespace banger::init
