// The daemon's edge checks: every request the control actor decodes from the
// wire passes one of these before any actor acts on it. They check what the
// type system cannot: enum fields in range (a client may send any byte),
// flags that only make sense with another, text bounded in length and free
// of control characters. Anything else is refused with invalid_argument, the
// message never echoing more of the input than excerpt() does.
// One overload per control request type, so a new type cannot be forwarded
// unchecked by accident (control_actor.cpp's forward() needs one).
#pragma once

#include "messages/cli_protocol.hpp"
#include "messages/result.hpp"

#include <cstddef>

namespace banger {

/// A VM or image reference (name, id or id prefix) is never longer.
inline constexpr std::size_t max_ref_length = 128;
/// Paths of image files (PATH_MAX without its NUL).
inline constexpr std::size_t max_path_length = 4095;
/// A kernel command line (x86 COMMAND_LINE_SIZE - 1).
inline constexpr std::size_t max_boot_args_length = 2047;
/// A signal name or number ("TERM", "SIGKILL", "9").
inline constexpr std::size_t max_signal_length = 16;

Status admissible(const DaemonStatusRequest& request);
Status admissible(const ImageAddRequest& request);
Status admissible(const ImageAddBeginRequest& request);
Status admissible(const ImageAddStatusRequest& request);
Status admissible(const ImageListRequest& request);
Status admissible(const ImageShowRequest& request);
Status admissible(const ImageRemoveRequest& request);
Status admissible(const VmCreateRequest& request);
Status admissible(const VmCreateBeginRequest& request);
Status admissible(const OpStatusRequest& request);
Status admissible(const VmListRequest& request);
Status admissible(const VmShowRequest& request);
Status admissible(const VmActionRequest& request);
Status admissible(const VmCloneRequest& request);
Status admissible(const VmLogReadRequest& request);
Status admissible(const DoctorRequest& request);
Status admissible(const VmExecRequest& request);
Status admissible(const VmSessionIoRequest& request);
Status admissible(const VmFileReadRequest& request);
Status admissible(const VmFileWriteRequest& request);
Status admissible(const ClusterStatusRequest& request);
Status admissible(const EventsRequest& request);

} // namespace banger
