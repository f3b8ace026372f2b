// The two files of a stub snapshot, as Firecracker's are laid out: a small
// state file that describes the machine and is sealed with a CRC-64, and a
// memory file of exactly the guest's size.
//
// State file (text, so a test or a person can read it):
//
//   fc-stub snapshot v10.0.0            header: magic and snapshot version
//   {"machine-config": ..., ...}        the machine, its devices, the guest
//   crc64 0123456789abcdef              over every byte above this line
//
// Memory file: mem_size_mib MiB, sparse; each MiB starts with a 128-byte
// record, one line naming the guest's boot, that MiB's index and the guest's
// uptime, so a restore proves the memory it loaded is the memory that was
// saved, whole.
#pragma once

#include "tools/fc-stub/decoder.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace banger::fc_stub {

/// What the stub's "guest" keeps in its memory: which boot it is (a cold
/// boot makes a new one, a restore continues the saved one) and how long it
/// has run, paused time excluded.
struct GuestMemory {
  std::string boot_id; // 16 lowercase hex digits
  std::uint64_t uptime_ms = 0;
};

/// A fresh boot id from the kernel's random source.
std::string new_boot_id();

/// The state file's bytes for `state` (an object: the VM configuration as
/// GET /vm/config shows it, plus "guest": {"boot_id": ...}).
std::string encode_state(const OrderedJson& state);

/// Reads a state file's bytes into `state`. On failure returns the reason in
/// the words of Firecracker's SnapshotError ("CRC64 validation failed", ...).
std::optional<std::string> decode_state(std::string_view contents,
                                        OrderedJson& state);

/// Writes the memory file at `path` for a guest of `memory_mib` MiB. On
/// failure returns the reason in the words of CreateSnapshotError.
std::optional<std::string> write_memory(const std::string& path,
                                        std::uint64_t memory_mib,
                                        const GuestMemory& guest);

/// Reads the memory file at `path` back, checking its size and every MiB's
/// line against `boot_id`; fills `guest`. On failure returns the reason in
/// the words of GuestMemoryFromFileError.
std::optional<std::string> read_memory(const std::string& path,
                                       std::uint64_t memory_mib,
                                       const std::string& boot_id,
                                       GuestMemory& guest);

} // namespace banger::fc_stub
