#include "actors/node_host.hpp"

#include "messages/home_layout.hpp"

#include <algorithm>

namespace banger {

std::optional<std::uint32_t> AddressPool::allocate() {
  auto capacity = subnet_.guest_capacity();
  if (taken_.size() < capacity)
    taken_.resize(capacity, false);
  for (std::uint32_t tried = 0; tried < capacity; ++tried) {
    auto index = (next_ + tried) % capacity;
    if (!taken_[index]) {
      taken_[index] = true;
      next_ = index + 1;
      return index;
    }
  }
  return std::nullopt;
}

std::optional<std::uint32_t> AddressPool::take(const std::string& ip) {
  auto parsed = parse_ipv4(ip);
  if (!parsed || !subnet_.contains(*parsed) || *parsed < subnet_.guest(0))
    return std::nullopt;
  auto index = *parsed - subnet_.guest(0);
  if (taken_.size() <= index)
    taken_.resize(std::max<std::size_t>(index + 1, subnet_.guest_capacity()), false);
  taken_[index] = true;
  return index;
}

void AddressPool::release(std::uint32_t index) {
  if (index < taken_.size())
    taken_[index] = false;
}

void AddressPool::assign(std::uint32_t index, VmRuntime& runtime) const {
  auto ip = subnet_.guest(index);
  runtime.guest_ip = format_ipv4(ip);
  runtime.mac = mac_for(ip);
  runtime.vsock_cid = cid_for(subnet_, ip);
}

std::size_t AddressPool::in_use() const {
  return static_cast<std::size_t>(std::count(taken_.begin(), taken_.end(), true));
}

Result<Sizing> size_of(const VmSpec& spec) {
  Sizing s;
  s.cpus = spec.cpus == 0 ? default_cpus : spec.cpus;
  if (auto ok = check_cpus(s.cpus); !ok)
    return ok.error();
  s.memory_mib = spec.memory_mib == 0 ? default_memory_mib : spec.memory_mib;
  if (auto ok = check_memory_mib(s.memory_mib); !ok)
    return ok.error();
  return s;
}

InventorySlices slice_inventory(const HelperInventory& inventory, const std::set<std::string>& vm_ids) {
  InventorySlices out;
  for (auto& id : vm_ids)
    out.by_vm[id];
  // A tap is named after the first digits of its VM's id (tap_name).
  std::map<std::string, std::string> by_tap;
  for (auto& id : vm_ids)
    by_tap.emplace(tap_name(id), id);
  for (auto& tap : inventory.taps) {
    if (auto it = by_tap.find(tap); it != by_tap.end())
      out.by_vm[it->second].taps.push_back(tap);
    else
      out.leftover.taps.push_back(tap);
  }
  for (auto& vmm : inventory.vmms) {
    if (vm_ids.count(vmm.vm_id))
      out.by_vm[vmm.vm_id].vmms.push_back(vmm);
    else
      out.leftover.vmms.push_back(vmm);
  }
  for (auto& dir : inventory.run_dirs) {
    if (vm_ids.count(dir))
      out.by_vm[dir].run_dirs.push_back(dir);
    else
      out.leftover.run_dirs.push_back(dir);
  }
  for (auto& id : inventory.port_vms) {
    if (vm_ids.count(id))
      out.by_vm[id].port_vms.push_back(id);
    else
      out.leftover.port_vms.push_back(id);
  }
  return out;
}

} // namespace banger
