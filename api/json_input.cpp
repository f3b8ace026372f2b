#include "api/json_input.hpp"

#include "messages/disk_size.hpp"
#include "messages/excerpt.hpp"
#include "messages/published_ports.hpp"

#include <algorithm>

namespace banger::api {

namespace {

std::string type_name(const nlohmann::json& v) {
  return v.type_name();
}

} // namespace

nlohmann::json parse_body(const std::string& body, const std::string& type,
                          std::span<const std::string_view> allowed) {
  if (body.empty())
    return nlohmann::json::object();
  // curl -d sends its form type unless told otherwise: read as JSON too.
  if (!type.empty() && type.rfind("application/json", 0) != 0 &&
      type.rfind("application/x-www-form-urlencoded", 0) != 0)
    throw BadRequest("the body must be application/json, not " + excerpt(type), 415,
                     "unsupported_media_type");
  nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded())
    throw BadRequest("the body is not JSON");
  if (!j.is_object())
    throw BadRequest("the body must be a JSON object, not " + type_name(j));
  for (auto& [key, value] : j.items()) {
    (void)value;
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      std::string list;
      for (auto a : allowed)
        list += (list.empty() ? "" : ", ") + std::string(a);
      throw BadRequest("unknown field " + excerpt(key) + " (this route takes: "
                       + (list.empty() ? "none" : list) + ")");
    }
  }
  return j;
}

void read(const nlohmann::json& body, std::string_view key, std::string& out) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null())
    return;
  if (!it->is_string())
    throw BadRequest("field " + std::string(key) + " must be a string, not " + type_name(*it));
  out = it->get<std::string>();
}

void read(const nlohmann::json& body, std::string_view key, bool& out) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null())
    return;
  if (!it->is_boolean())
    throw BadRequest("field " + std::string(key) + " must be true or false, not " + type_name(*it));
  out = it->get<bool>();
}

void read(const nlohmann::json& body, std::string_view key, std::uint32_t& out) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null())
    return;
  if (!it->is_number_unsigned() || it->get<std::uint64_t>() > 0xffffffffULL)
    throw BadRequest("field " + std::string(key) + " must be an unsigned 32-bit integer");
  out = static_cast<std::uint32_t>(it->get<std::uint64_t>());
}

void read(const nlohmann::json& body, std::string_view key, std::vector<std::string>& out) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null())
    return;
  if (!it->is_array())
    throw BadRequest("field " + std::string(key) + " must be an array of strings");
  out.clear();
  for (auto& v : *it) {
    if (!v.is_string())
      throw BadRequest("field " + std::string(key) + " must be an array of strings");
    out.push_back(v.get<std::string>());
  }
}

VmSpec vm_spec_of(const nlohmann::json& body) {
  VmSpec spec;
  read(body, "name", spec.name);
  read(body, "image", spec.image);
  read(body, "cpus", spec.cpus);
  read(body, "memory_mib", spec.memory_mib);
  read(body, "start", spec.start);
  read(body, "wait", spec.wait);
  read(body, "no_wait", spec.no_wait);
  read(body, "host", spec.host);
  if (spec.image.empty())
    throw BadRequest("field image is required (an image name or id)");
  std::string disk;
  read(body, "disk", disk);
  if (!disk.empty()) {
    auto bytes = parse_disk_size(disk);
    if (!bytes)
      throw BadRequest("disk: " + bytes.error().message);
    spec.disk_bytes = *bytes;
  }
  std::vector<std::string> ports;
  read(body, "ports", ports);
  for (auto& text : ports) {
    auto mapping = parse_port_mapping(text);
    if (!mapping)
      throw BadRequest("ports: " + mapping.error().message);
    spec.ports.push_back(*mapping);
  }
  return spec;
}

} // namespace banger::api
