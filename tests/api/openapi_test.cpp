// docs/api.yaml against the server, both ways: every route the server
// serves is documented and every documented route is served (the route
// table, api/routes.hpp), and every documented route, asked of a running
// daemon, answers with a status it documents and a body of the documented
// schema (types of each field, and the fields it requires). The second
// case needs root (the daemon's helper) and is skipped otherwise.
#include "api/routes.hpp"
#include "tests/api/api_client.hpp"
#include "tests/support/skip.hpp"

#include <doctest/doctest.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <set>

using namespace banger;
using namespace banger::test;
using namespace std::chrono_literals;

namespace {

YAML::Node spec() {
  return YAML::LoadFile(API_SPEC_PATH);
}

std::string upper(std::string s) {
  for (auto& c : s)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::set<std::string> documented_routes(const YAML::Node& doc) {
  std::set<std::string> out;
  for (auto path : doc["paths"])
    for (auto op : path.second)
      if (op.first.as<std::string>() != "parameters")
        out.insert(upper(op.first.as<std::string>()) + " " + path.first.as<std::string>());
  return out;
}

/// "#/components/schemas/Vm" -> the node. (A YAML::Node is a reference:
/// plain assignment would write into the document, so reset() re-points.)
YAML::Node resolve(const YAML::Node& doc, YAML::Node schema) {
  while (schema["$ref"]) {
    auto ref = schema["$ref"].as<std::string>();
    REQUIRE(ref.rfind("#/components/schemas/", 0) == 0);
    schema.reset(doc["components"]["schemas"][ref.substr(21)]);
    REQUIRE_MESSAGE(schema, ref);
  }
  if (schema["allOf"] && schema["allOf"].size() == 1)
    return resolve(doc, schema["allOf"][0]);
  return schema;
}

/// Checks `value` against `schema`: its type, the fields it requires, and
/// (recursively) the fields it has that the schema describes.
void check_value(const YAML::Node& doc, YAML::Node schema, const nlohmann::json& value,
                 const std::string& where, int depth = 0) {
  auto nullable = [](const YAML::Node& s) { return s["nullable"] && s["nullable"].as<bool>(); };
  // nullable sits beside the allOf that names the type.
  bool may_be_null = nullable(schema);
  schema.reset(resolve(doc, schema));
  if (value.is_null()) {
    CHECK_MESSAGE((may_be_null || nullable(schema)), where << " is null");
    return;
  }
  if (!schema["type"] || depth > 6)
    return;
  auto type = schema["type"].as<std::string>();
  if (type == "object") {
    REQUIRE_MESSAGE(value.is_object(), where << " is not an object: " << value.dump());
    for (auto field : schema["required"])
      CHECK_MESSAGE(value.contains(field.as<std::string>()), where << " lacks " << field.as<std::string>());
    for (auto prop : schema["properties"]) {
      auto key = prop.first.as<std::string>();
      if (value.contains(key))
        check_value(doc, prop.second, value[key], where + "." + key, depth + 1);
    }
  } else if (type == "array") {
    REQUIRE_MESSAGE(value.is_array(), where << " is not an array");
    for (std::size_t i = 0; i < value.size(); ++i)
      check_value(doc, schema["items"], value[i], where + "[" + std::to_string(i) + "]", depth + 1);
  } else if (type == "string") {
    CHECK_MESSAGE(value.is_string(), where << " is not a string: " << value.dump());
    if (schema["enum"] && value.is_string()) {
      bool listed = false;
      for (auto e : schema["enum"])
        listed = listed || e.as<std::string>() == value.get<std::string>();
      CHECK_MESSAGE(listed, where << " = " << value.dump() << " is not in its enum");
    }
  } else if (type == "integer") {
    CHECK_MESSAGE(value.is_number_integer(), where << " is not an integer: " << value.dump());
  } else if (type == "number") {
    CHECK_MESSAGE(value.is_number(), where << " is not a number");
  } else if (type == "boolean") {
    CHECK_MESSAGE(value.is_boolean(), where << " is not a boolean");
  }
}

} // namespace

TEST_CASE("docs/api.yaml documents every route the server serves, and no other") {
  auto doc = spec();
  CHECK(doc["openapi"].as<std::string>().rfind("3.", 0) == 0);
  auto documented = documented_routes(doc);
  std::set<std::string> served;
  for (auto& route : api::routes())
    served.insert(std::string(route.method) + " " + route.path);
  for (auto& r : served)
    CHECK_MESSAGE(documented.count(r) == 1, r << " is served but not in docs/api.yaml");
  for (auto& r : documented)
    CHECK_MESSAGE(served.count(r) == 1, r << " is in docs/api.yaml but not served");
}

TEST_CASE("every documented route answers as docs/api.yaml says") {
  BANGER_REQUIRE_ROOT();
  if (!have_program("curl"))
    BANGER_SKIP("curl is not installed");
  auto doc = spec();
  ApiHost api({}, {std::string("FC_STUB_GUEST_AGENT=") + GUEST_AGENT_BIN});
  api.start();
  auto image = api.host().add_image("tiny");
  auto created = api.call("POST", "/v1/vms", R"({"name": "web", "image": "tiny", "start": true})");
  REQUIRE_MESSAGE(created.status == 201, created.body);
  REQUIRE(eventually([&] { return !api.get("/v1/vms/web").json()["agent"].get<std::string>().empty(); },
                     20s, 20ms));
  REQUIRE(api.call("POST", "/v1/vms/web/snapshots", R"({"name": "s1"})").status == 201);
  auto create_op = created.header("X-Banger-Op-Id");
  std::ofstream(api.host().path("readable.txt")) << "a file\n";
  // An import, so its status route has an op to show.
  auto import = api.call("POST", "/v1/images", nlohmann::json{{"name", "tiny-b"},
                                                              {"kernel", image.kernel_path},
                                                              {"rootfs", image.rootfs_path}}.dump());
  REQUIRE_MESSAGE(import.status == 202, import.body);
  auto import_op = import.json()["op_id"].get<std::string>();

  for (auto path_node : doc["paths"]) {
    auto path = path_node.first.as<std::string>();
    for (auto op_node : path_node.second) {
      auto method = upper(op_node.first.as<std::string>());
      bool reads = method == "GET";
      // Reads are asked of the objects made above; a change is asked of a
      // VM that does not exist, so every route is exercised and nothing
      // made above is altered.
      std::string url = path;
      auto put = [&](const std::string& param, const std::string& value) {
        if (auto at = url.find("{" + param + "}"); at != std::string::npos)
          url.replace(at, param.size() + 2, value);
      };
      put("ref", path.rfind("/v1/images", 0) == 0 ? (reads ? "tiny" : "nosuch") : (reads ? "web" : "nosuch"));
      put("name", "s1");
      put("file", "app.js");
      put("op_id", path.rfind("/v1/images", 0) == 0 ? import_op : create_op);
      std::string body;
      std::vector<std::string> extra;
      if (path == "/v1/vms/{ref}/files")
        url += "?path=" + api.host().path("readable.txt");
      if (path == "/v1/vms" && method == "POST")
        body = R"({"image": "nosuch"})";
      if (path == "/v1/images" && method == "POST")
        body = R"({"name": "bad", "kernel": "relative", "rootfs": "relative"})";
      if (path == "/v1/events")
        extra = {"--max-time", "2"}; // a stream: read its start, then hang up
      auto reply = api.call(method, url, body, extra);
      INFO(method << " " << url << " -> " << reply.status << " " << reply.body.substr(0, 300));
      REQUIRE(reply.status != 0);
      auto responses = op_node.second["responses"];
      auto key = std::to_string(reply.status);
      auto documented = responses[key] ? responses[key]
                        : reply.status >= 400 ? responses["default"] : YAML::Node{};
      REQUIRE_MESSAGE(documented, "status " << key << " is not documented for " << method << " " << path);
      // The op_id header rides on every answer.
      CHECK(reply.header("X-Banger-Op-Id").size() == 15);
      if (!documented["content"])
        continue;
      auto type = reply.header("Content-Type");
      auto media = type.substr(0, type.find(';'));
      auto content = documented["content"][media];
      REQUIRE_MESSAGE(content, "content type " << media << " is not documented");
      if (media == "application/json")
        check_value(doc, content["schema"], reply.json(), method + " " + path);
    }
  }
}
