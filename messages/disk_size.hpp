// `vm create --disk SIZE`: the size of a VM's root disk. The CLI parses the
// text, the daemon bounds the number (actors/admission.cpp) and the helper
// grows the VM's copy of the image's rootfs to it (privileged/host/rootfs.cpp,
// which also refuses a size below the image's). The guest's init grows its
// file system to the disk at boot (resize2fs in tools/image/build-image.sh).
#pragma once

#include "messages/result.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace banger {

inline constexpr std::uint64_t mib = 1024 * 1024;
/// The smallest root disk banger makes (the image builder's smallest rootfs).
inline constexpr std::uint64_t min_disk_bytes = 32 * mib;
/// The largest: the copy is sparse, but a guest that fills it fills the
/// host's disk; 2 TiB is beyond any image banger builds.
inline constexpr std::uint64_t max_disk_bytes = std::uint64_t{2} << 40;

/// "2G", "512M", "2048MiB", "1T" (binary units K, M, G, T, optionally
/// followed by "iB" or "B"; a unit is required) to bytes, which must be a
/// whole number of MiB within [min_disk_bytes, max_disk_bytes].
/// invalid_argument, naming what is accepted, otherwise.
Result<std::uint64_t> parse_disk_size(std::string_view text);

/// The bounds parse_disk_size enforces, for a size that arrives as a number
/// (the daemon's edge, the helper's).
Status check_disk_size(std::uint64_t bytes);

/// "2 GiB", "1536 MiB": the largest unit that divides `bytes` (>= MiB).
std::string format_disk_size(std::uint64_t bytes);

} // namespace banger
