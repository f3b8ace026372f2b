// Fault injection. The daemon under test builds the firecracker command line
// itself, so tests can only reach the stub through its environment and files;
// every fault is therefore settable three ways, strongest first:
//   1. a --stub-<name> flag,
//   2. an environment variable FC_STUB_<NAME>,
//   3. the faults file named by FC_STUB_FAULTS (or --stub-faults): lines
//      "<vm-id or *> <name> [argument]", '#' starts a comment; a line for this
//      VM's --id beats a '*' line. The file is read once at start-up.
// fail-endpoint entries from all three sources add up.
#pragma once

#include "tools/fc-stub/options.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace banger::fc_stub {

/// "METHOD:PATH[:ACTION]", each part an fnmatch(3) glob.
struct EndpointFault {
  std::string text; // as written, echoed in the fault message
  std::string method;
  std::string path;
  std::string action; // empty: any request, with or without an action
};

struct Faults {
  std::vector<EndpointFault> failing_endpoints;
  bool ignore_ctrl_alt_del = false;
  std::int64_t shutdown_delay_ms = 20;
  std::optional<std::int64_t> crash_after_boot_ms;
  std::int64_t socket_delay_ms = 0;
  std::optional<int> exit_before_socket;
  /// At InstanceStart: log an error line, exit with this code, no answer.
  std::optional<int> exit_on_start;
  /// After InstanceStart: the "guest" powers off by itself.
  std::optional<std::int64_t> poweroff_after_boot_ms;
  std::int64_t response_delay_ms = 0;
  std::string request_log_path;

  /// The configured fault that fails this request, if any.
  const EndpointFault* failing(std::string_view method, std::string_view path,
                               std::string_view action) const;
};

using EnvironmentLookup = std::function<const char*(const char*)>;

/// Merges flags, environment and faults file. Returns an error text for
/// malformed values, unknown fault names or an unreadable faults file.
std::optional<std::string> load_faults(const Options& options,
                                       const EnvironmentLookup& environment,
                                       Faults& faults);

} // namespace banger::fc_stub
