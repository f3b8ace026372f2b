// The protocol between clients (the banger CLI, banger-load) and bangerd:
// what the control actor accepts and answers. Published over mutual TLS.
#pragma once

#include "messages/records.hpp"
#include "messages/wire.hpp"

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace banger {

/// Reply to an async begin: poll OpStatusRequest with this op_id.
struct OpAccepted {
  std::string op_id;

  bool operator==(const OpAccepted&) const = default;
};
BANGER_INSPECT(OpAccepted, x.op_id)

// -- control interface: CLI / load driver -> bangerd -------------------------

struct DaemonStatusRequest {
  Envelope env;

  bool operator==(const DaemonStatusRequest&) const = default;
};
BANGER_INSPECT(DaemonStatusRequest, x.env)

struct StateCount {
  std::string state;
  std::uint32_t count = 0;

  bool operator==(const StateCount&) const = default;
};
BANGER_INSPECT(StateCount, x.state, x.count)

struct DaemonStatus {
  std::string version;
  std::uint32_t protocol = 0;
  std::string home;
  std::string vmm_kind;
  bool helper_reachable = false;
  std::vector<std::string> rootfs_strategies;
  std::vector<StateCount> vms_by_state;
  std::int64_t started_at_us = 0;
  std::string accel; ///< from the helper: qemu's accelerator and why

  bool operator==(const DaemonStatus&) const = default;
};
BANGER_INSPECT(DaemonStatus, x.version, x.protocol, x.home, x.vmm_kind,
               x.helper_reachable, x.rootfs_strategies, x.vms_by_state,
               x.started_at_us, x.accel)

struct ImageAddRequest {
  Envelope env;
  std::string name;
  std::string kernel_path;
  std::string rootfs_path;
  std::string initrd_path;
  std::string boot_args;
  bool ssh = false; ///< the guest runs an SSH server (Image::ssh)

  bool operator==(const ImageAddRequest&) const = default;
};
BANGER_INSPECT(ImageAddRequest, x.env, x.name, x.kernel_path, x.rootfs_path,
               x.initrd_path, x.boot_args, x.ssh)

/// Asynchronous add: the same fields, answered with OpAccepted once the
/// sources are open; poll ImageAddStatusRequest for the import's progress.
struct ImageAddBeginRequest {
  Envelope env;
  std::string name;
  std::string kernel_path;
  std::string rootfs_path;
  std::string initrd_path;
  std::string boot_args;
  bool ssh = false; ///< Image::ssh

  bool operator==(const ImageAddBeginRequest&) const = default;
};
BANGER_INSPECT(ImageAddBeginRequest, x.env, x.name, x.kernel_path, x.rootfs_path,
               x.initrd_path, x.boot_args, x.ssh)

/// Answered with the import's progress, or its error once it failed.
struct ImageAddStatusRequest {
  Envelope env;
  std::string op_id; ///< the ImageAddBeginRequest's

  bool operator==(const ImageAddStatusRequest&) const = default;
};
BANGER_INSPECT(ImageAddStatusRequest, x.env, x.op_id)

struct ImageAddStatus {
  std::string op_id;
  bool done = false;        ///< then `image` is the registered image
  std::string file;         ///< "kernel", "initrd" or "rootfs" being imported
  std::uint64_t bytes_done = 0;
  std::uint64_t bytes_total = 0; ///< of every file imported (not used in place)
  std::string methods;      ///< "rootfs: reflink, kernel: sparse copy"
  Image image;

  bool operator==(const ImageAddStatus&) const = default;
};
BANGER_INSPECT(ImageAddStatus, x.op_id, x.done, x.file, x.bytes_done, x.bytes_total,
               x.methods, x.image)

struct ImageListRequest {
  Envelope env;

  bool operator==(const ImageListRequest&) const = default;
};
BANGER_INSPECT(ImageListRequest, x.env)

struct ImageList {
  std::vector<Image> images;

  bool operator==(const ImageList&) const = default;
};
BANGER_INSPECT(ImageList, x.images)

/// `ref` is a name, an id or a unique id prefix.
struct ImageShowRequest {
  Envelope env;
  std::string ref;

  bool operator==(const ImageShowRequest&) const = default;
};
BANGER_INSPECT(ImageShowRequest, x.env, x.ref)

struct ImageRemoveRequest {
  Envelope env;
  std::string ref;

  bool operator==(const ImageRemoveRequest&) const = default;
};
BANGER_INSPECT(ImageRemoveRequest, x.env, x.ref)

/// What a new VM should look like; zero means "the default".
struct VmSpec {
  std::string name; ///< empty: the daemon picks one
  std::string image;
  std::uint32_t cpus = 0;
  std::uint32_t memory_mib = 0;
  bool start = false;
  /// With start: wait until the guest's SSH port answers. Neither `wait`
  /// nor `no_wait`: wait when the image has SSH (Image::ssh).
  bool wait = false;
  bool no_wait = false; ///< with start: never wait for SSH
  /// Root disk size in bytes (messages/disk_size.hpp); 0: the image's rootfs size.
  std::uint64_t disk_bytes = 0;
  /// The cluster host to create the VM on (cluster.host-id); empty: the
  /// cluster places it (docs/cluster.md), or this host outside a cluster.
  std::string host;
  /// Guest ports to publish on the host (vm create -p).
  std::vector<PortMapping> ports;

  bool operator==(const VmSpec&) const = default;
};
BANGER_INSPECT(VmSpec, x.name, x.image, x.cpus, x.memory_mib, x.start, x.wait, x.no_wait,
               x.disk_bytes, x.host, x.ports)

/// Synchronous create: replies when the VM exists (and runs, with start).
struct VmCreateRequest {
  Envelope env;
  VmSpec spec;

  bool operator==(const VmCreateRequest&) const = default;
};
BANGER_INSPECT(VmCreateRequest, x.env, x.spec)

/// Asynchronous create: replies OpAccepted at once; poll OpStatusRequest.
struct VmCreateBeginRequest {
  Envelope env;
  VmSpec spec;

  bool operator==(const VmCreateBeginRequest&) const = default;
};
BANGER_INSPECT(VmCreateBeginRequest, x.env, x.spec)

struct OpStatusRequest {
  Envelope env;
  std::string op_id; ///< the operation asked about

  bool operator==(const OpStatusRequest&) const = default;
};
BANGER_INSPECT(OpStatusRequest, x.env, x.op_id)

struct VmListRequest {
  Envelope env;

  bool operator==(const VmListRequest&) const = default;
};
BANGER_INSPECT(VmListRequest, x.env)

struct VmList {
  std::vector<VmRecord> vms;
  /// Cluster hosts that did not answer in time; their VMs, where a name
  /// owner knows them, are in `vms` with state `unknown`.
  std::vector<std::string> unreachable;

  bool operator==(const VmList&) const = default;
};
BANGER_INSPECT(VmList, x.vms, x.unreachable)

struct VmShowRequest {
  Envelope env;
  std::string ref;

  bool operator==(const VmShowRequest&) const = default;
};
BANGER_INSPECT(VmShowRequest, x.env, x.ref)

/// The lifecycle requests a VM actor serializes.
enum class VmAction : std::uint8_t {
  start = 0,
  stop = 1,
  kill = 2,
  restart = 3,
  remove = 4,
  pause = 5,           ///< the guest's vCPUs stop; its memory and VMM stay
  resume = 6,          ///< a paused guest runs on
  suspend = 7,         ///< the guest's state to its VM directory, then no VMM
  snapshot = 8,        ///< keep snapshot `snapshot` of the VM as it is now
  restore = 9,         ///< roll the VM back to snapshot `snapshot`
  snapshot_remove = 10, ///< delete snapshot `snapshot`
};

struct VmActionRequest {
  Envelope env;
  std::string ref;
  VmAction action = VmAction::start;
  std::string signal; ///< kill only; empty means TERM
  /// start and restart only: wait for the guest's SSH port (`wait`), never
  /// (`no_wait`), or, with neither, when the image has SSH (Image::ssh).
  bool wait = false;
  bool no_wait = false;
  /// snapshot, restore, snapshot_remove: the snapshot's name.
  std::string snapshot = {};
  /// start of a suspended VM: boot it cold, dropping the saved state,
  /// instead of restoring it.
  bool cold = false;

  bool operator==(const VmActionRequest&) const = default;
};
BANGER_INSPECT(VmActionRequest, x.env, x.ref, x.action, x.signal, x.wait, x.no_wait,
               x.snapshot, x.cold)

/// The most of a VM's log one VmLogReadRequest returns.
inline constexpr std::uint32_t max_log_chunk = 256 * 1024;

/// A bounded read of a VM's VMM log (its stdout, stderr and serial
/// console), answered by the VM's own host from the log path in the VM's
/// record: the request names the VM, never a path. `vm logs` repeats it
/// with each chunk's next_offset (every ~100 ms with --follow).
struct VmLogReadRequest {
  Envelope env;
  std::string ref;
  std::uint64_t offset = 0;    ///< where to read from
  std::uint32_t max_bytes = 0; ///< at most this many bytes; 0: max_log_chunk (the most allowed)

  bool operator==(const VmLogReadRequest&) const = default;
};
BANGER_INSPECT(VmLogReadRequest, x.env, x.ref, x.offset, x.max_bytes)

struct VmLogChunk {
  /// The log's bytes from `offset` on, at most the request's max_bytes.
  std::string data;
  /// Where `data` starts: the request's offset, or 0 when the log is
  /// shorter than that (it was truncated: read from its start again).
  std::uint64_t offset = 0;
  std::uint64_t next_offset = 0; ///< offset + data.size(): the next request's offset
  std::uint64_t size = 0;        ///< the log's size when it was read
  /// False until the VM's first start creates the log (then data is empty).
  bool exists = false;

  bool operator==(const VmLogChunk&) const = default;
};
BANGER_INSPECT(VmLogChunk, x.data, x.offset, x.next_offset, x.size, x.exists)

struct DoctorRequest {
  Envelope env;
  bool fix = false;

  bool operator==(const DoctorRequest&) const = default;
};
BANGER_INSPECT(DoctorRequest, x.env, x.fix)

/// Something on the host that disagrees with the records.
struct DoctorFinding {
  std::string kind;   ///< "tap", "rootfs", "socket", "process", "record", "ports"
  std::string object; ///< the tap name, path, pid or VM id
  std::string detail;
  bool fixed = false;

  bool operator==(const DoctorFinding&) const = default;
};
BANGER_INSPECT(DoctorFinding, x.kind, x.object, x.detail, x.fixed)

struct DoctorReport {
  std::vector<DoctorFinding> findings;

  bool operator==(const DoctorReport&) const = default;
};
BANGER_INSPECT(DoctorReport, x.findings)

// -- cluster -----------------------------------------------------------------

struct ClusterStatusRequest {
  Envelope env;

  bool operator==(const ClusterStatusRequest&) const = default;
};
BANGER_INSPECT(ClusterStatusRequest, x.env)

/// One member as the answering host sees it. Figures are as of the last
/// ping answered (about every second); zero for a host never seen.
struct ClusterHostStatus {
  std::string id;
  std::string address; ///< "10.77.0.1:7430"
  std::string state;   ///< "up", "suspect" or "down" (the host asked is up)
  std::int64_t since_us = 0; ///< realtime µs the state began
  std::int64_t rtt_us = 0;   ///< last ping round trip; 0 for self or never
  std::uint32_t vms = 0;
  std::uint32_t cpus_free = 0;
  std::uint64_t memory_free_mib = 0;
  std::string version;  ///< the host's bangerd version
  std::uint64_t epoch = 0; ///< boot epoch of the incarnation seen

  bool operator==(const ClusterHostStatus&) const = default;
};
BANGER_INSPECT(ClusterHostStatus, x.id, x.address, x.state, x.since_us, x.rtt_us, x.vms,
               x.cpus_free, x.memory_free_mib, x.version, x.epoch)

struct ClusterStatus {
  std::string self;
  std::vector<ClusterHostStatus> hosts; ///< every member, self included, by id

  bool operator==(const ClusterStatus&) const = default;
};
BANGER_INSPECT(ClusterStatus, x.self, x.hosts)

// -- the guest agent: commands and files (docs/agent.md) -------------------------
// Routed like VmLogReadRequest: the VM's own host talks to its agent. An
// exec or a read is a session the CLI pulls from (VmSessionIoRequest), so
// output flows only as fast as the CLI takes it and nothing waits on a
// client that went away (an unpolled session ends after
// session_idle_timeout, killing its command).

/// The most of a session's output one VmSessionIo carries.
inline constexpr std::size_t max_session_chunk = 256 * 1024;

/// `vm exec REF -- CMD...`: starts CMD in the guest through its agent.
struct VmExecRequest {
  Envelope env;
  std::string ref;
  std::vector<std::string> argv;
  std::vector<std::string> environment; ///< "NAME=value"
  std::string cwd;                      ///< empty: the agent's default
  bool tty = false;                     ///< on a pseudo-terminal (-t)
  std::uint32_t rows = 0, cols = 0;     ///< with tty

  bool operator==(const VmExecRequest&) const = default;
};
BANGER_INSPECT(VmExecRequest, x.env, x.ref, x.argv, x.environment, x.cwd, x.tty, x.rows, x.cols)

/// A session the CLI then drives with VmSessionIoRequest.
struct VmSessionStarted {
  std::string vm_id;
  std::uint32_t session = 0;
  std::uint32_t pid = 0;   ///< the command's pid in the guest (exec)
  std::uint64_t size = 0;  ///< the file's size (read)
  std::uint32_t mode = 0;  ///< the file's mode (read)

  bool operator==(const VmSessionStarted&) const = default;
};
BANGER_INSPECT(VmSessionStarted, x.vm_id, x.session, x.pid, x.size, x.mode)

/// One exchange with a session: input for it, and what it produced since.
/// Replies once there is output or an end, or after wait_ms.
struct VmSessionIoRequest {
  Envelope env;
  std::string ref; ///< the VM id VmSessionStarted named
  std::uint32_t session = 0;
  std::string input;      ///< stdin bytes (exec)
  bool input_eof = false; ///< stdin closed (exec)
  std::uint32_t signal = 0; ///< sent to the command (exec), 0: none
  std::uint32_t rows = 0, cols = 0; ///< the terminal was resized (exec, tty), 0: no
  std::uint32_t wait_ms = 0;        ///< at most session_max_wait_ms
  bool close = false;               ///< the CLI is done: end the session

  bool operator==(const VmSessionIoRequest&) const = default;
};
BANGER_INSPECT(VmSessionIoRequest, x.env, x.ref, x.session, x.input, x.input_eof, x.signal,
               x.rows, x.cols, x.wait_ms, x.close)

inline constexpr std::uint32_t session_max_wait_ms = 5000;

struct VmSessionIo {
  std::string out; ///< stdout (exec) or file bytes (read), in order
  std::string err; ///< stderr (exec)
  bool ended = false;       ///< nothing more will come; the session is gone
  std::int32_t exit_code = 0;   ///< exec, once ended
  std::int32_t exit_signal = 0; ///< exec, once ended: the signal that ended it

  bool operator==(const VmSessionIo&) const = default;
};
BANGER_INSPECT(VmSessionIo, x.out, x.err, x.ended, x.exit_code, x.exit_signal)

/// Reads a guest file through the agent: a session whose output is the file.
struct VmFileReadRequest {
  Envelope env;
  std::string ref;
  std::string path; ///< absolute, in the guest

  bool operator==(const VmFileReadRequest&) const = default;
};
BANGER_INSPECT(VmFileReadRequest, x.env, x.ref, x.path)

/// Writes a guest file through the agent, in chunks: the first (no session
/// number yet) opens it, each next one names the session, `last` commits. The file
/// appears whole (written under a temporary name, renamed) or not at all.
struct VmFileWriteRequest {
  Envelope env;
  std::string ref;
  std::uint32_t session = 0; ///< 0: a new file
  std::string path;          ///< first chunk: absolute, in the guest
  std::uint32_t mode = 0644; ///< first chunk
  std::uint64_t size = 0;    ///< first chunk: the bytes the chunks add up to
  std::string data;          ///< at most max_session_chunk bytes
  bool last = false;

  bool operator==(const VmFileWriteRequest&) const = default;
};
BANGER_INSPECT(VmFileWriteRequest, x.env, x.ref, x.session, x.path, x.mode, x.size, x.data,
               x.last)

struct VmFileWritten {
  std::string vm_id;
  std::uint32_t session = 0;
  std::uint64_t written = 0; ///< bytes so far
  bool done = false;         ///< committed in the guest

  bool operator==(const VmFileWritten&) const = default;
};
BANGER_INSPECT(VmFileWritten, x.vm_id, x.session, x.written, x.done)

/// A new VM from another's guest state: snapshot `snapshot` of VM `source`,
/// or, with no snapshot named, the running or paused `source` as it is now
/// (its state goes straight to the clone; no snapshot stays behind). The
/// clone has the source's image, vCPUs and memory, and its own name,
/// address, MAC, hostname, machine-id and SSH host keys: its guest agent
/// applies them right after the restore, before the clone is reported
/// ready. Replies once the clone runs with its own identity.
struct VmCloneRequest {
  Envelope env;
  std::string source; ///< a VM ref
  std::string snapshot;
  std::string name; ///< empty: a readable generated one

  bool operator==(const VmCloneRequest&) const = default;
};
BANGER_INSPECT(VmCloneRequest, x.env, x.source, x.snapshot, x.name)

/// One thing that happened on this host (docs/api.md, "Events"). `type`:
/// "vm.state" (a VM's state changed: `state`), "vm.removed", "op.stage"
/// (operation `op_id` of kind `kind` entered `stage`) or "op.done"
/// (`outcome` succeeded or failed, with the error). `seq` counts up from 1
/// with every event of this bangerd process.
struct Event {
  std::uint64_t seq = 0;
  std::int64_t at_us = 0;
  std::string type;
  std::string op_id;
  std::string vm_id;
  std::string vm_name;
  std::string state; ///< vm.state: the new state
  std::string kind;  ///< op.*: "vm.start", ...
  std::string stage; ///< op.stage: the stage entered; op.done: the last one
  std::string outcome; ///< op.done: "succeeded" or "failed"
  std::uint8_t error_code = 0; ///< op.done failed: Errc
  std::string error_message;
  std::int64_t duration_us = 0; ///< op.done: the whole operation

  bool operator==(const Event&) const = default;
};
BANGER_INSPECT(Event, x.seq, x.at_us, x.type, x.op_id, x.vm_id, x.vm_name, x.state, x.kind,
               x.stage, x.outcome, x.error_code, x.error_message, x.duration_us)

/// The events after `after` (a seq already seen; with `from_now`, the
/// events that happen from now on), at most `max`, only VM `vm_id`'s when
/// set (an exact id: the caller resolves a ref first). With none yet,
/// the reply waits up to `wait_ms` (at most events_max_wait_ms) for one:
/// a reader polls in a loop and never holds the daemon back.
struct EventsRequest {
  Envelope env;
  std::uint64_t after = 0;
  bool from_now = false;
  std::string vm_id;
  std::uint32_t max = 256;
  std::uint32_t wait_ms = 0;

  bool operator==(const EventsRequest&) const = default;
};
BANGER_INSPECT(EventsRequest, x.env, x.after, x.from_now, x.vm_id, x.max, x.wait_ms)

inline constexpr std::uint32_t events_max_wait_ms = 30000;
inline constexpr std::uint32_t events_max_batch = 4096;

/// `missed`: events after `after` that are no longer kept
/// (daemon.event-buffer): the reader fell behind by that many. `last`: the
/// seq to pass as the next request's `after`.
struct EventBatch {
  std::vector<Event> events;
  std::uint64_t missed = 0;
  std::uint64_t last = 0;

  bool operator==(const EventBatch&) const = default;
};
BANGER_INSPECT(EventBatch, x.events, x.missed, x.last)

/// The daemon's front door, published over mutual TLS.
using control_actor = caf::typed_actor<
  caf::replies_to<DaemonStatusRequest>::with<DaemonStatus>,
  caf::replies_to<ImageAddRequest>::with<Image>,
  caf::replies_to<ImageAddBeginRequest>::with<OpAccepted>,
  caf::replies_to<ImageAddStatusRequest>::with<ImageAddStatus>,
  caf::replies_to<ImageListRequest>::with<ImageList>,
  caf::replies_to<ImageShowRequest>::with<Image>,
  caf::replies_to<ImageRemoveRequest>::with<Image>,
  caf::replies_to<VmCreateRequest>::with<VmRecord>,
  caf::replies_to<VmCreateBeginRequest>::with<OpAccepted>,
  caf::replies_to<OpStatusRequest>::with<OperationStatus>,
  caf::replies_to<VmListRequest>::with<VmList>,
  caf::replies_to<VmShowRequest>::with<VmRecord>,
  caf::replies_to<VmActionRequest>::with<VmRecord>,
  caf::replies_to<VmCloneRequest>::with<VmRecord>,
  caf::replies_to<DoctorRequest>::with<DoctorReport>,
  caf::replies_to<ClusterStatusRequest>::with<ClusterStatus>,
  caf::replies_to<VmLogReadRequest>::with<VmLogChunk>,
  caf::replies_to<VmExecRequest>::with<VmSessionStarted>,
  caf::replies_to<VmSessionIoRequest>::with<VmSessionIo>,
  caf::replies_to<VmFileReadRequest>::with<VmSessionStarted>,
  caf::replies_to<VmFileWriteRequest>::with<VmFileWritten>,
  caf::replies_to<EventsRequest>::with<EventBatch>>;

} // namespace banger
