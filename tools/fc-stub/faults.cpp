#include "tools/fc-stub/faults.hpp"

#include <cctype>
#include <charconv>
#include <fnmatch.h>
#include <fstream>
#include <sstream>

namespace banger::fc_stub {
namespace {

// One setting as it travels from a source to Faults: the value, and where
// it came from for error messages.
struct Setting {
  std::string value;
  std::string origin;
};

// Scalar settings by fault name; higher `rank` wins.
struct Candidate {
  std::optional<Setting> setting;
  int rank = -1;
  void offer(std::string value, std::string origin, int offered_rank) {
    if (offered_rank >= rank) {
      setting = Setting{std::move(value), std::move(origin)};
      rank = offered_rank;
    }
  }
};

constexpr int rank_file_wildcard = 0;
constexpr int rank_file_instance = 1;
constexpr int rank_environment = 2;
constexpr int rank_flag = 3;

struct Collected {
  Candidate ignore_ctrl_alt_del;
  Candidate shutdown_delay_ms;
  Candidate crash_after_boot_ms;
  Candidate socket_delay_ms;
  Candidate exit_before_socket;
  Candidate exit_on_start;
  Candidate poweroff_after_boot_ms;
  Candidate response_delay_ms;
  Candidate request_log;
  std::vector<Setting> failing_endpoints;

  Candidate* scalar(std::string_view name) {
    if (name == "ignore-ctrl-alt-del")
      return &ignore_ctrl_alt_del;
    if (name == "shutdown-delay-ms")
      return &shutdown_delay_ms;
    if (name == "crash-after-boot-ms")
      return &crash_after_boot_ms;
    if (name == "socket-delay-ms")
      return &socket_delay_ms;
    if (name == "exit-before-socket")
      return &exit_before_socket;
    if (name == "exit-on-start")
      return &exit_on_start;
    if (name == "poweroff-after-boot-ms")
      return &poweroff_after_boot_ms;
    if (name == "response-delay-ms")
      return &response_delay_ms;
    if (name == "request-log")
      return &request_log;
    return nullptr;
  }
};

constexpr std::string_view scalar_names[] = {
    "ignore-ctrl-alt-del", "shutdown-delay-ms",  "crash-after-boot-ms",
    "socket-delay-ms",     "exit-before-socket", "response-delay-ms",
    "request-log",         "exit-on-start",      "poweroff-after-boot-ms"};

// fail-endpoint -> FC_STUB_FAIL_ENDPOINT
std::string environment_name(std::string_view fault) {
  std::string name = "FC_STUB_";
  for (char character : fault)
    name.push_back(character == '-'
                       ? '_'
                       : static_cast<char>(std::toupper(
                             static_cast<unsigned char>(character))));
  return name;
}

std::vector<std::string> split_list(std::string_view text) {
  std::vector<std::string> items;
  std::string current;
  for (char character : text) {
    if (character == ',' ||
        std::isspace(static_cast<unsigned char>(character))) {
      if (!current.empty())
        items.push_back(std::move(current));
      current.clear();
    } else {
      current.push_back(character);
    }
  }
  if (!current.empty())
    items.push_back(std::move(current));
  return items;
}

std::optional<std::string> read_faults_file(const std::string& path,
                                            const std::string& instance_id,
                                            Collected& collected) {
  std::ifstream file(path);
  if (!file)
    return "cannot read faults file '" + path + "'";
  std::string line;
  int line_number = 0;
  while (std::getline(file, line)) {
    ++line_number;
    if (auto comment = line.find('#'); comment != std::string::npos)
      line.erase(comment);
    std::istringstream words(line);
    std::string target, fault, argument, extra;
    if (!(words >> target))
      continue;
    std::string origin = path + ":" + std::to_string(line_number);
    if (!(words >> fault))
      return origin + ": missing fault name";
    words >> argument;
    if (words >> extra)
      return origin + ": unexpected '" + extra + "'";
    if (target != "*" && target != instance_id)
      continue;
    int rank = target == "*" ? rank_file_wildcard : rank_file_instance;
    if (fault == "fail-endpoint") {
      if (argument.empty())
        return origin + ": fail-endpoint needs METHOD:PATH[:ACTION]";
      collected.failing_endpoints.push_back({argument, origin});
      continue;
    }
    Candidate* candidate = collected.scalar(fault);
    if (!candidate)
      return origin + ": unknown fault '" + fault + "'";
    if (fault == "ignore-ctrl-alt-del" && argument.empty())
      argument = "1";
    if (argument.empty())
      return origin + ": " + fault + " needs an argument";
    candidate->offer(argument, origin, rank);
  }
  return std::nullopt;
}

std::optional<std::string> parse_number(const Setting& setting,
                                        std::int64_t& value) {
  const std::string& text = setting.value;
  auto [end, error] =
      std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc{} || end != text.data() + text.size() || value < 0)
    return setting.origin + ": '" + text + "' is not a non-negative integer";
  return std::nullopt;
}

std::optional<std::string> parse_flag(const Setting& setting, bool& value) {
  std::string lower;
  for (char character : setting.value)
    lower.push_back(
        static_cast<char>(std::tolower(static_cast<unsigned char>(character))));
  if (lower == "1" || lower == "true" || lower == "yes" || lower == "on")
    value = true;
  else if (lower.empty() || lower == "0" || lower == "false" || lower == "no" ||
           lower == "off")
    value = false;
  else
    return setting.origin + ": '" + setting.value + "' is not a boolean";
  return std::nullopt;
}

std::optional<std::string> parse_endpoint(const Setting& setting,
                                          EndpointFault& endpoint) {
  const std::string& text = setting.value;
  std::size_t first = text.find(':');
  if (first == std::string::npos || first == 0 || first + 1 >= text.size())
    return setting.origin + ": '" + text + "' is not METHOD:PATH[:ACTION]";
  endpoint.text = text;
  endpoint.method = text.substr(0, first);
  for (char& character : endpoint.method)
    character =
        static_cast<char>(std::toupper(static_cast<unsigned char>(character)));
  std::string rest = text.substr(first + 1);
  std::size_t second = rest.find(':');
  endpoint.path = rest.substr(0, second);
  if (second != std::string::npos)
    endpoint.action = rest.substr(second + 1);
  return std::nullopt;
}

} // namespace

const EndpointFault* Faults::failing(std::string_view method,
                                     std::string_view path,
                                     std::string_view action) const {
  std::string method_text(method), path_text(path), action_text(action);
  for (const EndpointFault& endpoint : failing_endpoints) {
    if (fnmatch(endpoint.method.c_str(), method_text.c_str(), 0) != 0)
      continue;
    if (fnmatch(endpoint.path.c_str(), path_text.c_str(), 0) != 0)
      continue;
    if (!endpoint.action.empty() &&
        fnmatch(endpoint.action.c_str(), action_text.c_str(), 0) != 0)
      continue;
    return &endpoint;
  }
  return nullptr;
}

std::optional<std::string> load_faults(const Options& options,
                                       const EnvironmentLookup& environment,
                                       Faults& faults) {
  Collected collected;

  std::optional<std::string> faults_file = options.stub_faults;
  if (!faults_file)
    if (const char* value = environment("FC_STUB_FAULTS"); value && *value)
      faults_file = value;
  if (faults_file)
    if (auto error = read_faults_file(*faults_file, options.id, collected))
      return error;

  for (std::string_view name : scalar_names) {
    std::string variable = environment_name(name);
    if (const char* value = environment(variable.c_str()); value && *value)
      collected.scalar(name)->offer(value, variable, rank_environment);
  }
  if (const char* value = environment("FC_STUB_FAIL_ENDPOINT"))
    for (std::string& item : split_list(value))
      collected.failing_endpoints.push_back({item, "FC_STUB_FAIL_ENDPOINT"});

  auto flag = [&](std::string_view name,
                  const std::optional<std::string>& value) {
    if (value)
      collected.scalar(name)->offer(*value, "--stub-" + std::string(name),
                                    rank_flag);
  };
  if (options.stub_ignore_ctrl_alt_del)
    collected.ignore_ctrl_alt_del.offer("1", "--stub-ignore-ctrl-alt-del",
                                        rank_flag);
  flag("shutdown-delay-ms", options.stub_shutdown_delay_ms);
  flag("crash-after-boot-ms", options.stub_crash_after_boot_ms);
  flag("socket-delay-ms", options.stub_socket_delay_ms);
  flag("exit-before-socket", options.stub_exit_before_socket);
  flag("exit-on-start", options.stub_exit_on_start);
  flag("poweroff-after-boot-ms", options.stub_poweroff_after_boot_ms);
  flag("response-delay-ms", options.stub_response_delay_ms);
  flag("request-log", options.stub_request_log);
  for (const std::string& item : options.stub_fail_endpoints)
    collected.failing_endpoints.push_back({item, "--stub-fail-endpoint"});

  for (const Setting& setting : collected.failing_endpoints) {
    EndpointFault endpoint;
    if (auto error = parse_endpoint(setting, endpoint))
      return error;
    faults.failing_endpoints.push_back(std::move(endpoint));
  }
  if (auto& setting = collected.ignore_ctrl_alt_del.setting)
    if (auto error = parse_flag(*setting, faults.ignore_ctrl_alt_del))
      return error;
  if (auto& setting = collected.shutdown_delay_ms.setting)
    if (auto error = parse_number(*setting, faults.shutdown_delay_ms))
      return error;
  if (auto& setting = collected.crash_after_boot_ms.setting) {
    std::int64_t value = 0;
    if (auto error = parse_number(*setting, value))
      return error;
    faults.crash_after_boot_ms = value;
  }
  if (auto& setting = collected.socket_delay_ms.setting)
    if (auto error = parse_number(*setting, faults.socket_delay_ms))
      return error;
  if (auto& setting = collected.exit_before_socket.setting) {
    std::int64_t value = 0;
    if (auto error = parse_number(*setting, value))
      return error;
    if (value > 255)
      return setting->origin + ": exit code must be 0..255";
    faults.exit_before_socket = static_cast<int>(value);
  }
  if (auto& setting = collected.exit_on_start.setting) {
    std::int64_t value = 0;
    if (auto error = parse_number(*setting, value))
      return error;
    if (value > 255)
      return setting->origin + ": exit code must be 0..255";
    faults.exit_on_start = static_cast<int>(value);
  }
  if (auto& setting = collected.poweroff_after_boot_ms.setting) {
    std::int64_t value = 0;
    if (auto error = parse_number(*setting, value))
      return error;
    faults.poweroff_after_boot_ms = value;
  }
  if (auto& setting = collected.response_delay_ms.setting)
    if (auto error = parse_number(*setting, faults.response_delay_ms))
      return error;
  if (auto& setting = collected.request_log.setting)
    faults.request_log_path = setting->value;
  return std::nullopt;
}

} // namespace banger::fc_stub
