// Routing, one job: the request's method and path to a typed VMM action,
// arm by arm in the order of Firecracker's parsed_request.rs, with the
// per-endpoint body checks that file makes. Slightly over ~400 lines because
// the arms read best as one match.
#include "tools/fc-stub/api.hpp"

#include <cctype>
#include <optional>
#include <string_view>
#include <vector>

namespace banger::fc_stub {
namespace {

// Iterates path tokens like Rust's `trim_start_matches('/').split_terminator
// ('/')`: a trailing slash adds no empty token, a double slash does.
class PathTokens {
public:
  explicit PathTokens(std::string_view path) {
    while (!path.empty() && path.front() == '/')
      path.remove_prefix(1);
    while (!path.empty()) {
      std::size_t slash = path.find('/');
      if (slash == std::string_view::npos) {
        tokens_.push_back(path);
        break;
      }
      tokens_.push_back(path.substr(0, slash));
      path.remove_prefix(slash + 1);
    }
  }
  std::optional<std::string_view> next() {
    if (position_ >= tokens_.size())
      return std::nullopt;
    return tokens_[position_++];
  }

private:
  std::vector<std::string_view> tokens_;
  std::size_t position_ = 0;
};

Routed fault(int status, std::string message) {
  return Routed{.outcome = ApiFault{status, std::move(message)},
                .action_name = {}};
}
Routed bad_request(std::string message) {
  return fault(400, std::move(message));
}
Routed action(VmmAction vmm_action, std::string action_name = {}) {
  return Routed{.outcome = std::move(vmm_action),
                .action_name = std::move(action_name)};
}

// RequestError::SerdeJson's wording.
std::string serde_fault(const std::string& serde_message) {
  return "An error occurred when deserializing the json body of a request: " +
         serde_message + ".";
}

struct Decoded {
  OrderedJson value;
  std::optional<Routed> error;
};

Decoded decode_body(const std::string& body,
                    const schema::Definition& definition) {
  try {
    return {decode(body, definition), std::nullopt};
  } catch (const DecodeError& error) {
    return {nullptr, bad_request(serde_fault(error.what()))};
  }
}

// checked_id(): resource ids in paths are alphanumeric or '_' only.
std::optional<Routed> check_id(std::optional<std::string_view> id) {
  if (!id || id->empty())
    return bad_request("The ID cannot be empty.");
  for (char character : *id)
    if (character != '_' &&
        !std::isalnum(static_cast<unsigned char>(character)))
      return bad_request("API Resource IDs can only contain alphanumeric "
                         "characters and underscores.");
  return std::nullopt;
}

Routed invalid_path_method(std::string_view method, std::string_view path) {
  return bad_request("Invalid request method and/or path: " +
                     std::string(method) + " " + std::string(path) + ".");
}

Routed simple(ActionKind kind) {
  return action(VmmAction{.kind = kind});
}

Routed with_body(ActionKind kind, const std::string& body,
                 const schema::Definition& definition,
                 std::string deprecation = {}) {
  Decoded decoded = decode_body(body, definition);
  if (decoded.error)
    return *decoded.error;
  return action(VmmAction{.kind = kind,
                          .body = std::move(decoded.value),
                          .deprecation = std::move(deprecation)});
}

Routed put_actions(const std::string& body) {
  Decoded decoded = decode_body(body, schema::instance_action_info);
  if (decoded.error)
    return *decoded.error;
  std::string type = decoded.value["action_type"];
  ActionKind kind = type == "InstanceStart"  ? ActionKind::StartMicroVm
                    : type == "FlushMetrics" ? ActionKind::FlushMetrics
                                             : ActionKind::SendCtrlAltDel;
  return action(VmmAction{.kind = kind}, type);
}

// PUT/PATCH of a resource addressed by id: the path id must be well formed
// and equal the id in the body.
Routed identified(ActionKind kind, const std::string& body,
                  std::optional<std::string_view> path_id,
                  const schema::Definition& definition,
                  std::string_view id_field, bool bracketed_message) {
  if (auto error = check_id(path_id))
    return *error;
  Decoded decoded = decode_body(body, definition);
  if (decoded.error)
    return *decoded.error;
  std::string body_id = decoded.value[std::string(id_field)];
  if (body_id != *path_id) {
    if (bracketed_message)
      return bad_request("The id from the path [" + std::string(*path_id) +
                         "] does not match the id from the body [" + body_id +
                         "]!");
    return bad_request(
        "The id from the path does not match the id from the body!");
  }
  return action(VmmAction{.kind = kind, .body = std::move(decoded.value)});
}

Routed put_machine_config(const std::string& body) {
  Decoded decoded = decode_body(body, schema::machine_configuration);
  if (decoded.error)
    return *decoded.error;
  std::string deprecation;
  if (decoded.value.contains("cpu_template"))
    deprecation = "PUT /machine-config: cpu_template field is deprecated.";
  return action(VmmAction{.kind = ActionKind::UpdateMachineConfiguration,
                          .body = std::move(decoded.value),
                          .deprecation = std::move(deprecation)});
}

Routed patch_machine_config(const std::string& body) {
  Decoded decoded = decode_body(body, schema::machine_configuration_update);
  if (decoded.error)
    return *decoded.error;
  if (decoded.value.empty())
    return bad_request("Empty PATCH request.");
  std::string deprecation;
  if (decoded.value.contains("cpu_template"))
    deprecation = "PATCH /machine-config: cpu_template field is deprecated.";
  return action(VmmAction{.kind = ActionKind::UpdateMachineConfiguration,
                          .body = std::move(decoded.value),
                          .deprecation = std::move(deprecation)});
}

Routed put_vsock(const std::string& body) {
  Decoded decoded = decode_body(body, schema::vsock);
  if (decoded.error)
    return *decoded.error;
  std::string deprecation;
  if (decoded.value.contains("vsock_id"))
    deprecation = "PUT /vsock: vsock_id field is deprecated.";
  return action(VmmAction{.kind = ActionKind::SetVsockDevice,
                          .body = std::move(decoded.value),
                          .deprecation = std::move(deprecation)});
}

Routed mmds_contents(ActionKind kind, const std::string& body) {
  try {
    return action(VmmAction{.kind = kind, .contents = decode_object(body)});
  } catch (const DecodeError& error) {
    return bad_request(serde_fault(error.what()));
  }
}

Routed put_mmds(const std::string& body,
                std::optional<std::string_view> second_token) {
  if (!second_token)
    return mmds_contents(ActionKind::PutMmds, body);
  if (*second_token != "config")
    return bad_request("Unrecognized PUT request path `" +
                       std::string(*second_token) + "`.");
  Decoded decoded = decode_body(body, schema::mmds_config);
  if (decoded.error)
    return *decoded.error;
  std::string deprecation;
  if (decoded.value["version"] == "V1")
    deprecation = "PUT /mmds/config: V1 is deprecated. Use V2 instead.";
  return action(VmmAction{.kind = ActionKind::SetMmdsConfiguration,
                          .body = std::move(decoded.value),
                          .deprecation = std::move(deprecation)});
}

Routed put_snapshot(const std::string& body,
                    std::optional<std::string_view> operation) {
  if (!operation)
    return bad_request("Missing snapshot operation type.");
  if (*operation == "create")
    return with_body(ActionKind::CreateSnapshot, body,
                     schema::snapshot_create_parameters);
  if (*operation != "load")
    return invalid_path_method("PUT", "/snapshot/" + std::string(*operation));
  Decoded decoded = decode_body(body, schema::snapshot_load_parameters);
  if (decoded.error)
    return *decoded.error;
  bool has_backend = decoded.value.contains("mem_backend");
  bool has_file = decoded.value.contains("mem_file_path");
  // serde custom errors carry no position.
  if (has_backend && has_file)
    return bad_request(serde_fault("too many fields: either `mem_backend` or "
                                   "`mem_file_path` exclusively is required"));
  if (!has_backend && !has_file)
    return bad_request(serde_fault(
        "missing field: either `mem_backend` or `mem_file_path` is required"));
  std::string deprecation;
  if (has_file || decoded.value["enable_diff_snapshots"] == true)
    deprecation = "PUT /snapshot/load: mem_file_path and "
                  "enable_diff_snapshots fields are deprecated.";
  return action(VmmAction{.kind = ActionKind::LoadSnapshot,
                          .body = std::move(decoded.value),
                          .deprecation = std::move(deprecation)});
}

Routed patch_vm(const std::string& body) {
  Decoded decoded = decode_body(body, schema::vm_state);
  if (decoded.error)
    return *decoded.error;
  std::string state = decoded.value["state"];
  return action(VmmAction{.kind = state == "Paused" ? ActionKind::Pause
                                                    : ActionKind::Resume},
                state);
}

Routed get_balloon(PathTokens& tokens) {
  auto next = tokens.next();
  if (!next)
    return simple(ActionKind::GetBalloonConfig);
  if (*next == "statistics")
    return simple(ActionKind::GetBalloonStats);
  if (*next == "hinting") {
    auto status = tokens.next();
    if (status && *status == "status")
      return simple(ActionKind::GetFreePageHintingStatus);
    return bad_request("Unrecognized GET request path `/hinting/" +
                       std::string(status.value_or("")) + "`.");
  }
  return bad_request("Unrecognized GET request path `" + std::string(*next) +
                     "`.");
}

Routed patch_balloon(const std::optional<std::string>& body,
                     PathTokens& tokens) {
  auto next = tokens.next();
  if (next && *next == "statistics" && body)
    return with_body(ActionKind::UpdateBalloonStatistics, *body,
                     schema::balloon_stats_update);
  if (next && *next == "hinting") {
    auto command = tokens.next();
    if (command && *command == "start") {
      if (!body || body->empty())
        return action(
            VmmAction{.kind = ActionKind::StartFreePageHinting,
                      .body = OrderedJson{{"acknowledge_on_stop", false}}});
      return with_body(ActionKind::StartFreePageHinting, *body,
                       schema::balloon_start_command);
    }
    if (command && *command == "stop")
      return simple(ActionKind::StopFreePageHinting);
    return bad_request("Unrecognized PATCH request path `/hinting/" +
                       std::string(command.value_or("")) + "`.");
  }
  if (body)
    return with_body(ActionKind::UpdateBalloon, *body, schema::balloon_update);
  return bad_request("Empty PATCH request.");
}

Routed unplug(std::string_view kind, std::optional<std::string_view> id) {
  if (auto error = check_id(id))
    return *error;
  return action(VmmAction{.kind = ActionKind::HotUnplugDevice,
                          .device_kind = std::string(kind),
                          .device_id = std::string(*id)});
}

} // namespace

Routed route(const http::Request& request) {
  PathTokens tokens(request.path);
  std::string_view path = tokens.next().value_or("");
  const std::string& method = request.method;
  const auto& body = request.body;

  // The arms below keep the order of Firecracker's match statement, which
  // decides the message for odd requests (e.g. a GET with a body).
  if (method == "GET" && !body) {
    if (path.empty())
      return simple(ActionKind::GetVmInstanceInfo);
    if (path == "balloon")
      return get_balloon(tokens);
    if (path == "version")
      return simple(ActionKind::GetVmmVersion);
    if (path == "vm" && tokens.next() == "config")
      return simple(ActionKind::GetFullVmConfig);
    if (path == "machine-config")
      return simple(ActionKind::GetVmMachineConfig);
    if (path == "mmds")
      return simple(ActionKind::GetMmds);
    if (path == "hotplug" && tokens.next() == "memory")
      return simple(ActionKind::GetMemoryHotplugStatus);
  }
  if (method == "GET" && body)
    return bad_request("GET request cannot have a body.");

  if (method == "PUT" && body) {
    const std::string& text = *body;
    if (path == "actions")
      return put_actions(text);
    if (path == "balloon")
      return with_body(ActionKind::SetBalloonDevice, text, schema::balloon);
    if (path == "boot-source")
      return with_body(ActionKind::ConfigureBootSource, text,
                       schema::boot_source);
    if (path == "cpu-config")
      return with_body(ActionKind::PutCpuConfiguration, text,
                       schema::cpu_config);
    if (path == "drives")
      return identified(ActionKind::InsertBlockDevice, text, tokens.next(),
                        schema::drive, "drive_id", false);
    if (path == "pmem")
      return identified(ActionKind::InsertPmemDevice, text, tokens.next(),
                        schema::pmem, "id", false);
    if (path == "logger")
      return with_body(ActionKind::ConfigureLogger, text, schema::logger);
    if (path == "serial")
      return with_body(ActionKind::ConfigureSerial, text,
                       schema::serial_device);
    if (path == "machine-config")
      return put_machine_config(text);
    if (path == "metrics")
      return with_body(ActionKind::ConfigureMetrics, text, schema::metrics);
    if (path == "mmds")
      return put_mmds(text, tokens.next());
    if (path == "network-interfaces")
      return identified(ActionKind::InsertNetworkDevice, text, tokens.next(),
                        schema::network_interface, "iface_id", true);
    if (path == "snapshot")
      return put_snapshot(text, tokens.next());
    if (path == "vsock")
      return put_vsock(text);
    if (path == "entropy")
      return with_body(ActionKind::SetEntropyDevice, text,
                       schema::entropy_device);
    if (path == "hotplug" && tokens.next() == "memory")
      return with_body(ActionKind::SetMemoryHotplugDevice, text,
                       schema::memory_hotplug_config);
  }
  if (method == "PUT" && !body)
    return bad_request("Empty PUT request.");

  if (method == "PATCH") {
    if (path == "balloon")
      return patch_balloon(body, tokens);
    if (body) {
      const std::string& text = *body;
      if (path == "drives")
        return identified(ActionKind::UpdateBlockDevice, text, tokens.next(),
                          schema::partial_drive, "drive_id", false);
      if (path == "machine-config")
        return patch_machine_config(text);
      if (path == "mmds")
        return mmds_contents(ActionKind::PatchMmds, text);
      if (path == "network-interfaces")
        return identified(ActionKind::UpdateNetworkInterface, text,
                          tokens.next(), schema::partial_network_interface,
                          "iface_id", true);
      if (path == "pmem")
        return identified(ActionKind::UpdatePmemDevice, text, tokens.next(),
                          schema::partial_pmem, "id", false);
      if (path == "vm")
        return patch_vm(text);
      if (path == "hotplug" && tokens.next() == "memory")
        return with_body(ActionKind::UpdateMemoryHotplugSize, text,
                         schema::memory_hotplug_size_update);
    } else {
      return bad_request("Empty PATCH request.");
    }
  }

  if (method == "DELETE") {
    if (!body &&
        (path == "drives" || path == "pmem" || path == "network-interfaces"))
      return unplug(path, tokens.next());
    if (body)
      return bad_request("Empty Delete request.");
  }

  return invalid_path_method(method, path);
}

} // namespace banger::fc_stub
