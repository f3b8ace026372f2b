// Records: what banger knows about images, VMs and operations. Plain structs,
// stored by storage/, sent by actors, printed by the CLI. No floating point:
// times are integer microseconds, sizes integer MiB or bytes.
#pragma once

#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace banger {

/// Where a VM is in its life. Stable names are used in the store and JSON.
enum class VmState : std::uint8_t {
  created = 0,  ///< record and rootfs exist, no VMM
  starting = 1, ///< start steps running
  running = 2,  ///< VMM alive, guest booted
  stopping = 3, ///< stop/kill in progress
  stopped = 4,  ///< VMM gone, runtime cleaned
  error = 5,    ///< the last operation failed; last_error says why
  /// Never stored: the VM's host cannot be reached, so a cluster listing
  /// knows only its name, id and host (from the name's owner).
  unknown = 6,
  paused = 7,    ///< VMM alive, the guest's vCPUs stopped, its memory kept
  suspended = 8, ///< no VMM: the guest's state is saved in its VM directory
};

std::string_view to_string(VmState state);
std::optional<VmState> vm_state_from_string(std::string_view name);

/// Which rung of the stop ladder ended the VMM last time.
enum class StopRung : std::uint8_t {
  none = 0,     ///< never stopped
  graceful = 1, ///< the guest powered off after SendCtrlAltDel / ACPI
  timeout = 2,  ///< the grace period ran out; the VMM was killed
  signal = 3,   ///< `vm kill` or the VMM died of a signal
  guest = 4,    ///< the guest powered off or rebooted by itself (the VMM then exits)
};

std::string_view to_string(StopRung rung);
std::optional<StopRung> stop_rung_from_string(std::string_view name);

/// A bootable image: kernel (+ optional initrd) and a base rootfs.
struct Image {
  std::string id;   ///< 16 lowercase hex digits
  std::string name; ///< unique, [a-z0-9][a-z0-9-]{0,62}
  std::string kernel_path;
  std::string initrd_path; ///< empty when the image has none
  std::string rootfs_path;
  std::string boot_args; ///< extra kernel command line
  std::int64_t created_at_us = 0;
  /// The guest runs an SSH server on port 22 (built images do): starts wait
  /// for it unless told not to.
  bool ssh = false;

  bool operator==(const Image&) const = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, Image& x) {
  return f(caf::meta::type_name("banger.Image"), x.id, x.name, x.kernel_path,
           x.initrd_path, x.rootfs_path, x.boot_args, x.created_at_us, x.ssh);
}

/// Durations of the phases of the last start, in microseconds since the
/// start began; 0 means the phase was not reached.
struct BootTimings {
  std::int64_t vmm_spawned_us = 0;
  std::int64_t configured_us = 0;
  std::int64_t instance_started_us = 0;
  std::int64_t guest_ready_us = 0;
  /// When the guest agent's hello arrived (docs/agent.md); 0: no agent
  /// answered, or it was not waited for.
  std::int64_t agent_ready_us = 0;

  bool operator==(const BootTimings&) const = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, BootTimings& x) {
  return f(caf::meta::type_name("banger.BootTimings"), x.vmm_spawned_us,
           x.configured_us, x.instance_started_us, x.guest_ready_us, x.agent_ready_us);
}

/// A guest port published on the host (vm create -p HOST:GUEST[/PROTO]):
/// banger-helper's nftables rules send what arrives at the host's port to
/// the guest's, while the VM runs.
struct PortMapping {
  std::uint16_t host_port = 0;  ///< 1-65535
  std::uint16_t guest_port = 0; ///< 1-65535
  std::string protocol = "tcp"; ///< "tcp" or "udp"

  bool operator==(const PortMapping&) const = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, PortMapping& x) {
  return f(caf::meta::type_name("banger.PortMapping"), x.host_port, x.guest_port, x.protocol);
}

/// A guest's saved state: the files a suspend or a snapshot wrote, made
/// complete under temporary names and renamed into place before this is
/// recorded, so a recorded SavedState always names whole files.
struct SavedState {
  std::string state_path;  ///< QEMU: the migration stream; Firecracker: the VM state
  std::string memory_path; ///< Firecracker: the guest memory file; QEMU: "" (in the stream)
  std::uint64_t size = 0;  ///< bytes of both files
  /// xxh3-128 of the state file then the memory file, 32 lowercase hex digits.
  std::string checksum;
  std::int64_t saved_at_us = 0; ///< realtime µs when the guest was paused for it
  std::string vmm; ///< the VMM kind that wrote it ("qemu", "firecracker"): only it can load it

  bool empty() const { return state_path.empty(); }
  bool operator==(const SavedState&) const = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, SavedState& x) {
  return f(caf::meta::type_name("banger.SavedState"), x.state_path, x.memory_path, x.size,
           x.checksum, x.saved_at_us, x.vmm);
}

/// A named snapshot of a VM: its disk at that instant (a copy-on-write copy
/// where the file system can) and, when the guest was running or paused, its
/// memory and device state.
struct SnapshotInfo {
  std::string name; ///< unique per VM, [a-z0-9][a-z0-9-]{0,62}
  std::int64_t created_at_us = 0;
  VmState from = VmState::stopped; ///< running, paused or stopped
  std::string disk_path;
  std::uint64_t disk_size = 0; ///< bytes the disk copy occupies on the host
  SavedState memory;           ///< empty when taken of a stopped VM
  std::string op_id;           ///< the operation that took it

  bool operator==(const SnapshotInfo&) const = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, SnapshotInfo& x) {
  return f(caf::meta::type_name("banger.SnapshotInfo"), x.name, x.created_at_us, x.from,
           x.disk_path, x.disk_size, x.memory, x.op_id);
}

/// The runtime part of a VM: what exists on the host for it right now.
struct VmRuntime {
  VmState state = VmState::created;
  std::string stage;                ///< current lifecycle stage, "" when idle
  std::int32_t pid = 0;             ///< VMM pid, 0 when none
  std::uint64_t pid_start_time = 0; ///< /proc/<pid>/stat starttime (ticks)
  std::string api_socket;           ///< Firecracker API or QMP socket
  std::string vsock_path;
  std::uint32_t vsock_cid = 0;
  std::string guest_ip; ///< dotted quad, allocated from network.subnet
  std::string mac;      ///< derived from the guest IP
  std::string tap;      ///< tap-fc-<short id>
  std::string rootfs_path;
  std::string vm_dir;
  std::string log_path;
  std::string last_error; ///< why the last operation failed, "" otherwise
  StopRung last_stop = StopRung::none;
  BootTimings boot;
  /// When the wait of the current stage ends (realtime µs; 0: the stage
  /// waits for no deadline), for `vm stop`'s "N s left". Not persisted:
  /// like `stage`, it means nothing once the operation is over.
  std::int64_t stage_deadline_us = 0;
  /// A suspended VM's state (vm suspend), loaded by its next start; empty
  /// otherwise.
  SavedState saved;
  /// The guest agent's version from its hello (docs/agent.md); empty while
  /// no agent has said hello since the VMM started. Not persisted.
  std::string agent;

  bool operator==(const VmRuntime&) const = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, VmRuntime& x) {
  return f(caf::meta::type_name("banger.VmRuntime"), x.state, x.stage, x.pid,
           x.pid_start_time, x.api_socket, x.vsock_path, x.vsock_cid,
           x.guest_ip, x.mac, x.tap, x.rootfs_path, x.vm_dir, x.log_path,
           x.last_error, x.last_stop, x.boot, x.stage_deadline_us, x.saved, x.agent);
}

struct VmRecord {
  std::string id;   ///< 16 lowercase hex digits
  std::string name; ///< unique per host, and across a cluster
  std::string image_id;
  std::uint32_t cpus = 1;
  std::uint32_t memory_mib = 128;
  std::int64_t created_at_us = 0;
  std::int64_t updated_at_us = 0;
  VmRuntime runtime;
  /// The cluster host the VM lives on (cluster.host-id); empty on a host
  /// that is not in a cluster. Set where the record leaves its host, never
  /// stored.
  std::string host;
  /// Its named snapshots, oldest first.
  std::vector<SnapshotInfo> snapshots;
  /// Guest ports published on the host while the VM runs.
  std::vector<PortMapping> ports;

  bool operator==(const VmRecord&) const = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, VmRecord& x) {
  return f(caf::meta::type_name("banger.VmRecord"), x.id, x.name, x.image_id,
           x.cpus, x.memory_mib, x.created_at_us, x.updated_at_us, x.runtime, x.host,
           x.snapshots, x.ports);
}

/// One finished (or running) stage of an operation.
struct StageRecord {
  std::string name;
  std::int64_t started_at_us = 0;
  std::int64_t duration_us = 0; ///< -1 while the stage runs
  bool ok = true;

  bool operator==(const StageRecord&) const = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, StageRecord& x) {
  return f(caf::meta::type_name("banger.StageRecord"), x.name,
           x.started_at_us, x.duration_us, x.ok);
}

enum class OperationOutcome : std::uint8_t {
  running = 0,
  succeeded = 1,
  failed = 2,
};

std::string_view to_string(OperationOutcome outcome);
std::optional<OperationOutcome> outcome_from_string(std::string_view name);

/// What an operation did and how it ended: the answer to `op show`.
struct OperationStatus {
  std::string op_id;
  std::string kind;  ///< "vm.create", "vm.start", ...
  std::string vm_id; ///< the VM it concerns, once known
  std::string stage; ///< current or last stage
  std::uint32_t stages_done = 0;
  std::uint32_t stages_total = 0;
  OperationOutcome outcome = OperationOutcome::running;
  std::uint8_t error_code = 0; ///< Errc when failed
  std::string error_message;
  std::int64_t started_at_us = 0;
  std::int64_t finished_at_us = 0; ///< 0 while running
  std::vector<StageRecord> stages;

  bool operator==(const OperationStatus&) const = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, OperationStatus& x) {
  return f(caf::meta::type_name("banger.OperationStatus"), x.op_id, x.kind,
           x.vm_id, x.stage, x.stages_done, x.stages_total, x.outcome,
           x.error_code, x.error_message, x.started_at_us, x.finished_at_us,
           x.stages);
}

/// Microseconds since the Unix epoch, from the realtime clock.
std::int64_t now_us();

} // namespace banger
