// Names for VMs created without --name: "adjective-noun" ("brisk-otter"),
// easier to read, type and say than an id. Drawn at random, so unique only
// by luck; the node reserves a drawn name in the directory like a chosen
// one and draws again when it is taken, with a number appended after a few
// misses ("brisk-otter-27") so a crowded host still finds a free one. Every
// drawn name passes is_valid_name(), the rule for names a user gives.
#pragma once

#include <cstdint>
#include <string>

namespace banger {

/// The name for draw `draw` of attempt `attempt` (0-based): from attempt 4
/// on a number 2-999 is appended.
std::string readable_vm_name(std::uint64_t draw, int attempt);

/// A random draw (from the OS's random source).
std::uint64_t random_draw();

/// Attempts before the node gives up on a free generated name.
inline constexpr int vm_name_attempts = 16;

} // namespace banger
