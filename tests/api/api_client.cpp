#include "tests/api/api_client.hpp"

#include "tests/cli/cli_run.hpp"
#include "tests/support/ports.hpp"

#include <algorithm>
#include <fstream>

namespace banger::test {

namespace {

HostOptions options_with_api(std::uint16_t port, std::vector<std::string> sets,
                             std::vector<std::string> env) {
  HostOptions options;
  options.sets = std::move(sets);
  options.helper_env = std::move(env);
  options.sets.push_back("api.port=" + std::to_string(port));
  return options;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

/// curl -i output: status line and headers, a blank line, the body (after
/// any "100 Continue" block).
void parse(const std::string& raw, HttpReply& reply) {
  std::size_t at = 0;
  for (;;) {
    auto end = raw.find("\r\n\r\n", at);
    if (raw.compare(at, 5, "HTTP/") != 0 || end == std::string::npos)
      return;
    auto line_end = raw.find("\r\n", at);
    auto status_line = raw.substr(at, line_end - at);
    auto space = status_line.find(' ');
    reply.status = space == std::string::npos ? 0 : std::atoi(status_line.c_str() + space + 1);
    if (reply.status == 100) {
      at = end + 4;
      continue;
    }
    reply.headers.clear();
    auto pos = line_end + 2;
    while (pos < end) {
      auto next = raw.find("\r\n", pos);
      auto line = raw.substr(pos, next - pos);
      if (auto colon = line.find(':'); colon != std::string::npos) {
        auto value = line.substr(colon + 1);
        value.erase(0, value.find_first_not_of(' '));
        reply.headers[lower(line.substr(0, colon))] = value;
      }
      pos = next + 2;
    }
    reply.body = raw.substr(end + 4);
    return;
  }
}

} // namespace

nlohmann::json HttpReply::json() const {
  return nlohmann::json::parse(body, nullptr, false);
}

std::string HttpReply::header(const std::string& name) const {
  auto it = headers.find(lower(name));
  return it == headers.end() ? "" : it->second;
}

std::string HttpReply::error_code() const {
  auto j = json();
  if (j.is_object() && j.contains("error") && j["error"].is_object() && j["error"].contains("code"))
    return j["error"]["code"].get<std::string>();
  return "";
}

ApiHost::ApiHost(std::vector<std::string> sets, std::vector<std::string> env)
  : port_(free_port()), host_(options_with_api(port_, std::move(sets), std::move(env))) {}

std::string ApiHost::url(const std::string& path) const {
  return "https://127.0.0.1:" + std::to_string(port_) + path;
}

void ApiHost::start() {
  host_.start_helper();
  host_.start_daemon();
  host_.wait_ready();
}

HttpReply ApiHost::call(const std::string& method, const std::string& path,
                        const std::string& json_body, std::vector<std::string> extra) {
  std::vector<std::string> argv{"curl", "-sS", "-i", "--max-time", "120", "-X", method,
                                "--cert", cert(), "--key", key(), "--cacert", ca()};
  if (!json_body.empty()) {
    auto file = host_.path("curl-body-" + std::to_string(++bodies_) + ".json");
    std::ofstream(file) << json_body;
    argv.insert(argv.end(), {"-H", "Content-Type: application/json", "--data-binary", "@" + file});
  } else if ((method == "POST" || method == "PUT") &&
             std::find(extra.begin(), extra.end(), "--data-binary") == extra.end()) {
    // An empty body, with its Content-Length: 0.
    argv.insert(argv.end(), {"--data-binary", ""});
  }
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.push_back(url(path));
  auto r = run(argv, {}, std::chrono::seconds(150));
  HttpReply reply;
  reply.curl_exit = r.exit_code;
  reply.error = r.err;
  parse(r.out, reply);
  return reply;
}

bool have_program(const std::string& program) {
  return run({"sh", "-c", "command -v " + program}).exit_code == 0;
}

} // namespace banger::test
