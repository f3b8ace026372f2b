#include "actors/qemu_driver.hpp"

#include <nlohmann/json.hpp>

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

/// The greeting and the answers, events dropped; nullopt on malformed JSON.
std::optional<std::vector<json>> answers(const std::string& data, std::string& error) {
  std::vector<json> out;
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
      continue;
    if (msg.contains("return") || msg.contains("error"))
      out.push_back(std::move(msg));
  }
  return out;
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

} // namespace banger::qemu
