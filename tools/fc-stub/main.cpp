// fc-stub: a stand-in for the `firecracker` binary. Same command line, same
// HTTP API over a Unix socket, requests validated against the v1.16.1 spec
// with Firecracker's error messages; no guest is run. See docs/fc-stub.md.
//
// The order of start-up steps follows Firecracker's main() so that a bad
// command line fails the same way (message, exit code) as the real binary.

#include "tools/fc-stub/faults.hpp"
#include "tools/fc-stub/logger.hpp"
#include "tools/fc-stub/options.hpp"
#include "tools/fc-stub/request_log.hpp"
#include "tools/fc-stub/server.hpp"
#include "tools/fc-stub/system.hpp"

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <fcntl.h>
#include <string>
#include <unistd.h>

namespace banger::fc_stub {
namespace {

// Firecracker's FcExitCode values.
constexpr int exit_generic_error = 1;
constexpr int exit_bad_configuration = 152;
constexpr int exit_argument_parsing = 153;
// The stub's own configuration (faults, request log) is unusable.
constexpr int exit_stub_misconfigured = 2;

constexpr std::string_view snapshot_version = "v10.0.0";
constexpr std::string_view stub_identity =
    "fc-stub: banger's stand-in for Firecracker. No guest runs; the API is "
    "validated against the Firecracker v1.16.1 OpenAPI spec.\n";

void print(int descriptor, std::string_view text) {
  write_all(descriptor, text);
}

// Firecracker prints the Debug form of its error on stderr and logs the
// Display form, then exits with the mapped code.
int fail(Logger& logger, std::string_view display, std::string_view debug,
         int exit_code) {
  logger.error(display);
  print(STDERR_FILENO, "Error: " + std::string(debug) + "\n");
  logger.error("Firecracker exiting with error. exit_code=" +
               std::to_string(exit_code));
  return exit_code;
}

int stub_misconfigured(std::string_view message) {
  print(STDERR_FILENO, "fc-stub: " + std::string(message) + "\n");
  return exit_stub_misconfigured;
}

// utils::validators::validate_instance_id; Firecracker panics on failure.
void validate_instance_id(const std::string& id) {
  if (id.empty() || id.size() > 64)
    panic("Invalid instance ID: InvalidLen(" + std::to_string(id.size()) +
          ", 1, 64)");
  for (std::size_t index = 0; index < id.size(); ++index) {
    char character = id[index];
    if (character != '-' &&
        !std::isalnum(static_cast<unsigned char>(character)))
      panic("Invalid instance ID: InvalidChar('" + std::string(1, character) +
            "', " + std::to_string(index) + ")");
  }
}

template <typename Number>
Number parse_or_panic(const std::string& text, std::string_view what) {
  Number value{};
  auto [end, error] =
      std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc{} || end != text.data() + text.size())
    panic("'" + std::string(what) + "' parameter expected to be of '" +
          (sizeof(Number) == 8 ? "u64" : "usize") +
          "' type.: ParseIntError { kind: InvalidDigit }");
  return value;
}

std::string read_or_panic(const std::string& path, std::string_view what) {
  std::string contents;
  if (int error = read_whole_file(path, contents))
    panic(std::string(what) + ": " + io_error_text(error));
  return contents;
}

int describe_snapshot(const std::string& path) {
  int descriptor = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  char header[64] = {};
  ssize_t got = descriptor < 0 ? -1 : ::read(descriptor, header, 24);
  if (descriptor >= 0)
    ::close(descriptor);
  if (got == 24 && std::string_view(header, 24) == "fc-stub snapshot v10.0.0") {
    print(STDOUT_FILENO, std::string(snapshot_version) + "\n");
    return 0;
  }
  print(STDERR_FILENO,
        "Error: PrintSnapshotDataFormat(SnapshotVersion(InvalidFormat))\n");
  return exit_generic_error;
}

int run(int argument_count, char** arguments) {
  ParsedArguments parsed = parse_arguments(argument_count, arguments);
  Options& options = parsed.options;
  if (options.help) {
    print(STDOUT_FILENO, help_text());
    return 0;
  }
  if (options.version) {
    print(STDOUT_FILENO, std::string("Firecracker v") + firecracker_version +
                             "\n\n" + std::string(stub_identity));
    return 0;
  }
  if (parsed.error) {
    Logger early_logger(default_instance_id);
    return fail(early_logger,
                "Arguments parsing error: " + parsed.error->display +
                    " \n\nFor more information try --help.",
                "ParseArguments(" + parsed.error->debug + ")",
                exit_argument_parsing);
  }
  if (options.snapshot_version) {
    print(STDOUT_FILENO, std::string(snapshot_version) + "\n");
    return 0;
  }
  if (options.describe_snapshot)
    return describe_snapshot(*options.describe_snapshot);

  validate_instance_id(options.id);
  Logger logger(options.id);
  if (options.log_path)
    if (int error = logger.open(*options.log_path))
      return fail(logger,
                  "Could not initialize logger: Failed to open target file: " +
                      io_error_text(error),
                  "LoggerInitialization(LoggerUpdateError(" +
                      io_error_text(error) + "))",
                  exit_generic_error);
  if (options.level) {
    LogLevel level;
    if (!parse_log_level(*options.level, level))
      return fail(logger,
                  "Invalid value for logger level: Failed to parse string to "
                  "level filter: " +
                      *options.level +
                      ".Possible values: [Error, Warning, Info, Debug]",
                  "InvalidLogLevel(LevelFilterFromStrError(\"" +
                      *options.level + "\"))",
                  exit_bad_configuration);
    logger.set_level(level);
  }
  logger.set_show_level(options.show_level);
  logger.set_show_origin(options.show_log_origin);
  if (options.module)
    logger.set_module(*options.module);
  logger.info(std::string("Running Firecracker v") + firecracker_version);

  Faults faults;
  if (auto error = load_faults(
          options, [](const char* name) { return std::getenv(name); }, faults))
    return stub_misconfigured(*error);
  RequestLog request_log;
  if (!faults.request_log_path.empty())
    if (int error = request_log.open(faults.request_log_path, options.id))
      return stub_misconfigured("cannot open request log '" +
                                faults.request_log_path +
                                "': " + io_error_text(error));

  std::optional<std::string> config_json;
  if (options.config_file)
    config_json =
        read_or_panic(*options.config_file,
                      "Unable to open or read from the configuration file");
  std::optional<nlohmann::json> metadata;
  if (options.metadata) {
    std::string text = read_or_panic(
        *options.metadata, "Unable to open or read from the mmds content file");
    metadata = nlohmann::json::parse(text, nullptr, false);
    if (metadata->is_discarded())
      panic("MMDS error: metadata provided not valid json");
  }
  auto payload_limit = parse_or_panic<std::size_t>(
      options.http_api_max_payload_size, "http-api-max-payload-size");
  std::size_t mmds_limit = payload_limit;
  if (options.mmds_size_limit)
    mmds_limit = parse_or_panic<std::size_t>(*options.mmds_size_limit,
                                             "mmds-size-limit");
  for (const auto* time : {&options.start_time_us, &options.start_time_cpu_us,
                           &options.parent_cpu_time_us})
    if (*time)
      parse_or_panic<std::uint64_t>(**time, "start-time-us");

  ServerSettings server_settings{
      .api_socket = options.no_api ? std::string() : options.api_socket,
      .payload_limit = payload_limit};
  VmmSettings vmm_settings{.instance_id = options.id,
                           .pci_enabled = options.enable_pci,
                           .mmds_size_limit = mmds_limit};
  Server server(server_settings, faults, logger, request_log, vmm_settings);
  server.capture_signals();

  if (options.metrics_path)
    if (auto error = server.vmm().initialize_metrics(*options.metrics_path))
      return fail(logger, "Could not initialize metrics: " + *error,
                  "MetricsInitialization(InitializationFailure(\"" + *error +
                      "\"))",
                  exit_generic_error);
  if (metadata)
    server.vmm().seed_mmds(std::move(*metadata));

  if (faults.socket_delay_ms > 0)
    server.pause_for(faults.socket_delay_ms);
  if (faults.exit_before_socket) {
    logger.info("fc-stub exit-before-socket fault: exiting with code " +
                std::to_string(*faults.exit_before_socket) + ".");
    return *faults.exit_before_socket;
  }

  std::string_view wrapper =
      options.no_api ? "RunWithoutApiError error: " : "RunWithApiError error: ";
  if (!options.no_api)
    if (auto error = server.bind_api_socket())
      return fail(logger, std::string(wrapper) + *error,
                  "RunWithApi(" + *error + ")", exit_generic_error);

  if (config_json) {
    if (auto error = server.vmm().boot_from_config(*config_json)) {
      server.remove_api_socket();
      return fail(logger,
                  std::string(wrapper) +
                      "Failed to build MicroVM from Json: " + *error,
                  "BuildFromJson(" + *error + ")", exit_generic_error);
    }
  }
  if (!options.no_api)
    logger.info("API server started.", "fc_api");
  return server.run();
}

} // namespace
} // namespace banger::fc_stub

int main(int argument_count, char** arguments) {
  return banger::fc_stub::run(argument_count, arguments);
}
