// What the API reads from a request, CAF-free so it is fuzzed on its own
// (tests/fuzz/api_json_fuzz.cpp): a body read strictly as a JSON object
// (unknown fields refused, types checked) and the VM spec of a create. A
// refusal is a BadRequest, answered with its status and message before the
// daemon is asked anything.
#pragma once

#include "messages/cli_protocol.hpp"

#include <nlohmann/json.hpp>

#include <array>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace banger::api {

struct BadRequest : std::runtime_error {
  explicit BadRequest(const std::string& message, int status = 400,
                      std::string code = "invalid_argument")
    : std::runtime_error(message), status(status), code(std::move(code)) {}
  int status;
  std::string code;
};

/// `body` as a JSON object (an empty body is {}) whose fields are all in
/// `allowed`; `content_type` must be JSON's (or curl -d's form type) or empty.
nlohmann::json parse_body(const std::string& body, const std::string& content_type,
                          std::span<const std::string_view> allowed);

// Typed readers of a body's fields (absent or null: `out` keeps its value).
void read(const nlohmann::json& body, std::string_view key, std::string& out);
void read(const nlohmann::json& body, std::string_view key, bool& out);
void read(const nlohmann::json& body, std::string_view key, std::uint32_t& out);
void read(const nlohmann::json& body, std::string_view key, std::vector<std::string>& out);

/// The fields POST /v1/vms takes.
inline constexpr std::array<std::string_view, 10> vm_spec_fields = {
  "name", "image", "cpus", "memory_mib", "disk", "ports", "start", "wait", "no_wait", "host"};

/// The VmSpec of a create's body (read with vm_spec_fields): an image is
/// required, `disk` and `ports` are read with the CLI's own parsers.
VmSpec vm_spec_of(const nlohmann::json& body);

} // namespace banger::api
