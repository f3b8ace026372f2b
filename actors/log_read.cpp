#include "actors/log_read.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace banger {

std::string log_path_of(const VmRecord& vm) {
  if (!vm.runtime.log_path.empty())
    return vm.runtime.log_path;
  if (!vm.runtime.vm_dir.empty())
    return vm.runtime.vm_dir + "/vmm.log";
  return {};
}

Result<VmLogChunk> read_log_chunk(const std::string& path, std::uint64_t offset,
                                  std::uint32_t max_bytes) {
  if (max_bytes == 0 || max_bytes > max_log_chunk)
    max_bytes = max_log_chunk;
  // O_NONBLOCK: a FIFO put in the log's place must not hang the actor
  // before fstat refuses it.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0 && errno == ENOENT)
    return VmLogChunk{}; // the first start's VMM creates it
  if (fd < 0)
    return Error{Errc::system, "cannot read the VM's log " + path + ": " + std::strerror(errno)};
  struct stat st{};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Error{Errc::system, "the VM's log " + path + " is not a regular file"};
  }
  VmLogChunk chunk;
  chunk.exists = true;
  chunk.size = static_cast<std::uint64_t>(st.st_size);
  chunk.offset = offset > chunk.size ? 0 : offset; // truncated since: from its start
  auto want = std::min<std::uint64_t>(max_bytes, chunk.size - chunk.offset);
  chunk.data.resize(want);
  std::size_t got = 0;
  while (got < want) {
    auto n = ::pread(fd, chunk.data.data() + got, want - got, static_cast<off_t>(chunk.offset + got));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    got += static_cast<std::size_t>(n);
  }
  ::close(fd);
  chunk.data.resize(got);
  chunk.next_offset = chunk.offset + got;
  return chunk;
}

Status check_log_chunk(const VmLogChunk& chunk, const VmLogReadRequest& request) {
  auto limit = request.max_bytes == 0 ? max_log_chunk : request.max_bytes;
  auto wrong = [](std::string why) { return Error{Errc::internal, "answered a log read with " + why}; };
  if (chunk.data.size() > limit)
    return wrong(std::to_string(chunk.data.size()) + " bytes, more than the " + std::to_string(limit)
                 + " asked for");
  if (chunk.offset != request.offset && chunk.offset != 0)
    return wrong("data from offset " + std::to_string(chunk.offset) + " for a read from "
                 + std::to_string(request.offset));
  if (chunk.offset == 0 && request.offset > 0 && chunk.size >= request.offset)
    return wrong("data from offset 0 of a log that was not truncated");
  if (chunk.next_offset != chunk.offset + chunk.data.size() || chunk.next_offset > chunk.size)
    return wrong("offsets that do not add up");
  if (!chunk.exists && (!chunk.data.empty() || chunk.size != 0))
    return wrong("data from a log that does not exist");
  return {};
}

} // namespace banger
