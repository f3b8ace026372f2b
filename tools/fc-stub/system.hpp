// Small OS helpers shared by the stub: clocks, error texts in Rust's wording,
// and the way Firecracker dies when it panics.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace banger::fc_stub {

/// CLOCK_REALTIME in nanoseconds (request-log timestamps must be comparable
/// across processes).
std::int64_t realtime_ns();

/// CLOCK_MONOTONIC in milliseconds (timers).
std::int64_t monotonic_ms();

/// Formats an errno the way Rust's std::io::Error displays it, because the
/// fault messages Firecracker returns embed that text:
/// "No such file or directory (os error 2)".
std::string io_error_text(int error_number);

/// Firecracker is built with panic=abort: a panic prints a message on stderr
/// and the process dies of SIGABRT. The stub reproduces that exit.
[[noreturn]] void panic(std::string_view message);

/// Writes the whole buffer to a descriptor, retrying on EINTR and short
/// writes. Returns false on any other error.
bool write_all(int descriptor, std::string_view data);

/// Reads a whole file into `contents`. Returns 0, or the errno of a failed
/// open (a read error ends the file early, as it always has here).
int read_whole_file(const std::string& path, std::string& contents);

} // namespace banger::fc_stub
