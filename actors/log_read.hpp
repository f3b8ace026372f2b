// `vm logs` through the daemon: a bounded read of a VM's VMM log, answered
// by the VM's own host. The path comes from the VM's record (its
// runtime.log_path, else <vm dir>/vmm.log), never from the request, and
// one read returns at most max_log_chunk bytes: a follower polls with each
// chunk's next_offset. The read itself is one open, fstat and pread of a
// local file of the daemon's own, on the calling actor's thread.
#pragma once

#include "actors/route.hpp"
#include "messages/error.hpp"
#include "messages/result.hpp"

#include <string>

namespace banger {

/// The VMM log of `vm` on its own host, from its record; empty when the
/// record names neither a log nor a VM directory.
std::string log_path_of(const VmRecord& vm);

/// Up to `max_bytes` (0: max_log_chunk) of the regular file `path` from
/// `offset`, or from 0 when the file is shorter than `offset` now (it was
/// truncated). A missing file is a chunk with exists = false; a symlink or
/// anything but a regular file is refused.
Result<VmLogChunk> read_log_chunk(const std::string& path, std::uint64_t offset,
                                  std::uint32_t max_bytes);

/// Whether `chunk` can be the answer to `request`: no more data than asked
/// for, starting at the offset asked for (or 0 after a truncation), with a
/// next_offset that follows from both. What a peer answers is checked with
/// it before it goes on: a hostile host cannot make a CLI print, or a
/// follower skip to, more than it asked for. The error (internal) says
/// what was wrong, to be prefixed with who answered.
Status check_log_chunk(const VmLogChunk& chunk, const VmLogReadRequest& request);

/// Resolves request.ref at this host's directory, then reads that VM's log;
/// the chunk or the error goes to `promise`.
template <class Self>
void read_vm_log(Self self, const directory_actor& directory, const VmLogReadRequest& request,
                 caf::typed_response_promise<VmLogChunk> promise) {
  auto env = request.env;
  auto offset = request.offset;
  auto max_bytes = request.max_bytes;
  ask_vm<VmRecord>(
    self, directory, VmShowRequest{env, request.ref},
    [promise, env, offset, max_bytes](VmRecord& vm) mutable {
      auto path = log_path_of(vm);
      if (path.empty()) {
        promise.deliver(VmLogChunk{});
        return;
      }
      auto chunk = read_log_chunk(path, offset, max_bytes);
      if (!chunk) {
        promise.deliver(to_caf_error(chunk.error(), env.op_id));
        return;
      }
      promise.deliver(std::move(*chunk));
    },
    [promise](caf::error& err) mutable { promise.deliver(std::move(err)); });
}

} // namespace banger
