#include "tools/fc-stub/options.hpp"

#include <algorithm>
#include <array>
#include <string_view>

namespace banger::fc_stub {
namespace {

struct Argument {
  std::string_view name;
  bool takes_value;
  std::string_view help;
  std::string_view default_value = {};
  bool allow_multiple = false;
  std::string_view requires_argument = {};
  std::string_view forbids_argument = {};
  bool stub_only = false;
};

// Sorted by name: Firecracker keeps its arguments in a BTreeMap, which fixes
// both the --help order and which conflict is reported first.
constexpr Argument arguments_table[] = {
    {.name = "api-sock",
     .takes_value = true,
     .help = "Path to unix domain socket used by the API.",
     .default_value = "/run/firecracker.socket"},
    {.name = "boot-timer",
     .takes_value = false,
     .help = "Whether or not to load boot timer device for logging elapsed "
             "time since InstanceStart command."},
    {.name = "config-file",
     .takes_value = true,
     .help = "Path to a file that contains the microVM configuration in JSON "
             "format."},
    {.name = "describe-snapshot",
     .takes_value = true,
     .help = "Print the data format version of the provided snapshot state "
             "file."},
    {.name = "enable-pci",
     .takes_value = false,
     .help = "Enables PCIe support."},
    {.name = "http-api-max-payload-size",
     .takes_value = true,
     .help = "Http API request payload max size, in bytes.",
     .default_value = "51200"},
    {.name = "id",
     .takes_value = true,
     .help = "MicroVM unique identifier.",
     .default_value = "anonymous-instance"},
    {.name = "level", .takes_value = true, .help = "Set the logger level."},
    {.name = "log-path",
     .takes_value = true,
     .help = "Path to a fifo or a file used for configuring the logger on "
             "startup."},
    {.name = "metadata",
     .takes_value = true,
     .help = "Path to a file that contains metadata in JSON format to add to "
             "the mmds."},
    {.name = "metrics-path",
     .takes_value = true,
     .help = "Path to a fifo or a file used for configuring the metrics on "
             "startup."},
    {.name = "mmds-size-limit",
     .takes_value = true,
     .help = "Mmds data store limit, in bytes."},
    {.name = "module",
     .takes_value = true,
     .help = "Set the logger module filter."},
    {.name = "no-api",
     .takes_value = false,
     .help = "Optional parameter which allows starting and using a microVM "
             "without an active API socket.",
     .requires_argument = "config-file"},
    {.name = "no-seccomp",
     .takes_value = false,
     .help = "Optional parameter which allows starting and using a microVM "
             "without seccomp filtering. Not recommended.",
     .forbids_argument = "seccomp-filter"},
    {.name = "parent-cpu-time-us",
     .takes_value = true,
     .help = "Parent process CPU time (wall clock, microseconds). This "
             "parameter is optional."},
    {.name = "seccomp-filter",
     .takes_value = true,
     .help = "Optional parameter which allows specifying the path to a custom "
             "seccomp filter. For advanced users.",
     .forbids_argument = "no-seccomp"},
    {.name = "seccomp-level",
     .takes_value = true,
     .help = "Seccomp level of Firecracker before v1.0; accepted and "
             "ignored by fc-stub.",
     .stub_only = true},
    {.name = "show-level",
     .takes_value = false,
     .help = "Whether or not to output the level in the logs."},
    {.name = "show-log-origin",
     .takes_value = false,
     .help = "Whether or not to include the file path and line number of the "
             "log's origin."},
    {.name = "snapshot-version",
     .takes_value = false,
     .help = "Print the supported data format version."},
    {.name = "start-time-cpu-us",
     .takes_value = true,
     .help = "Process start CPU time (wall clock, microseconds). This "
             "parameter is optional."},
    {.name = "start-time-us",
     .takes_value = true,
     .help = "Process start time (wall clock, microseconds). This parameter "
             "is optional."},
    {.name = "stub-crash-after-boot-ms",
     .takes_value = true,
     .help = "Kill the stub with SIGKILL N ms after InstanceStart "
             "(env FC_STUB_CRASH_AFTER_BOOT_MS).",
     .stub_only = true},
    {.name = "stub-exit-before-socket",
     .takes_value = true,
     .help = "Exit with code N before creating the API socket "
             "(env FC_STUB_EXIT_BEFORE_SOCKET).",
     .stub_only = true},
    {.name = "stub-exit-on-start",
     .takes_value = true,
     .help = "At InstanceStart, log an error line and exit with code N "
             "without answering (env FC_STUB_EXIT_ON_START).",
     .stub_only = true},
    {.name = "stub-fail-endpoint",
     .takes_value = true,
     .help = "Answer 400 \"injected fault: ...\" to METHOD:PATH[:ACTION]; "
             "'*' globs; repeatable (env FC_STUB_FAIL_ENDPOINT, "
             "comma-separated).",
     .allow_multiple = true,
     .stub_only = true},
    {.name = "stub-faults",
     .takes_value = true,
     .help = "Faults file: lines '<vm-id|*> <fault> [arg]', '#' comments "
             "(env FC_STUB_FAULTS).",
     .stub_only = true},
    {.name = "stub-ignore-ctrl-alt-del",
     .takes_value = false,
     .help = "Accept SendCtrlAltDel but keep running "
             "(env FC_STUB_IGNORE_CTRL_ALT_DEL=1).",
     .stub_only = true},
    {.name = "stub-poweroff-after-boot-ms",
     .takes_value = true,
     .help = "N ms after InstanceStart, print the guest kernel's power-off "
             "line and exit 0 (env FC_STUB_POWEROFF_AFTER_BOOT_MS).",
     .stub_only = true},
    {.name = "stub-request-log",
     .takes_value = true,
     .help = "Append one JSON line per request to this file "
             "(env FC_STUB_REQUEST_LOG).",
     .stub_only = true},
    {.name = "stub-response-delay-ms",
     .takes_value = true,
     .help = "Delay every response by N ms without blocking other "
             "connections (env FC_STUB_RESPONSE_DELAY_MS).",
     .stub_only = true},
    {.name = "stub-shutdown-delay-ms",
     .takes_value = true,
     .help = "Delay between SendCtrlAltDel and the guest's shutdown, default "
             "20 (env FC_STUB_SHUTDOWN_DELAY_MS).",
     .stub_only = true},
    {.name = "stub-socket-delay-ms",
     .takes_value = true,
     .help = "Wait N ms before creating the API socket "
             "(env FC_STUB_SOCKET_DELAY_MS).",
     .stub_only = true},
    {.name = "version",
     .takes_value = false,
     .help = "Print the binary version number."},
};

constexpr std::size_t argument_total = std::size(arguments_table);

struct Values {
  std::array<bool, argument_total> present{};
  std::array<std::vector<std::string>, argument_total> values{};
};

std::optional<std::size_t> find_argument(std::string_view name) {
  for (std::size_t index = 0; index < argument_total; ++index)
    if (arguments_table[index].name == name)
      return index;
  return std::nullopt;
}

ArgumentError unexpected_argument(std::string_view name) {
  return {"Found argument '" + std::string(name) +
              "' which wasn't expected, or isn't valid in this context.",
          "UnexpectedArgument(\"" + std::string(name) + "\")"};
}

std::optional<ArgumentError> populate(const std::vector<std::string>& words,
                                      Values& values) {
  for (std::size_t position = 0; position < words.size(); ++position) {
    const std::string& word = words[position];
    if (word.rfind("--", 0) != 0)
      return unexpected_argument(word);
    std::string_view name = std::string_view(word).substr(2);
    auto index = find_argument(name);
    if (!index)
      return unexpected_argument(name);
    const Argument& argument = arguments_table[*index];
    if (values.present[*index] && !argument.allow_multiple)
      return ArgumentError{"The argument '" + std::string(name) +
                               "' was provided more than once.",
                           "DuplicateArgument(\"" + std::string(name) + "\")"};
    values.present[*index] = true;
    if (!argument.takes_value)
      continue;
    if (position + 1 >= words.size() || words[position + 1].rfind("--", 0) == 0)
      return ArgumentError{"The argument '" + std::string(name) +
                               "' requires a value, but none was supplied.",
                           "MissingValue(\"" + std::string(name) + "\")"};
    values.values[*index].push_back(words[++position]);
  }
  for (std::size_t index = 0; index < argument_total; ++index) {
    if (!values.present[index])
      continue;
    const Argument& argument = arguments_table[index];
    if (!argument.requires_argument.empty() &&
        !values.present[*find_argument(argument.requires_argument)])
      return ArgumentError{"Argument '" +
                               std::string(argument.requires_argument) +
                               "' required, but not found.",
                           "MissingArgument(\"" +
                               std::string(argument.requires_argument) + "\")"};
    if (!argument.forbids_argument.empty() &&
        values.present[*find_argument(argument.forbids_argument)])
      return ArgumentError{
          "Argument '" + std::string(argument.forbids_argument) +
              "' cannot be used together with argument '" +
              std::string(argument.name) + "'.",
          "ForbiddenArgument(\"" + std::string(argument.name) + "\", \"" +
              std::string(argument.forbids_argument) + "\")"};
  }
  return std::nullopt;
}

void assign(const Values& values, std::string_view name,
            std::optional<std::string>& target) {
  std::size_t index = *find_argument(name);
  if (values.present[index])
    target = values.values[index].back();
}
void assign(const Values& values, std::string_view name, std::string& target) {
  std::size_t index = *find_argument(name);
  if (values.present[index])
    target = values.values[index].back();
}
void assign(const Values& values, std::string_view name, bool& target) {
  target = values.present[*find_argument(name)];
}

void fill(const Values& values, Options& options) {
  assign(values, "api-sock", options.api_socket);
  assign(values, "id", options.id);
  assign(values, "config-file", options.config_file);
  assign(values, "no-api", options.no_api);
  assign(values, "log-path", options.log_path);
  assign(values, "level", options.level);
  assign(values, "module", options.module);
  assign(values, "show-level", options.show_level);
  assign(values, "show-log-origin", options.show_log_origin);
  assign(values, "metrics-path", options.metrics_path);
  assign(values, "boot-timer", options.boot_timer);
  assign(values, "seccomp-filter", options.seccomp_filter);
  assign(values, "seccomp-level", options.seccomp_level);
  assign(values, "no-seccomp", options.no_seccomp);
  assign(values, "start-time-us", options.start_time_us);
  assign(values, "start-time-cpu-us", options.start_time_cpu_us);
  assign(values, "parent-cpu-time-us", options.parent_cpu_time_us);
  assign(values, "http-api-max-payload-size",
         options.http_api_max_payload_size);
  assign(values, "mmds-size-limit", options.mmds_size_limit);
  assign(values, "metadata", options.metadata);
  assign(values, "enable-pci", options.enable_pci);
  assign(values, "snapshot-version", options.snapshot_version);
  assign(values, "describe-snapshot", options.describe_snapshot);
  options.stub_fail_endpoints =
      values.values[*find_argument("stub-fail-endpoint")];
  assign(values, "stub-ignore-ctrl-alt-del", options.stub_ignore_ctrl_alt_del);
  assign(values, "stub-shutdown-delay-ms", options.stub_shutdown_delay_ms);
  assign(values, "stub-crash-after-boot-ms", options.stub_crash_after_boot_ms);
  assign(values, "stub-socket-delay-ms", options.stub_socket_delay_ms);
  assign(values, "stub-exit-before-socket", options.stub_exit_before_socket);
  assign(values, "stub-exit-on-start", options.stub_exit_on_start);
  assign(values, "stub-poweroff-after-boot-ms", options.stub_poweroff_after_boot_ms);
  assign(values, "stub-response-delay-ms", options.stub_response_delay_ms);
  assign(values, "stub-request-log", options.stub_request_log);
  assign(values, "stub-faults", options.stub_faults);
}

std::string format_section(bool stub_only) {
  auto display_name = [](const Argument& argument) {
    std::string text = "  --" + std::string(argument.name);
    if (argument.takes_value)
      text += " <" + std::string(argument.name) + ">";
    return text;
  };
  std::size_t width = 0;
  for (const Argument& argument : arguments_table)
    if (argument.stub_only == stub_only)
      width = std::max(width, display_name(argument).size());
  std::string text;
  for (const Argument& argument : arguments_table) {
    if (argument.stub_only != stub_only)
      continue;
    std::string name = display_name(argument);
    text += name + std::string(width - name.size(), ' ') + "   " +
            std::string(argument.help);
    if (!argument.default_value.empty())
      text += " [default: \"" + std::string(argument.default_value) + "\"]";
    text += "\n";
  }
  return text;
}

} // namespace

ParsedArguments parse_arguments(int argument_count, char** arguments) {
  ParsedArguments parsed;
  std::vector<std::string> words;
  for (int index = 1; index < argument_count; ++index) {
    std::string word = arguments[index];
    // Everything after "--" is passed through unparsed.
    if (word == "--")
      break;
    words.push_back(std::move(word));
  }
  auto contains = [&](std::string_view word) {
    return std::find(words.begin(), words.end(), word) != words.end();
  };
  if (contains("--help") || contains("-h")) {
    parsed.options.help = true;
    return parsed;
  }
  if (contains("--version")) {
    parsed.options.version = true;
    return parsed;
  }
  Values values;
  parsed.error = populate(words, values);
  if (!parsed.error)
    fill(values, parsed.options);
  return parsed;
}

std::string help_text() {
  return std::string("Firecracker v") + firecracker_version + "\n\n" +
         "optional arguments:\n" + format_section(false) +
         "\nfc-stub arguments (not in Firecracker; every fault can also come "
         "from\nthe environment or a faults file, see docs/fc-stub.md):\n" +
         format_section(true) +
         "\nFaults file faults: fail-endpoint <METHOD:PATH[:ACTION]>, "
         "ignore-ctrl-alt-del,\nshutdown-delay-ms N, crash-after-boot-ms N, "
         "socket-delay-ms N,\nexit-before-socket N, response-delay-ms N, "
         "request-log PATH.\n";
}

} // namespace banger::fc_stub
