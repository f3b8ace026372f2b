// What banger says to Firecracker's API, as data: the configuration calls in
// order, the start and shutdown actions, and how a reply is judged. The VM
// actor sends these through vmm_io; nothing here does I/O.
#pragma once

#include "actors/internal_protocol.hpp"
#include "messages/records.hpp"
#include "messages/result.hpp"

#include <chrono>
#include <string>
#include <vector>

namespace banger::firecracker {

inline constexpr std::chrono::milliseconds api_timeout{10000};

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

/// 2xx is success; anything else becomes vmm_failed carrying Firecracker's
/// fault_message (or the raw body when it is not the documented shape).
Status judge(const HttpCall& call, const HttpReply& reply);

} // namespace banger::firecracker
