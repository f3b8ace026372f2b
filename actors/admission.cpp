#include "actors/admission.hpp"
#include "actors/directory_actor.hpp"
#include "messages/excerpt.hpp"

#include "messages/cluster_hosts.hpp"

#include "messages/disk_size.hpp"
#include "messages/op_id.hpp"
#include "messages/published_ports.hpp"
#include "messages/vm_limits.hpp"

#include <cstdio>
#include <string_view>

namespace banger {

namespace {

Error refuse(std::string message) {
  return Error{Errc::invalid_argument, std::move(message)};
}

/// At most `max` bytes and no control character (< 0x20, 0x7f); says where
/// the first bad byte is instead of repeating the text.
Status text(std::string_view field, std::string_view value, std::size_t max) {
  if (value.size() > max)
    return refuse(std::string(field) + " is too long (" + std::to_string(value.size())
                  + " bytes, at most " + std::to_string(max) + ")");
  for (std::size_t i = 0; i < value.size(); ++i) {
    auto c = static_cast<unsigned char>(value[i]);
    if (c < 0x20 || c == 0x7f) {
      char code[5];
      std::snprintf(code, sizeof code, "0x%02x", c);
      return refuse(std::string(field) + " contains a control character (" + code
                    + " at byte " + std::to_string(i) + ")");
    }
  }
  return {};
}

Status spec(const VmSpec& spec) {
  if (auto ok = text("VM name", spec.name, max_ref_length); !ok)
    return ok;
  if (auto ok = text("image reference", spec.image, max_ref_length); !ok)
    return ok;
  if ((spec.wait || spec.no_wait) && !spec.start)
    return refuse("wait needs start: only a VM being started can be waited for");
  if (spec.wait && spec.no_wait)
    return refuse("wait and no_wait contradict each other");
  if (!spec.host.empty() && !is_valid_host_id(spec.host))
    return refuse("host id is not 1-32 of [a-z0-9-] starting with a letter or digit");
  if (auto ok = check_port_mappings(spec.ports); !ok)
    return ok;
  if (spec.disk_bytes != 0)
    return check_disk_size(spec.disk_bytes);
  return {};
}

bool known(VmAction action) {
  switch (action) {
    case VmAction::start:
    case VmAction::stop:
    case VmAction::kill:
    case VmAction::restart:
    case VmAction::remove:
    case VmAction::pause:
    case VmAction::resume:
    case VmAction::suspend:
    case VmAction::snapshot:
    case VmAction::restore:
    case VmAction::snapshot_remove:
      return true;
  }
  return false;
}

bool names_snapshot(VmAction action) {
  return action == VmAction::snapshot || action == VmAction::restore
         || action == VmAction::snapshot_remove;
}

} // namespace

Status admissible(const DaemonStatusRequest&) {
  return {};
}

Status admissible(const ImageAddRequest& request) {
  if (auto ok = text("image name", request.name, max_ref_length); !ok)
    return ok;
  if (auto ok = text("kernel path", request.kernel_path, max_path_length); !ok)
    return ok;
  if (auto ok = text("rootfs path", request.rootfs_path, max_path_length); !ok)
    return ok;
  if (auto ok = text("initrd path", request.initrd_path, max_path_length); !ok)
    return ok;
  // A newline or NUL in a kernel command line ends or splits it at the VMM.
  return text("boot args", request.boot_args, max_boot_args_length);
}

Status admissible(const ImageAddBeginRequest& request) {
  return admissible(ImageAddRequest{request.env, request.name, request.kernel_path,
                                    request.rootfs_path, request.initrd_path, request.boot_args});
}

Status admissible(const ImageAddStatusRequest& request) {
  return text("op id", request.op_id, max_ref_length);
}

Status admissible(const ImageListRequest&) {
  return {};
}

Status admissible(const ImageShowRequest& request) {
  return text("image reference", request.ref, max_ref_length);
}

Status admissible(const ImageRemoveRequest& request) {
  return text("image reference", request.ref, max_ref_length);
}

Status admissible(const VmCreateRequest& request) {
  return spec(request.spec);
}

Status admissible(const VmCreateBeginRequest& request) {
  return spec(request.spec);
}

Status admissible(const OpStatusRequest& request) {
  if (!is_valid_op_id(request.op_id))
    return refuse("not an op id (want op- and 12 lowercase hex digits)");
  return {};
}

Status admissible(const VmListRequest&) {
  return {};
}

Status admissible(const VmShowRequest& request) {
  return text("VM reference", request.ref, max_ref_length);
}

Status admissible(const VmActionRequest& request) {
  if (!known(request.action))
    return refuse("unknown VM action " + std::to_string(static_cast<unsigned>(request.action))
                  + " (want start, stop, kill, restart, remove, pause, resume, suspend,"
                  + " snapshot, restore or snapshot_remove)");
  if (auto ok = text("VM reference", request.ref, max_ref_length); !ok)
    return ok;
  if (auto ok = text("signal", request.signal, max_signal_length); !ok)
    return ok;
  if (!request.signal.empty() && request.action != VmAction::kill)
    return refuse("a signal is for kill only");
  if (!request.signal.empty())
    if (auto ok = check_signal(request.signal); !ok)
      return ok;
  if ((request.wait || request.no_wait) && request.action != VmAction::start
      && request.action != VmAction::restart && request.action != VmAction::restore)
    return refuse("wait is for start, restart and restore only");
  if (request.wait && request.no_wait)
    return refuse("wait and no_wait contradict each other");
  if (request.cold && request.action != VmAction::start)
    return refuse("cold is for start only");
  if (names_snapshot(request.action)) {
    if (!is_valid_name(request.snapshot))
      return refuse("snapshot name " + excerpt(request.snapshot)
                    + " is not 1-63 of [a-z0-9-] starting with a letter or digit");
  } else if (!request.snapshot.empty()) {
    return refuse("a snapshot name is for snapshot, restore and snapshot_remove only");
  }
  return {};
}

Status admissible(const VmCloneRequest& request) {
  if (auto ok = text("VM reference", request.source, max_ref_length); !ok)
    return ok;
  if (request.source.empty())
    return refuse("vm clone needs the VM to clone");
  if (!request.snapshot.empty() && !is_valid_name(request.snapshot))
    return refuse("snapshot name " + excerpt(request.snapshot)
                  + " is not 1-63 of [a-z0-9-] starting with a letter or digit");
  if (!request.name.empty() && !is_valid_name(request.name))
    return refuse("invalid VM name " + excerpt(request.name) + ": use [a-z0-9][a-z0-9-]{0,62}");
  return {};
}

Status admissible(const VmLogReadRequest& request) {
  if (request.max_bytes > max_log_chunk)
    return refuse("a log read asks for at most " + std::to_string(max_log_chunk) + " bytes, not "
                  + std::to_string(request.max_bytes));
  return text("VM reference", request.ref, max_ref_length);
}

// The agent link checks each field again against the wire's limits
// (actors/agent_link.cpp); here only what bounds the request's size.
Status admissible(const VmExecRequest& request) {
  if (request.argv.empty())
    return refuse("vm exec needs a command");
  if (request.argv.size() > 256 || request.environment.size() > 256)
    return refuse("vm exec takes at most 256 arguments and 256 environment variables");
  for (const auto& a : request.argv)
    if (a.size() > 4096)
      return refuse("a vm exec argument is longer than 4096 bytes");
  for (const auto& e : request.environment)
    if (e.size() > 4096)
      return refuse("a vm exec environment entry is longer than 4096 bytes");
  if (request.cwd.size() > 4096)
    return refuse("the working directory is longer than 4096 bytes");
  return text("VM reference", request.ref, max_ref_length);
}

Status admissible(const VmSessionIoRequest& request) {
  if (request.input.size() > max_session_chunk)
    return refuse("session input is at most " + std::to_string(max_session_chunk) + " bytes");
  if (request.session == 0)
    return refuse("no session has the number zero (numbers start at one)");
  return text("VM reference", request.ref, max_ref_length);
}

Status admissible(const VmFileReadRequest& request) {
  if (request.path.empty() || request.path.front() != '/' || request.path.size() > 4096)
    return refuse("the guest path must be absolute and at most 4096 bytes");
  return text("VM reference", request.ref, max_ref_length);
}

Status admissible(const VmFileWriteRequest& request) {
  if (request.data.size() > max_session_chunk)
    return refuse("a file chunk is at most " + std::to_string(max_session_chunk) + " bytes");
  if (request.session == 0
      && (request.path.empty() || request.path.front() != '/' || request.path.size() > 4096))
    return refuse("the guest path must be absolute and at most 4096 bytes");
  return text("VM reference", request.ref, max_ref_length);
}

Status admissible(const DoctorRequest&) {
  return {};
}

Status admissible(const ClusterStatusRequest&) {
  return {};
}

Status admissible(const EventsRequest& request) {
  if (!request.vm_id.empty()) {
    bool hex = request.vm_id.size() == 16;
    for (char c : request.vm_id)
      hex = hex && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
    if (!hex)
      return refuse("events: vm_id is not a VM id (16 lowercase hex digits; resolve a name first)");
  }
  if (request.wait_ms > events_max_wait_ms)
    return refuse("events: wait_ms is over " + std::to_string(events_max_wait_ms));
  if (request.max == 0 || request.max > events_max_batch)
    return refuse("events: max is not 1-" + std::to_string(events_max_batch));
  return {};
}

} // namespace banger
