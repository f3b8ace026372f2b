#include "actors/state_files.hpp"

#include <xxhash.h>

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

namespace banger {

namespace fs = std::filesystem;

namespace {

constexpr const char* partial_suffix = ".partial";

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0)
      ::close(fd);
  }
};

struct StateFree {
  void operator()(XXH3_state_t* s) const { XXH3_freeState(s); }
};

Error file_error(const std::string& what, const std::string& path) {
  return Error{Errc::system, what + " " + path + ": " + std::strerror(errno)};
}

/// Feeds `path` to `hash` (fsyncing it first when `sync`); adds its size.
Status absorb(const std::string& path, XXH3_state_t* hash, std::uint64_t& size, bool sync) {
  Fd f;
  f.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (f.fd < 0)
    return file_error("cannot open", path);
  if (sync && ::fsync(f.fd) != 0)
    return file_error("cannot sync", path);
  // Sequential reads of 1 MiB: the page cache holds what the VMM just
  // wrote, so this runs at memory speed.
  std::unique_ptr<char[]> buf(new char[1 << 20]);
  for (;;) {
    auto n = ::read(f.fd, buf.get(), 1 << 20);
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
Result<std::pair<std::uint64_t, std::string>> measure(const SavedState& saved, bool sync) {
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
  Fd d;
  d.fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (d.fd < 0)
    return file_error("cannot open", dir.string());
  if (::fsync(d.fd) != 0)
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
  if (!partial.memory_path.empty()
      && ::rename(partial.memory_path.c_str(), final.memory_path.c_str()) != 0)
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
    return Error{Errc::conflict, "the saved state cannot be read: " + measured.error().message};
  if (measured->first != saved.size)
    return Error{Errc::conflict, "the saved state is damaged: " + std::to_string(measured->first)
                                   + " bytes, " + std::to_string(saved.size) + " recorded"};
  if (measured->second != saved.checksum)
    return Error{Errc::conflict, "the saved state is damaged: its checksum is " + measured->second
                                   + ", " + saved.checksum + " recorded"};
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

} // namespace banger
