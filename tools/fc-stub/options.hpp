// Firecracker v1.16.1's command line, parsed with the rules of its own
// utils::arg_parser (only "--name value" forms, --help/--version win over
// everything, the same error texts and exit code), plus the stub's --stub-*
// fault-injection flags.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace banger::fc_stub {

inline constexpr const char* firecracker_version = "1.16.1";
inline constexpr const char* default_api_socket = "/run/firecracker.socket";
inline constexpr const char* default_instance_id = "anonymous-instance";

struct Options {
  std::string api_socket = default_api_socket;
  std::string id = default_instance_id;
  std::optional<std::string> config_file;
  bool no_api = false;
  std::optional<std::string> log_path;
  std::optional<std::string> level;
  std::optional<std::string> module;
  bool show_level = false;
  bool show_log_origin = false;
  std::optional<std::string> metrics_path;
  bool boot_timer = false;
  std::optional<std::string> seccomp_filter;
  std::optional<std::string> seccomp_level; // pre-1.0 flag, accepted
  bool no_seccomp = false;
  std::optional<std::string> start_time_us;
  std::optional<std::string> start_time_cpu_us;
  std::optional<std::string> parent_cpu_time_us;
  std::string http_api_max_payload_size = "51200";
  std::optional<std::string> mmds_size_limit;
  std::optional<std::string> metadata;
  bool enable_pci = false;
  bool version = false;
  bool help = false;
  bool snapshot_version = false;
  std::optional<std::string> describe_snapshot;

  // fc-stub only.
  std::vector<std::string> stub_fail_endpoints;
  bool stub_ignore_ctrl_alt_del = false;
  std::optional<std::string> stub_shutdown_delay_ms;
  std::optional<std::string> stub_crash_after_boot_ms;
  std::optional<std::string> stub_socket_delay_ms;
  std::optional<std::string> stub_exit_before_socket;
  std::optional<std::string> stub_exit_on_start;
  std::optional<std::string> stub_poweroff_after_boot_ms;
  std::optional<std::string> stub_response_delay_ms;
  std::optional<std::string> stub_request_log;
  std::optional<std::string> stub_faults;
};

struct ArgumentError {
  std::string display; // "Found argument 'x' which wasn't expected, ..."
  std::string debug;   // Rust Debug form: UnexpectedArgument("x")
};

struct ParsedArguments {
  Options options;
  std::optional<ArgumentError> error;
};

ParsedArguments parse_arguments(int argument_count, char** arguments);

/// "Firecracker v1.16.1\n\n" followed by the argument list, as --help shows.
std::string help_text();

} // namespace banger::fc_stub
