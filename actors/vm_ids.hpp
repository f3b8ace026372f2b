// New VM ids. A VM's tap is named after the first 8 hex digits of its id
// (tap_name(), IFNAMSIZ leaves no room for more), and tap names are
// host-wide: two VMs of one installation whose ids share those digits, or a
// VM of another installation (another home on the same host), would want
// the same device. So a new id is drawn until its tap name is free: no
// record of this installation has the same short id and no network device
// of that name exists on the host. banger-helper still refuses a tap it
// cannot prove its own (privileged/host/tap_owner.hpp), so a race with
// another installation minting at the same moment fails clearly instead of
// sharing a device.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>

namespace banger {

/// Whether some id in `ids` (ordered) starts with `prefix`.
template <class Value>
bool has_prefix(const std::map<std::string, Value>& ids, std::string_view prefix) {
  auto it = ids.lower_bound(std::string(prefix));
  return it != ids.end() && std::string_view(it->first).substr(0, prefix.size()) == prefix;
}

/// True if a network device called `name` exists on this host.
bool device_exists(const std::string& name);

/// Draws ids with `mint` until one has a free tap name: `short_id_taken`
/// says whether a record already uses its short id, `device_taken` whether
/// the host has a device of its tap name. Gives up after `attempts` draws
/// (returns the empty string): the host is full of banger taps.
std::string mint_vm_id(const std::function<std::string()>& mint,
                       const std::function<bool(const std::string&)>& short_id_taken,
                       const std::function<bool(const std::string&)>& device_taken,
                       int attempts = 64);

} // namespace banger
