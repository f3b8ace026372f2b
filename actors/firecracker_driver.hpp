// What banger says to Firecracker's API, as data: the configuration calls in
// order, the start and shutdown actions, pause and resume, the snapshot
// calls, and how a reply is judged. The VM actor sends these through vmm_io;
// nothing here does I/O.
#pragma once

#include "actors/internal_protocol.hpp"
#include "messages/records.hpp"
#include "messages/result.hpp"

#include <chrono>
#include <string>
#include <vector>

namespace banger::firecracker {

inline constexpr std::chrono::milliseconds api_timeout{10000};

/// The guest's one network interface: configured under this id, and named
/// by it again when a snapshot's tap is overridden at load.
inline constexpr const char* guest_iface = "eth0";

struct BootConfig {
  std::string kernel_path;
  std::string initrd_path;
  std::string boot_args; ///< full kernel command line
  std::string rootfs_path;
  std::string tap;
  std::string mac;
  std::uint32_t cpus = 1;
  std::uint32_t memory_mib = 128;
  std::uint32_t vsock_cid = 0;
  std::string vsock_path;
};

/// PUT /machine-config, /boot-source, /drives/rootfs,
/// /network-interfaces/eth0, /vsock — in that order.
std::vector<HttpCall> configure_calls(const std::string& api_socket, const BootConfig& boot);

HttpCall instance_start(const std::string& api_socket);
HttpCall send_ctrl_alt_del(const std::string& api_socket);

/// PATCH /vm {"state": "Paused"} / {"state": "Resumed"}.
HttpCall pause_vm(const std::string& api_socket);
HttpCall resume_vm(const std::string& api_socket);

/// PUT /snapshot/create, a Full snapshot into `to`'s state and memory files
/// (the guest is paused). Firecracker answers once both files are written,
/// so the time allowed grows with the guest's memory.
HttpCall create_snapshot(const std::string& api_socket, const SavedState& to,
                         std::uint32_t memory_mib);

/// What a fresh VMM is told when it loads a saved guest.
struct RestoreConfig {
  std::string state_path;
  std::string memory_path;
  std::string tap;        ///< the VM's tap now (guest_iface's backend)
  std::string vsock_path; ///< the vsock socket the helper checked at launch
};

/// PUT /snapshot/load: the first and only configuration of a fresh VMM. The
/// guest stays paused (resume_vm false: the caller resumes it once the
/// record says the state is consumed), on the VM's tap and vsock socket,
/// with its clock advanced by the time it spent suspended.
HttpCall load_snapshot(const std::string& api_socket, const RestoreConfig& restore);

/// 2xx is success; anything else becomes vmm_failed carrying Firecracker's
/// fault_message (or the raw body when it is not the documented shape).
Status judge(const HttpCall& call, const HttpReply& reply);

} // namespace banger::firecracker
