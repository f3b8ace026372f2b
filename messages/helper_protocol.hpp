// The protocol between bangerd and banger-helper: the closed list of
// privileged operations. The helper trusts nothing in a request but the
// protocol version and the credential; every field is validated at its edge.
#pragma once

#include "messages/records.hpp"
#include "messages/wire.hpp"

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace banger {

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
  /// Grow the copy to this many bytes (never below the image's); 0: as is.
  std::uint64_t size_bytes = 0;

  bool operator==(const RootfsPrepareRequest&) const = default;
};
BANGER_INSPECT(RootfsPrepareRequest, x.env, x.vm_id, x.image_rootfs, x.size_bytes)

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
  /// The VMM is to load a saved state instead of booting (vm start of a
  /// suspended VM, vm restore): QEMU is started with `-S -incoming defer`
  /// and waits, paused, for its migration stream; Firecracker needs nothing on its
  /// command line (its state is loaded over the API).
  bool restore = false;

  bool operator==(const VmmLaunchRequest&) const = default;
};
BANGER_INSPECT(VmmLaunchRequest, x.env, x.vm_id, x.cpus, x.memory_mib,
               x.kernel_path, x.initrd_path, x.boot_args, x.tap, x.mac, x.restore)

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
  std::vector<std::string> port_vms; ///< VM ids with published-port rules

  bool operator==(const HelperInventory&) const = default;
};
BANGER_INSPECT(HelperInventory, x.taps, x.vmms, x.run_dirs, x.vm_dirs, x.port_vms)

/// A cluster peer's host link came up (docs/cluster.md): this host routes
/// the peer's guest subnet via the peer's cluster address, so its CLI's
/// ssh reaches the peer's guests, and turns IPv4 forwarding on, so the
/// peers reach this host's. Replaces any route to the same subnet: sent
/// again at every link-up, it changes nothing. The subnet must not overlap
/// this host's own guest subnet; the gateway must be a unicast address on
/// a network this host is directly connected to.
struct PeerRouteRequest {
  Envelope env;
  std::string subnet;  ///< the peer's guest subnet, "172.31.3.0/24"
  std::string gateway; ///< the peer's address in cluster.hosts, "10.77.0.3"

  bool operator==(const PeerRouteRequest&) const = default;
};
BANGER_INSPECT(PeerRouteRequest, x.env, x.subnet, x.gateway)

/// Publishes a VM's guest ports on the host (nftables DNAT to guest_ip),
/// replacing any rules the VM had. Refused as a whole: a port out of range,
/// a host port another VM has published, a guest IP outside the bridge's
/// subnet.
struct PortsPublishRequest {
  Envelope env;
  std::string vm_id;
  std::string guest_ip;
  std::vector<PortMapping> ports;

  bool operator==(const PortsPublishRequest&) const = default;
};
BANGER_INSPECT(PortsPublishRequest, x.env, x.vm_id, x.guest_ip, x.ports)

/// Removes a VM's published-port rules; none is not an error.
struct PortsUnpublishRequest {
  Envelope env;
  std::string vm_id;

  bool operator==(const PortsUnpublishRequest&) const = default;
};
BANGER_INSPECT(PortsUnpublishRequest, x.env, x.vm_id)

/// banger-helper: the closed list of privileged operations.
using helper_actor = caf::typed_actor<
  caf::replies_to<HelperInfoRequest>::with<HelperInfo>,
  caf::replies_to<TapDeleteRequest>::with<Ack>,
  caf::replies_to<RootfsPrepareRequest>::with<RootfsPrepared>,
  caf::replies_to<RootfsReleaseRequest>::with<Ack>,
  caf::replies_to<VmmLaunchRequest>::with<VmmLaunched>,
  caf::replies_to<VmmSignalRequest>::with<Ack>,
  caf::replies_to<RuntimeRemoveRequest>::with<Ack>,
  caf::replies_to<HelperInventoryRequest>::with<HelperInventory>,
  caf::replies_to<PeerRouteRequest>::with<Ack>,
  caf::replies_to<PortsPublishRequest>::with<Ack>,
  caf::replies_to<PortsUnpublishRequest>::with<Ack>>;

} // namespace banger
