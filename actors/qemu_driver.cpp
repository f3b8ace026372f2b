#include "actors/qemu_driver.hpp"

#include <nlohmann/json.hpp>

#include <fcntl.h>

#include <cerrno>
#include <cstring>

namespace banger::qemu {

namespace {

using json = nlohmann::json;

/// Splits complete lines; a trailing partial line is left out.
std::vector<std::string> complete_lines(const std::string& data) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  for (auto nl = data.find('\n'); nl != std::string::npos; nl = data.find('\n', start)) {
    auto line = data.substr(start, nl - start);
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    if (!line.empty())
      lines.push_back(std::move(line));
    start = nl + 1;
  }
  return lines;
}

/// What QEMU sent after its greeting: answers ("return" or "error") and
/// asynchronous events, each in order.
struct Received {
  std::vector<json> answers;
  std::vector<json> events;
};

/// nullopt on malformed JSON or a missing greeting (`error` says which).
std::optional<Received> parse(const std::string& data, std::string& error) {
  Received out;
  bool greeted = false;
  for (auto& line : complete_lines(data)) {
    auto msg = json::parse(line, nullptr, false);
    if (msg.is_discarded() || !msg.is_object()) {
      error = "QMP sent something that is not a JSON object: " + line.substr(0, 200);
      return std::nullopt;
    }
    if (!greeted) {
      if (!msg.contains("QMP")) {
        error = "QMP greeting missing (is this a QMP socket?)";
        return std::nullopt;
      }
      greeted = true;
      continue;
    }
    if (msg.contains("event"))
      out.events.push_back(std::move(msg));
    else if (msg.contains("return") || msg.contains("error"))
      out.answers.push_back(std::move(msg));
  }
  return out;
}

std::optional<std::vector<json>> answers(const std::string& data, std::string& error) {
  auto got = parse(data, error);
  if (!got)
    return std::nullopt;
  return std::move(got->answers);
}

/// A string field of a JSON object, "" when absent or not a string.
std::string text_field(const json& object, const char* key) {
  if (!object.is_object())
    return {};
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

std::string final_status(const std::vector<json>& events) {
  for (const auto& event : events) {
    if (text_field(event, "event") != "MIGRATION" || !event.contains("data"))
      continue;
    auto status = text_field(event["data"], "status");
    if (status == "completed" || status == "failed" || status == "cancelled")
      return status;
  }
  return {};
}

std::string command(const std::string& name, json arguments) {
  return json{{"execute", name}, {"arguments", std::move(arguments)}}.dump();
}

std::string events_on() {
  return command("migrate-set-capabilities",
                 {{"capabilities", json::array({{{"capability", "events"}, {"state", true}}})}});
}

} // namespace

std::string qmp_request(const std::vector<std::string>& commands) {
  std::string out = R"({"execute":"qmp_capabilities"})" "\n";
  for (const auto& command : commands)
    out += command + "\n";
  return out;
}

bool qmp_complete(const std::string& received, std::size_t commands, std::string& error) {
  auto got = answers(received, error);
  return got && got->size() >= commands + 1;
}

bool qmp_complete_migration(const std::string& received, std::size_t commands,
                            std::string& error) {
  auto got = parse(received, error);
  if (!got || got->answers.size() < commands + 1)
    return false;
  for (const auto& answer : got->answers)
    if (answer.contains("error"))
      return true;
  return !final_status(got->events).empty();
}

std::string migration_end(const std::string& received) {
  std::string ignored;
  auto got = parse(received, ignored);
  return got ? final_status(got->events) : std::string{};
}

std::vector<std::string> save_commands() {
  return {stop, command("getfd", {{"fdname", state_fd}}), events_on(),
          command("migrate-set-parameters", {{"max-bandwidth", file_bandwidth}}),
          command("migrate", {{"uri", "fd:" + state_fd}})};
}

std::vector<std::string> load_commands() {
  return {command("getfd", {{"fdname", state_fd}}), events_on(),
          command("migrate-incoming", {{"uri", "fd:" + state_fd}})};
}

Result<int> open_stream_file(const std::string& path, bool for_writing) {
  int flags = O_CLOEXEC | O_NOFOLLOW | (for_writing ? O_WRONLY | O_CREAT | O_TRUNC : O_RDONLY);
  int fd = ::open(path.c_str(), flags, 0600);
  if (fd < 0)
    return Error{errno == ENOENT ? Errc::not_found : Errc::system,
                 "cannot open " + path + " for QEMU: " + std::strerror(errno)};
  return fd;
}

std::chrono::milliseconds migration_timeout(std::uint32_t memory_mib) {
  // 1 MiB at 20 MiB/s: 50 ms.
  return std::chrono::milliseconds(10000 + 50 * static_cast<std::int64_t>(memory_mib));
}

Result<std::vector<std::string>> qmp_returns(const std::string& received,
                                             const std::vector<std::string>& commands) {
  std::string error;
  auto got = answers(received, error);
  if (!got)
    return Error{Errc::vmm_failed, error};
  if (got->size() < commands.size() + 1)
    return Error{Errc::vmm_failed, "QMP closed before answering every command"};
  // QMP's error is {"class": ..., "desc": ...}; anything else in its place
  // is described, not trusted (json::value() throws on a non-object).
  auto describe = [](const json& answer) {
    const auto& err = answer["error"];
    std::string text = "unknown error";
    if (!err.is_object())
      return text;
    if (auto desc = err.find("desc"); desc != err.end() && desc->is_string())
      text = desc->get<std::string>();
    if (auto type = err.find("class"); type != err.end() && type->is_string())
      text = type->get<std::string>() + ": " + text;
    return text;
  };
  if ((*got)[0].contains("error"))
    return Error{Errc::vmm_failed, "QEMU refused QMP negotiation: " + describe((*got)[0])};
  std::vector<std::string> out;
  for (std::size_t i = 0; i < commands.size(); ++i) {
    auto& answer = (*got)[i + 1];
    if (answer.contains("error"))
      return Error{Errc::vmm_failed, "QEMU refused " + commands[i] + ": " + describe(answer)};
    out.push_back(answer["return"].dump());
  }
  return out;
}

Result<std::string> run_state(const std::string& query_status_return) {
  auto value = json::parse(query_status_return, nullptr, false);
  if (!value.is_object() || !value.contains("status") || !value["status"].is_string())
    return Error{Errc::vmm_failed, "query-status answered without a status: " + query_status_return};
  return value["status"].get<std::string>();
}

Result<Migration> migration(const std::string& query_migrate_return) {
  auto value = json::parse(query_migrate_return, nullptr, false);
  if (!value.is_object())
    return Error{Errc::vmm_failed, "query-migrate answered with " + query_migrate_return};
  // Before any migration QEMU 7.2 answers {} (no status).
  auto status = text_field(value, "status");
  return Migration{status.empty() ? "none" : status, text_field(value, "error-desc")};
}

} // namespace banger::qemu
