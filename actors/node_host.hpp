// The node's CAF-free parts, kept apart so tests can drive them directly:
// guest address allocation (IP, and the MAC and vsock CID derived from it),
// the limits of a VM spec, and how recovery slices the helper's inventory of
// the host across this node's VMs.
#pragma once

#include "actors/network.hpp"
#include "messages/cli_protocol.hpp"
#include "messages/helper_protocol.hpp"
#include "messages/result.hpp"
#include "messages/vm_limits.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace banger {

/// Guest addresses of one subnet, handed out round robin so a freed address
/// is not reused at once.
class AddressPool {
public:
  explicit AddressPool(Subnet subnet) : subnet_(subnet) {}

  /// The next free index, marked taken; nullopt when the subnet is full.
  std::optional<std::uint32_t> allocate();
  /// Marks the index of `ip` taken (a VM recovered from the store); returns
  /// it, or nullopt for an address outside the subnet's guest range.
  std::optional<std::uint32_t> take(const std::string& ip);
  void release(std::uint32_t index);
  /// Fills guest_ip, mac and vsock_cid for index `index`.
  void assign(std::uint32_t index, VmRuntime& runtime) const;
  std::size_t in_use() const;

private:
  Subnet subnet_;
  std::vector<bool> taken_;
  std::uint32_t next_ = 0;
};


struct Sizing {
  std::uint32_t cpus = 0;
  std::uint32_t memory_mib = 0;
};

/// The spec's CPU and memory with defaults filled in, or invalid_argument.
Result<Sizing> size_of(const VmSpec& spec);

/// The inventory cut into one slice per known VM (every known VM gets one,
/// empty if the host has nothing of it) and what belongs to no VM.
struct InventorySlices {
  std::map<std::string, HelperInventory> by_vm;
  HelperInventory leftover; ///< taps, VMMs, runtime directories and port rules of no known VM
};

InventorySlices slice_inventory(const HelperInventory& inventory, const std::set<std::string>& vm_ids);

} // namespace banger
