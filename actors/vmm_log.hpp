// What a VMM's log (its stdout and stderr, and the guest's serial console)
// says about how it ended. A start that fails because the VMM exited reports
// the VMM's own last error lines instead of the socket error its exit caused
// ("Connection reset by peer"); an exit nobody asked for is a guest power-off
// when the guest kernel said so on its console. Only the part of the log
// written since the VMM was launched counts: the file keeps earlier boots.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace banger {

/// The log's size now (0 when it does not exist yet): where this launch's
/// output will start.
std::uint64_t log_size(const std::string& path);

/// The log from `offset` on, at most its last `max_bytes`.
std::string read_log_since(const std::string& path, std::uint64_t offset,
                           std::size_t max_bytes = 64 * 1024);

/// The last `max_lines` lines of `text` that report an error (error, cannot,
/// failed, panic, ...), else its last `max_lines` non-blank lines; joined
/// with "; ", each line trimmed and at most 300 bytes. Empty when `text` has
/// no line.
std::string last_error_lines(std::string_view text, std::size_t max_lines = 3);

/// How the guest kernel ended, from its console: "power off", "reboot" or
/// "halt" (the kernel's "reboot: Power down", "reboot: Restarting system",
/// "reboot: System halted" lines), or nullopt when it did not say.
std::optional<std::string> guest_shutdown(std::string_view text);

} // namespace banger
