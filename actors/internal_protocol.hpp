// The protocol between bangerd's own actors: their messages and typed
// interfaces. They never leave the process, so they are not registered for
// remoting; they have inspect() overloads so CAF can print and copy them like
// any other message. What crosses a process boundary is in messages/.
#pragma once

#include "messages/cli_protocol.hpp"
#include "messages/helper_protocol.hpp"
#include "messages/host_protocol.hpp"

#include <caf/actor.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace banger {

#define BANGER_INTERNAL(Type, ...)                                             \
  template <class Inspector>                                                   \
  typename Inspector::result_type inspect(Inspector& f, Type& x) {             \
    return f(caf::meta::type_name("banger.internal." #Type), __VA_ARGS__);     \
  }

// -- vmm_io: HTTP to VMM sockets, socket waits, exit watches ----------------

struct HttpCall {
  std::string socket;
  std::string method;
  std::string path;
  std::string body;
  std::int64_t timeout_ms = 0;
};
BANGER_INTERNAL(HttpCall, x.socket, x.method, x.path, x.body, x.timeout_ms)

struct HttpReply {
  std::int32_t status = 0;
  std::string body;
};
BANGER_INTERNAL(HttpReply, x.status, x.body)

/// HTTP calls made one after another on the reactor's own thread, with no
/// actor hop between them; the sequence stops after the first call that
/// fails (transport error or status >= 300). Configuring a Firecracker VMM
/// is five PUTs: one message instead of five round trips through vmm_io.
struct HttpSequence {
  std::vector<HttpCall> calls;
};
BANGER_INTERNAL(HttpSequence, x.calls)

/// The replies of the calls that ran, in order. A transport error on the
/// next call is in `code`/`error` (code 0: none).
struct HttpReplies {
  std::vector<HttpReply> replies;
  std::uint8_t code = 0;
  std::string error;
};
BANGER_INTERNAL(HttpReplies, x.replies, x.code, x.error)

struct SocketWait {
  std::string socket;
  std::int64_t timeout_ms = 0;
  /// Keep the connection that succeeded for the first HttpCall (Reactor).
  bool keep_connection = false;
};
BANGER_INTERNAL(SocketWait, x.socket, x.timeout_ms, x.keep_connection)

/// Watch a VMM: `notify` gets VmmExited once the process is gone.
struct ExitWatch {
  std::int32_t pid = 0;
  caf::actor notify;
};
BANGER_INTERNAL(ExitWatch, x.pid, x.notify)

struct ExitUnwatch {
  std::uint64_t token = 0;
};
BANGER_INTERNAL(ExitUnwatch, x.token)

struct VmmExited {
  std::int32_t pid = 0;
};
BANGER_INTERNAL(VmmExited, x.pid)

/// QMP (QEMU): one connection, capabilities negotiation, then `commands`
/// (JSON objects) in order; the reply holds each command's "return" as JSON.
struct QmpCall {
  std::string socket;
  std::vector<std::string> commands;
  std::int64_t timeout_ms = 0;
  /// A file vmm_io opens and sends with the first bytes (SCM_RIGHTS), for a
  /// `getfd` among `commands`; "" sends none.
  std::string pass_file;
  /// Opened for QEMU to write (created or emptied, mode 0600, never through
  /// a symlink) rather than to read.
  bool pass_for_writing = false;
  /// After every command is answered, wait for the migration the commands
  /// started to end (qemu::qmp_complete_migration).
  bool until_migration_ends = false;
};
BANGER_INTERNAL(QmpCall, x.socket, x.commands, x.timeout_ms, x.pass_file, x.pass_for_writing,
                x.until_migration_ends)

struct QmpReply {
  std::vector<std::string> returns;
  /// With until_migration_ends: "completed", "failed" or "cancelled".
  std::string migration;
};
BANGER_INTERNAL(QmpReply, x.returns, x.migration)

/// Succeeds once a guest's TCP port greets with `banner` (SSH: "SSH-").
struct GuestProbe {
  std::string ip;
  std::uint16_t port = 22;
  std::string banner;
  std::int64_t timeout_ms = 0;
};
BANGER_INTERNAL(GuestProbe, x.ip, x.port, x.banner, x.timeout_ms)

/// A long-lived stream to a guest agent (Reactor::open_duplex). Replies
/// with the stream's token at once; `notify` then gets DuplexOpened,
/// DuplexData and one DuplexClosed, each naming `link` (the caller's number
/// for this stream, so they cannot be mistaken for an older stream's).
struct DuplexOpen {
  std::string socket;
  std::string handshake;
  std::string reply_prefix;
  std::int64_t timeout_ms = 0;
  caf::actor notify;
  std::uint64_t link = 0;
};
BANGER_INTERNAL(DuplexOpen, x.socket, x.handshake, x.reply_prefix, x.timeout_ms, x.notify, x.link)

/// Replies once the bytes are written to the socket: the sender's pace is
/// the guest's.
struct DuplexWrite {
  std::uint64_t token = 0;
  std::string bytes;
};
BANGER_INTERNAL(DuplexWrite, x.token, x.bytes)

struct DuplexClose {
  std::uint64_t token = 0;
};
BANGER_INTERNAL(DuplexClose, x.token)

struct DuplexOpened {
  std::uint64_t link = 0;
};
BANGER_INTERNAL(DuplexOpened, x.link)

struct DuplexData {
  std::uint64_t link = 0;
  std::string bytes;
};
BANGER_INTERNAL(DuplexData, x.link, x.bytes)

struct DuplexClosed {
  std::uint64_t link = 0;
  std::uint8_t code = 0;
  std::string error;
};
BANGER_INTERNAL(DuplexClosed, x.link, x.code, x.error)

using vmm_io_actor = caf::typed_actor<
  caf::replies_to<DuplexOpen>::with<std::uint64_t>,
  caf::replies_to<DuplexWrite>::with<Ack>,
  caf::reacts_to<DuplexClose>,
  caf::replies_to<HttpCall>::with<HttpReply>,
  caf::replies_to<HttpSequence>::with<HttpReplies>,
  caf::replies_to<QmpCall>::with<QmpReply>,
  caf::replies_to<GuestProbe>::with<Ack>,
  caf::replies_to<SocketWait>::with<Ack>,
  caf::replies_to<ExitWatch>::with<std::uint64_t>,
  caf::reacts_to<ExitUnwatch>>;

// -- store actor ---------------------------------------------------------------

struct SaveVm {
  VmRecord vm;
};
BANGER_INTERNAL(SaveVm, x.vm)

struct EraseVm {
  std::string id;
};
BANGER_INTERNAL(EraseVm, x.id)

struct SaveImage {
  Image image;
};
BANGER_INTERNAL(SaveImage, x.image)

struct EraseImage {
  std::string id;
};
BANGER_INTERNAL(EraseImage, x.id)

struct SaveOperation {
  OperationStatus operation;
};
BANGER_INTERNAL(SaveOperation, x.operation)

/// The end of a VM operation as one group commit (all or nothing): the VM's
/// record as the operation left it (`save_vm`), or its removal (`erase_vm`),
/// or neither (nothing changed), with the operation's final status. One
/// commit instead of one for the record and one for the operation.
struct SaveOutcome {
  bool save_vm = false;
  bool erase_vm = false;
  VmRecord vm; ///< erase_vm: only the id counts
  OperationStatus operation;
};
BANGER_INTERNAL(SaveOutcome, x.save_vm, x.erase_vm, x.vm, x.operation)

struct LoadOperation {
  std::string op_id;
};
BANGER_INTERNAL(LoadOperation, x.op_id)

/// The name owner's changes to its table (cluster/name_table.hpp), one
/// group commit: all or nothing, durable before the Ack, so the owner
/// replies to a reserve or bind only once a restart would remember it.
struct SaveNames {
  std::vector<NameBinding> upsert;
  std::vector<std::string> erase;
};
BANGER_INTERNAL(SaveNames, x.upsert, x.erase)

/// The only owner of the SQLite connection; writes are group-committed.
using store_actor = caf::typed_actor<
  caf::replies_to<SaveVm>::with<Ack>,
  caf::replies_to<EraseVm>::with<Ack>,
  caf::replies_to<SaveImage>::with<Ack>,
  caf::replies_to<EraseImage>::with<Ack>,
  caf::replies_to<SaveOperation>::with<Ack>,
  caf::replies_to<SaveOutcome>::with<Ack>,
  caf::replies_to<SaveNames>::with<Ack>,
  caf::replies_to<LoadOperation>::with<OperationStatus>>;

// -- operations actor ----------------------------------------------------------

/// Progress of a running operation, sent by whoever runs it. `recorded`: the
/// final status is durable already (SaveOutcome); the operations actor only
/// keeps it for polls instead of saving it again.
struct OpProgress {
  OperationStatus status;
  bool recorded = false;
};
BANGER_INTERNAL(OpProgress, x.status, x.recorded)

using operations_actor = caf::typed_actor<
  caf::reacts_to<OpProgress>,
  caf::replies_to<OpStatusRequest>::with<OperationStatus>>;

/// Where the operations actor passes every OpProgress on (the events actor).
using progress_watcher = caf::typed_actor<caf::reacts_to<OpProgress>>;

// -- node <-> vm actors ----------------------------------------------------------

/// A VM actor tells the directory its record changed (listing); the
/// directory passes it on to the node (state counts).
struct VmChanged {
  VmRecord vm;
  std::string op_id = {}; ///< the operation that changed it, "" if none (for events)
};
BANGER_INTERNAL(VmChanged, x.vm, x.op_id)

/// A VM actor tells the directory it deleted its record and is exiting; the
/// directory frees its name and passes it on to the node (its address).
struct VmRetired {
  std::string id;
  std::string name; ///< filled in by the directory, which knew it
};
BANGER_INTERNAL(VmRetired, x.id, x.name)

/// The node hands a freshly recorded VM to its actor to finish creating it
/// (writable rootfs, then optionally start).
struct VmCreateWork {
  Envelope env;
  std::string image_rootfs;
  bool start = false;
  bool wait = false;
  bool no_wait = false;
  std::uint64_t disk_bytes = 0; ///< VmSpec::disk_bytes
  /// The operation as the node ran it so far (its stages come first).
  OperationStatus so_far;
};
BANGER_INTERNAL(VmCreateWork, x.env, x.image_rootfs, x.start, x.wait, x.no_wait, x.disk_bytes,
                x.so_far)

/// A clone's first operation (node -> the clone's new actor): its rootfs is
/// made from the image, then the source's own actor copies the guest state
/// and disk in (VmCloneOut), then the clone restores it and takes its own
/// identity. `source` is the source's vm_actor (a plain handle here: this
/// message is part of vm_actor's own interface).
struct VmCloneWork {
  Envelope env;
  caf::actor source;
  std::string source_name;
  std::string snapshot; ///< empty: the source as it is now
  std::string image_rootfs;
  OperationStatus so_far;
};
BANGER_INTERNAL(VmCloneWork, x.env, x.source, x.source_name, x.snapshot, x.image_rootfs, x.so_far)

/// The clone -> its source (queued like any operation of the source):
/// write snapshot `snapshot` (empty: the running or paused guest, paused
/// meanwhile) into the clone's VM directory as a suspended state, and the
/// disk over the clone's rootfs. Paths come from `clone_id` and this
/// host's layout, never from the message. Replies with the clone's saved
/// state, sealed and measured.
struct VmCloneOut {
  Envelope env;
  std::string snapshot;
  std::string clone_id;
};
BANGER_INTERNAL(VmCloneOut, x.env, x.snapshot, x.clone_id)

/// Recovery after a daemon restart: the VM actor reconciles its record with
/// the host (adopt a live VMM, or clean up and mark stopped).
struct VmReconcile {
  Envelope env;
  HelperInventory inventory;
  /// operation_tick() when the inventory was asked for. An operation of the
  /// VM that finished after it knows the host better than this inventory.
  std::uint64_t asked_at = 0;
};
BANGER_INTERNAL(VmReconcile, x.env, x.inventory, x.asked_at)

/// Where a VM actor reports about itself: its record changed, or it deleted
/// its record and is exiting. The VM actor knows no more of its owner.
using vm_events_actor = caf::typed_actor<caf::reacts_to<VmChanged>, caf::reacts_to<VmRetired>>;

// -- agent link: a VM's guest agent (actors/agent_link.hpp) -------------------------

/// Replies when the agent has said hello on this VMM's stream (at once if
/// it has), or with agent_unavailable at the deadline.
struct AgentWait {
  std::string op_id;
  std::int64_t timeout_ms = 0;
};
BANGER_INTERNAL(AgentWait, x.op_id, x.timeout_ms)

struct AgentHello {
  std::string version;
  std::string boot_id;
};
BANGER_INTERNAL(AgentHello, x.version, x.boot_id)

/// A clone's new identity, applied by the agent (agent::Identity).
struct AgentIdentity {
  std::string op_id;
  std::string hostname;
  std::string mac;
  std::string address; ///< "172.16.0.7/24"
  std::string gateway;
  std::vector<std::string> dns;
  bool new_machine_id = true;
  bool new_host_keys = true;
  std::string seed; ///< host random bytes for the guest's kernel pool (agent::Identity::seed)
};
BANGER_INTERNAL(AgentIdentity, x.op_id, x.hostname, x.mac, x.address, x.gateway, x.dns,
                x.new_machine_id, x.new_host_keys, x.seed)

/// The agent said hello: the link tells its VM actor, which records the
/// agent's version.
struct AgentUp {
  std::string version;
};
BANGER_INTERNAL(AgentUp, x.version)

/// The VMM ended: the link answers what waits with `why` and exits.
struct AgentClose {
  std::string why;
};
BANGER_INTERNAL(AgentClose, x.why)

using agent_link_actor = caf::typed_actor<
  caf::reacts_to<AgentClose>,
  caf::replies_to<AgentWait>::with<AgentHello>,
  caf::replies_to<AgentIdentity>::with<Ack>,
  caf::replies_to<VmExecRequest>::with<VmSessionStarted>,
  caf::replies_to<VmSessionIoRequest>::with<VmSessionIo>,
  caf::replies_to<VmFileReadRequest>::with<VmSessionStarted>,
  caf::replies_to<VmFileWriteRequest>::with<VmFileWritten>>;

/// One VM: serializes lifecycle requests, answers show at once.
using vm_actor = caf::typed_actor<
  caf::replies_to<VmExecRequest>::with<VmSessionStarted>,
  caf::replies_to<VmSessionIoRequest>::with<VmSessionIo>,
  caf::replies_to<VmFileReadRequest>::with<VmSessionStarted>,
  caf::replies_to<VmFileWriteRequest>::with<VmFileWritten>,
  caf::replies_to<VmShowRequest>::with<VmRecord>,
  caf::replies_to<VmActionRequest>::with<VmRecord>,
  caf::replies_to<VmCreateWork>::with<VmRecord>,
  caf::replies_to<VmCloneWork>::with<VmRecord>,
  caf::replies_to<VmCloneOut>::with<SavedState>,
  caf::replies_to<VmReconcile>::with<VmRecord>,
  caf::reacts_to<VmmExited>>;

// -- directory ---------------------------------------------------------------------

/// Which VM actor a ref (exact id, exact name, unique id prefix) names.
struct VmLookup {
  Envelope env;
  std::string ref;
};
BANGER_INTERNAL(VmLookup, x.env, x.ref)

struct VmHandle {
  std::string id;
  vm_actor actor;
};
BANGER_INTERNAL(VmHandle, x.id, x.actor)

/// Name reservation, step 1: `name` is held for the VM `id` about to be
/// created (already_exists if any VM holds or has reserved it). A reserved
/// name resolves to busy until it is committed.
struct NameReserve {
  std::string name;
  std::string id;
};
BANGER_INTERNAL(NameReserve, x.name, x.id)

/// Step 2, after the record is durable: the name now resolves to `actor`.
struct NameCommit {
  std::string name;
  VmRecord vm;
  vm_actor actor;
};
BANGER_INTERNAL(NameCommit, x.name, x.vm, x.actor)

/// Or step 2 when creating failed (persisting, limits, addresses): the
/// reservation of `id` is dropped and the name is free again.
struct NameRelease {
  std::string name;
  std::string id;
};
BANGER_INTERNAL(NameRelease, x.name, x.id)

/// The directory passes every VmChanged/VmRetired on to `node` (and to
/// every other watcher: the cluster layer learns deletions this way).
struct DirectoryWatch {
  vm_events_actor node;
};
BANGER_INTERNAL(DirectoryWatch, x.node)

/// Ref -> VM actor, the listing, and name uniqueness. The VM actors report
/// to it first (VmDeps::events), so a VM's reply to a request never reaches
/// anyone before the directory knows the outcome: a show after an rm is
/// not_found, never a dead actor. Callers resolve, then send to the VM actor
/// themselves (docs/architecture.md).
using directory_actor = caf::typed_actor<
  caf::replies_to<VmLookup>::with<VmHandle>,
  caf::replies_to<VmListRequest>::with<VmList>,
  caf::replies_to<NameReserve>::with<Ack>,
  caf::replies_to<NameCommit>::with<Ack>,
  caf::replies_to<NameRelease>::with<Ack>,
  caf::reacts_to<DirectoryWatch>,
  caf::reacts_to<VmChanged>,
  caf::reacts_to<VmRetired>>;

// -- image catalog -----------------------------------------------------------------

/// An importer (actors/image_import_actor.hpp) tells the catalog how far
/// the copy of `op_id` is.
struct ImportProgress {
  std::string op_id;
  std::string file;
  std::uint64_t bytes_done = 0;
};
BANGER_INTERNAL(ImportProgress, x.op_id, x.file, x.bytes_done)

/// The importer's last word: the files are in place (error_code 0) or it
/// failed and removed what it wrote.
struct ImportFinished {
  std::string op_id;
  std::uint8_t error_code = 0; ///< Errc
  std::string error_message;
  std::string methods;
};
BANGER_INTERNAL(ImportFinished, x.op_id, x.error_code, x.error_message, x.methods)

/// Images by id and name; an image a VM uses cannot be removed (asked of
/// the directory's listing). Adds import files outside <home>/images on an
/// importer actor of their own and answer status polls meanwhile.
using images_actor = caf::typed_actor<
  caf::replies_to<ImageAddRequest>::with<Image>,
  caf::replies_to<ImageAddBeginRequest>::with<OpAccepted>,
  caf::replies_to<ImageAddStatusRequest>::with<ImageAddStatus>,
  caf::reacts_to<ImportProgress>,
  caf::reacts_to<ImportFinished>,
  caf::replies_to<ImageListRequest>::with<ImageList>,
  caf::replies_to<ImageShowRequest>::with<Image>,
  caf::replies_to<ImageRemoveRequest>::with<Image>>;

// -- node --------------------------------------------------------------------------

/// What this host can still give VMs, for placement and HostPong. Asked
/// every second per peer: the node answers from running totals.
struct HostCapacityRequest {};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, HostCapacityRequest&) {
  return f(caf::meta::type_name("banger.internal.HostCapacityRequest"));
}

/// `vms`: every VM on this host. Used is what VMs starting, running or
/// stopping were given (a VMM exists or is being made); free never goes
/// below 0, however far vCPUs are overcommitted.
struct HostCapacity {
  std::uint32_t vms = 0;
  std::uint32_t cpus_total = 0;       ///< online CPUs (0: unknown)
  std::uint32_t cpus_free = 0;
  std::uint64_t memory_total_mib = 0; ///< MemTotal (0: unknown)
  std::uint64_t memory_free_mib = 0;

  bool operator==(const HostCapacity&) const = default;
};
BANGER_INTERNAL(HostCapacity, x.vms, x.cpus_total, x.cpus_free, x.memory_total_mib,
                x.memory_free_mib)

/// This host: guest address, MAC and CID allocation, VM spec limits,
/// spawning and supervising VM actors (their vm_events, by way of the
/// directory), recovery after a
/// restart or a helper reconnect. DaemonStatusRequest answers the VM counts
/// by state, HostCapacityRequest what is left for more VMs.
using node_actor = caf::typed_actor<
  caf::replies_to<VmCreateRequest>::with<VmRecord>,
  caf::replies_to<VmCreateBeginRequest>::with<OpAccepted>,
  caf::replies_to<VmCloneRequest>::with<VmRecord>,
  caf::replies_to<DaemonStatusRequest>::with<DaemonStatus>,
  caf::replies_to<HostCapacityRequest>::with<HostCapacity>,
  caf::reacts_to<VmChanged>,
  caf::reacts_to<VmRetired>>;

// -- cluster -----------------------------------------------------------------------

/// The cluster layer of this host (cluster/cluster_actor.hpp), as control
/// sees it: the host actor that peers reach over their host links, plus
/// the cluster-wide listing and status. Control sends VM requests here
/// with the local token in Envelope::credential (meaning "cluster-wide,
/// from this host's front door"); a peer's token means "this host only".
/// Also a VM events watcher of the directory (deleted VMs free their
/// names at the names' owners).
using cluster_actor = host_actor::extend<caf::replies_to<ClusterStatusRequest>::with<ClusterStatus>,
                                         caf::replies_to<VmListRequest>::with<VmList>,
                                         caf::reacts_to<VmChanged>, caf::reacts_to<VmRetired>>;

// -- events ------------------------------------------------------------------------

/// This host's events (actors/events_actor.hpp): it watches the directory
/// (VmChanged, VmRetired) and the operations actor (OpProgress), keeps the
/// last daemon.event-buffer events and answers readers' polls.
using events_actor = caf::typed_actor<caf::reacts_to<VmChanged>, caf::reacts_to<VmRetired>,
                                      caf::reacts_to<OpProgress>,
                                      caf::replies_to<EventsRequest>::with<EventBatch>>;

/// `banger doctor`: one-shot, answers one DoctorRequest (actors/doctor.hpp).
using doctor_actor = caf::typed_actor<caf::replies_to<DoctorRequest>::with<DoctorReport>>;

#undef BANGER_INTERNAL

} // namespace banger
