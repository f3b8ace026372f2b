// banger's own known_hosts file: deleting a VM removes its guest's pinned
// host keys so a new VM reusing the IP is not refused.
#pragma once

#include "messages/result.hpp"

#include <filesystem>
#include <string>

namespace banger {

/// Removes every line whose host field names `host` (also as [host]:port).
/// A missing file is fine. Rewrites atomically (temp file + rename).
Status remove_host_key_pins(const std::filesystem::path& known_hosts, const std::string& host);

} // namespace banger
