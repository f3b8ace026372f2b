// Requests and replies between the CLI, the daemon and the helper. Every
// request starts with an Envelope; every reply is a record or one of the small
// reply structs here. Lists travel wrapped in a struct so each wire type has
// exactly one registered name.
#pragma once

#include "messages/envelope.hpp"
#include "messages/records.hpp"

#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace banger {

#define BANGER_INSPECT(Type, ...)                                              \
  template <class Inspector>                                                   \
  typename Inspector::result_type inspect(Inspector& f, Type& x) {             \
    return f(caf::meta::type_name("banger." #Type), __VA_ARGS__);              \
  }

// -- generic replies ---------------------------------------------------------

/// Success without a payload; echoes the op_id the work ran under.
struct Ack {
  std::string op_id;

  bool operator==(const Ack&) const = default;
};
BANGER_INSPECT(Ack, x.op_id)

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

  bool operator==(const ImageAddRequest&) const = default;
};
BANGER_INSPECT(ImageAddRequest, x.env, x.name, x.kernel_path, x.rootfs_path,
               x.initrd_path, x.boot_args)

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
  bool wait = false; ///< with start: also wait until the guest's SSH port answers

  bool operator==(const VmSpec&) const = default;
};
BANGER_INSPECT(VmSpec, x.name, x.image, x.cpus, x.memory_mib, x.start, x.wait)

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

  bool operator==(const VmList&) const = default;
};
BANGER_INSPECT(VmList, x.vms)

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
};

struct VmActionRequest {
  Envelope env;
  std::string ref;
  VmAction action = VmAction::start;
  std::string signal; ///< kill only; empty means TERM
  bool wait = false;  ///< start only: wait for the guest to be reachable

  bool operator==(const VmActionRequest&) const = default;
};
BANGER_INSPECT(VmActionRequest, x.env, x.ref, x.action, x.signal, x.wait)

struct DoctorRequest {
  Envelope env;
  bool fix = false;

  bool operator==(const DoctorRequest&) const = default;
};
BANGER_INSPECT(DoctorRequest, x.env, x.fix)

/// Something on the host that disagrees with the records.
struct DoctorFinding {
  std::string kind;   ///< "tap", "rootfs", "socket", "process", "record"
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

// -- helper interface: bangerd -> banger-helper ------------------------------

struct HelperInfoRequest {
  Envelope env;

  bool operator==(const HelperInfoRequest&) const = default;
};
BANGER_INSPECT(HelperInfoRequest, x.env)

struct HelperInfo {
  std::string version;
  std::vector<std::string> rootfs_strategies; ///< e.g. {"reflink", "copy"}
  std::string bridge;
  std::string vmm_kind;
  std::string accel; ///< qemu's accelerator and why, e.g. "tcg (auto: ...)"

  bool operator==(const HelperInfo&) const = default;
};
BANGER_INSPECT(HelperInfo, x.version, x.rootfs_strategies, x.bridge,
               x.vmm_kind, x.accel)

/// Ensure the bridge and its gateway address exist (from helper config).
struct BridgeEnsureRequest {
  Envelope env;

  bool operator==(const BridgeEnsureRequest&) const = default;
};
BANGER_INSPECT(BridgeEnsureRequest, x.env)

struct TapCreateRequest {
  Envelope env;
  std::string vm_id;
  std::string tap; ///< must be tap_name(vm_id)

  bool operator==(const TapCreateRequest&) const = default;
};
BANGER_INSPECT(TapCreateRequest, x.env, x.vm_id, x.tap)

struct TapDeleteRequest {
  Envelope env;
  std::string vm_id;
  std::string tap;

  bool operator==(const TapDeleteRequest&) const = default;
};
BANGER_INSPECT(TapDeleteRequest, x.env, x.vm_id, x.tap)

/// Clone an image's rootfs into the VM's directory.
struct RootfsPrepareRequest {
  Envelope env;
  std::string vm_id;
  std::string image_rootfs; ///< must resolve beneath <home>/images/

  bool operator==(const RootfsPrepareRequest&) const = default;
};
BANGER_INSPECT(RootfsPrepareRequest, x.env, x.vm_id, x.image_rootfs)

struct RootfsPrepared {
  std::string path;
  std::string strategy; ///< "reflink", "dm-snapshot" or "copy"

  bool operator==(const RootfsPrepared&) const = default;
};
BANGER_INSPECT(RootfsPrepared, x.path, x.strategy)

struct RootfsReleaseRequest {
  Envelope env;
  std::string vm_id;

  bool operator==(const RootfsReleaseRequest&) const = default;
};
BANGER_INSPECT(RootfsReleaseRequest, x.env, x.vm_id)

/// Starts a VM's runtime on the host in one request: its tap (on the
/// bridge; a queued removal of it is cancelled), its runtime directory and
/// the VMM process. All or nothing: a failure removes what this request made.
/// Typed fields the helper turns into a VMM command line itself; there is no
/// way to pass an argv. Kernel and initrd are checked by the helper for
/// every kind (beneath <home>/images), before anything is launched; for
/// firecracker the daemon then configures only the paths VmmLaunched hands
/// back.
struct VmmLaunchRequest {
  Envelope env;
  std::string vm_id;
  std::uint32_t cpus = 1;
  std::uint32_t memory_mib = 128;
  std::string kernel_path; ///< every kind
  std::string initrd_path; ///< every kind; empty: none
  std::string boot_args;   ///< qemu only
  std::string tap;         ///< qemu only (the helper makes tap_name(vm_id) either way)
  std::string mac;         ///< qemu only

  bool operator==(const VmmLaunchRequest&) const = default;
};
BANGER_INSPECT(VmmLaunchRequest, x.env, x.vm_id, x.cpus, x.memory_mib,
               x.kernel_path, x.initrd_path, x.boot_args, x.tap, x.mac)

/// The VMM, and the files it is to be given as the helper checked them:
/// the daemon configures Firecracker with these, never its own copies.
struct VmmLaunched {
  std::int32_t pid = 0;
  std::uint64_t start_time = 0; ///< /proc/<pid>/stat starttime
  std::string api_socket;       ///< Firecracker API or QMP socket
  std::string log_path;
  std::string kernel_path; ///< canonical, beneath <home>/images
  std::string initrd_path; ///< canonical, beneath <home>/images; empty: none
  std::string rootfs_path; ///< <home>/state/vms/<id>/rootfs.img
  std::string vsock_path;  ///< <home>/run/vms/<id>/vsock.sock

  bool operator==(const VmmLaunched&) const = default;
};
BANGER_INSPECT(VmmLaunched, x.pid, x.start_time, x.api_socket, x.log_path,
               x.kernel_path, x.initrd_path, x.rootfs_path, x.vsock_path)

struct VmmSignalRequest {
  Envelope env;
  std::string vm_id;
  std::int32_t pid = 0;
  std::uint64_t start_time = 0;
  std::string signal; ///< name or number from the allow-list

  bool operator==(const VmmSignalRequest&) const = default;
};
BANGER_INSPECT(VmmSignalRequest, x.env, x.vm_id, x.pid, x.start_time,
               x.signal)

/// Removes a VM's runtime from the host: its runtime directory and its tap
/// (the tap through the helper's reaper, see privileged/host/tap_reaper.hpp).
/// Either may already be gone. The VMM must have exited (or been killed).
struct RuntimeRemoveRequest {
  Envelope env;
  std::string vm_id;

  bool operator==(const RuntimeRemoveRequest&) const = default;
};
BANGER_INSPECT(RuntimeRemoveRequest, x.env, x.vm_id)

/// What exists on the host: used by recovery and doctor.
struct HelperInventoryRequest {
  Envelope env;

  bool operator==(const HelperInventoryRequest&) const = default;
};
BANGER_INSPECT(HelperInventoryRequest, x.env)

struct VmmProcess {
  std::string vm_id;
  std::int32_t pid = 0;
  std::uint64_t start_time = 0;

  bool operator==(const VmmProcess&) const = default;
};
BANGER_INSPECT(VmmProcess, x.vm_id, x.pid, x.start_time)

struct HelperInventory {
  std::vector<std::string> taps;
  std::vector<VmmProcess> vmms;
  std::vector<std::string> run_dirs; ///< VM ids with a runtime directory
  std::vector<std::string> vm_dirs;  ///< VM ids with a VM directory

  bool operator==(const HelperInventory&) const = default;
};
BANGER_INSPECT(HelperInventory, x.taps, x.vmms, x.run_dirs, x.vm_dirs)

#undef BANGER_INSPECT

} // namespace banger
