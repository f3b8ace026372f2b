#include "actors/state_files.hpp"

#include "actors/image_import.hpp"

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <memory>
#include <unistd.h>
#include <xxhash.h>

namespace banger {

namespace fs = std::filesystem;

namespace {

constexpr const char* partial_suffix = ".partial";

struct StateFree {
  void operator()(XXH3_state_t* s) const { XXH3_freeState(s); }
};

Error file_error(const std::string& what, const std::string& path) {
  return Error{Errc::system, what + " " + path + ": " + std::strerror(errno)};
}

/// Feeds `path` to `hash` (fsyncing it first when `sync`); adds its size.
Status absorb(const std::string& path, XXH3_state_t* hash, std::uint64_t& size,
              bool sync) {
  Fd f(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!f)
    return file_error("cannot open", path);
  if (sync && ::fsync(f.get()) != 0)
    return file_error("cannot sync", path);
  // Sequential reads of 1 MiB: the page cache holds what the VMM just
  // wrote, so this runs at memory speed.
  std::unique_ptr<char[]> buf(new char[1 << 20]);
  for (;;) {
    auto n = ::read(f.get(), buf.get(), 1 << 20);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return file_error("cannot read", path);
    if (n == 0)
      break;
    XXH3_128bits_update(hash, buf.get(), static_cast<std::size_t>(n));
    size += static_cast<std::uint64_t>(n);
  }
  return {};
}

/// Size and checksum of the files of `saved`, in order.
Result<std::pair<std::uint64_t, std::string>> measure(const SavedState& saved,
                                                      bool sync) {
  std::unique_ptr<XXH3_state_t, StateFree> hash(XXH3_createState());
  if (!hash || XXH3_128bits_reset(hash.get()) != XXH_OK)
    return Error{Errc::internal, "cannot set up the checksum"};
  std::uint64_t size = 0;
  for (const auto* path : {&saved.state_path, &saved.memory_path}) {
    if (path->empty())
      continue;
    if (auto ok = absorb(*path, hash.get(), size, sync); !ok)
      return ok.error();
  }
  auto digest = XXH3_128bits_digest(hash.get());
  std::array<char, 33> hex{};
  std::snprintf(hex.data(), hex.size(), "%016llx%016llx",
                static_cast<unsigned long long>(digest.high64),
                static_cast<unsigned long long>(digest.low64));
  return std::make_pair(size, std::string(hex.data()));
}

Status sync_dir(const fs::path& dir) {
  Fd d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!d)
    return file_error("cannot open", dir.string());
  if (::fsync(d.get()) != 0)
    return file_error("cannot sync", dir.string());
  return {};
}

} // namespace

SavedState suspend_files(const fs::path& vm_dir, bool separate_memory) {
  SavedState s;
  s.state_path = (vm_dir / "suspend.state").string();
  if (separate_memory)
    s.memory_path = (vm_dir / "suspend.mem").string();
  return s;
}

SavedState partial_of(const SavedState& final) {
  SavedState p = final;
  p.state_path += partial_suffix;
  if (!p.memory_path.empty())
    p.memory_path += partial_suffix;
  p.size = 0;
  p.checksum.clear();
  return p;
}

Result<SavedState> seal_state(const SavedState& partial, SavedState final) {
  auto measured = measure(partial, true);
  if (!measured)
    return measured.error();
  // Memory first, state last: a state file under its final name means its
  // memory file is already there too.
  if (!partial.memory_path.empty() &&
      ::rename(partial.memory_path.c_str(), final.memory_path.c_str()) != 0)
    return file_error("cannot rename into place", partial.memory_path);
  if (::rename(partial.state_path.c_str(), final.state_path.c_str()) != 0)
    return file_error("cannot rename into place", partial.state_path);
  if (auto ok = sync_dir(fs::path(final.state_path).parent_path()); !ok)
    return ok.error();
  final.size = measured->first;
  final.checksum = measured->second;
  return final;
}

Status verify_state(const SavedState& saved) {
  auto measured = measure(saved, false);
  if (!measured)
    return Error{Errc::conflict,
                 "the saved state cannot be read: " + measured.error().message};
  if (measured->first != saved.size)
    return Error{
        Errc::conflict,
        "the saved state is damaged: " + std::to_string(measured->first) +
            " bytes, " + std::to_string(saved.size) + " recorded"};
  if (measured->second != saved.checksum)
    return Error{Errc::conflict,
                 "the saved state is damaged: its checksum is " +
                     measured->second + ", " + saved.checksum + " recorded"};
  return {};
}

void remove_state(const SavedState& saved) {
  for (const auto* path : {&saved.state_path, &saved.memory_path}) {
    if (path->empty())
      continue;
    std::error_code ec;
    fs::remove(*path, ec);
    fs::remove(*path + partial_suffix, ec);
  }
}

// -- snapshots --------------------------------------------------------------

namespace {

/// Copies `src` into the new file `dst` (mode `mode`), fsynced; the bytes
/// the copy occupies.
Result<std::uint64_t> copy_new(const fs::path& src, const fs::path& dst, mode_t mode) {
  Fd in(::open(src.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!in)
    return file_error("cannot open", src.string());
  struct stat st {};
  if (::fstat(in.get(), &st) != 0 || !S_ISREG(st.st_mode))
    return Error{Errc::conflict, src.string() + " is not a regular file"};
  Fd out(::open(dst.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode));
  if (!out)
    return file_error("cannot create", dst.string());
  auto copied = copy_file(in.get(), out.get(), static_cast<std::uint64_t>(st.st_size),
                          dst.string());
  if (!copied)
    return copied.error();
  struct stat done {};
  if (::fstat(out.get(), &done) != 0)
    return file_error("cannot stat", dst.string());
  return static_cast<std::uint64_t>(done.st_blocks) * 512;
}

} // namespace

fs::path snapshot_dir(const fs::path& vm_dir, const std::string& name) {
  return vm_dir / "snapshots" / name;
}

fs::path snapshot_partial_dir(const fs::path& vm_dir, const std::string& name) {
  return vm_dir / "snapshots" / ("." + name + partial_suffix);
}

SavedState snapshot_state_files(const fs::path& dir, bool separate_memory) {
  SavedState s;
  s.state_path = (dir / "state").string();
  if (separate_memory)
    s.memory_path = (dir / "memory").string();
  return s;
}

Status begin_snapshot(const fs::path& vm_dir, const std::string& name) {
  std::error_code ec;
  auto partial = snapshot_partial_dir(vm_dir, name);
  fs::remove_all(partial, ec);
  fs::create_directories(partial, ec);
  if (ec)
    return Error{Errc::system, "cannot create " + partial.string() + ": " + ec.message()};
  return {};
}

Result<std::uint64_t> copy_disk(const fs::path& rootfs, const fs::path& dir) {
  return copy_new(rootfs, dir / "disk.img", 0600);
}

Result<SavedState> measure_state(SavedState files) {
  auto measured = measure(files, true);
  if (!measured)
    return measured.error();
  files.size = measured->first;
  files.checksum = measured->second;
  return files;
}

Status commit_snapshot(const fs::path& vm_dir, const std::string& name) {
  auto partial = snapshot_partial_dir(vm_dir, name);
  auto final = snapshot_dir(vm_dir, name);
  if (auto ok = sync_dir(partial); !ok)
    return ok;
  if (::rename(partial.c_str(), final.c_str()) != 0)
    return file_error("cannot rename into place", partial.string());
  return sync_dir(final.parent_path());
}

Status remove_snapshot(const fs::path& vm_dir, const std::string& name) {
  std::error_code ec;
  fs::remove_all(snapshot_partial_dir(vm_dir, name), ec);
  fs::remove_all(snapshot_dir(vm_dir, name), ec);
  if (ec)
    return Error{Errc::system, "cannot remove snapshot " + name + ": " + ec.message()};
  return {};
}

std::vector<std::string> snapshot_folders(const fs::path& vm_dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::directory_iterator it(vm_dir / "snapshots", ec), end; !ec && it != end;
       it.increment(ec))
    out.push_back(it->path().filename().string());
  return out;
}

Result<SavedState> copy_state(const SavedState& from, SavedState final) {
  final.vmm = from.vmm;
  final.saved_at_us = from.saved_at_us;
  auto partial = partial_of(final);
  remove_state(final);
  auto copy = [](const std::string& src, const std::string& dst) -> Status {
    if (src.empty() != dst.empty())
      return Error{Errc::conflict, "the saved state " + (src.empty() ? dst : src)
                                     + " has no counterpart: it was written by another VMM kind"};
    if (src.empty())
      return {};
    auto copied = copy_new(src, dst, 0600);
    if (!copied)
      return copied.error();
    return {};
  };
  if (auto ok = copy(from.state_path, partial.state_path); !ok) {
    remove_state(final);
    return ok.error();
  }
  if (auto ok = copy(from.memory_path, partial.memory_path); !ok) {
    remove_state(final);
    return ok.error();
  }
  auto sealed = seal_state(partial, final);
  if (!sealed) {
    remove_state(final);
    return sealed.error();
  }
  if (sealed->size != from.size || (!from.checksum.empty() && sealed->checksum != from.checksum)) {
    remove_state(*sealed);
    return Error{Errc::conflict, "the copy of the saved state " + from.state_path
                                   + " does not match its record (size or checksum)"};
  }
  return sealed;
}

Status roll_back_disk(const fs::path& disk, const fs::path& rootfs) {
  struct stat st {};
  mode_t mode = 0600;
  if (::stat(rootfs.c_str(), &st) == 0)
    mode = st.st_mode & 07777;
  auto partial = fs::path(rootfs.string() + partial_suffix);
  std::error_code ec;
  fs::remove(partial, ec);
  auto copied = copy_new(disk, partial, mode);
  if (!copied) {
    fs::remove(partial, ec);
    return copied.error();
  }
  if (::rename(partial.c_str(), rootfs.c_str()) != 0) {
    auto error = file_error("cannot rename into place", partial.string());
    fs::remove(partial, ec);
    return error;
  }
  return sync_dir(rootfs.parent_path());
}

} // namespace banger
