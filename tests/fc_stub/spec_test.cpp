// Keeps fc-stub's compiled-in schema table honest: every definition and
// property it validates must match the Firecracker v1.16.1 OpenAPI spec it
// was derived from (type, required-ness, enum values, ranges, references),
// and every request body the spec declares must be validated.
#include "tools/fc-stub/schema.hpp"

#include <algorithm>
#include <doctest/doctest.h>
#include <set>
#include <string>
#include <yaml-cpp/yaml.h>

namespace banger::fc_stub::test {
namespace {

using schema::Definition;
using schema::Presence;
using schema::Property;
using schema::Type;

const YAML::Node& spec() {
  static const YAML::Node document = YAML::LoadFile(FC_STUB_SPEC_PATH);
  return document;
}

std::string reference_name(const YAML::Node& node) {
  std::string reference = node["$ref"].as<std::string>();
  return reference.substr(reference.rfind('/') + 1);
}

// A property's own node, or the definition it refers to when that is a
// plain type (CpuTemplate is a string enum defined on its own).
YAML::Node resolved(const YAML::Node& property) {
  if (property["$ref"]) {
    YAML::Node target = spec()["definitions"][reference_name(property)];
    if (target["type"] && target["type"].as<std::string>() != "object")
      return target;
  }
  return property;
}

std::string spec_type(const YAML::Node& property) {
  YAML::Node node = resolved(property);
  if (node["type"])
    return node["type"].as<std::string>();
  return node["$ref"] ? "object" : "unknown";
}

std::string_view table_type(Type type) {
  switch (type) {
  case Type::String:
    return "string";
  case Type::Boolean:
    return "boolean";
  case Type::Integer:
    return "integer";
  case Type::Array:
    return "array";
  case Type::Object:
    return "object";
  }
  return "?";
}

std::set<std::string> spec_required(const YAML::Node& definition) {
  std::set<std::string> names;
  for (const auto& name : definition["required"])
    names.insert(name.as<std::string>());
  return names;
}

TEST_CASE("every definition in the schema table exists in the spec") {
  for (const Definition* definition : schema::all_definitions()) {
    INFO(definition->spec_name);
    CHECK(spec()["definitions"][std::string(definition->spec_name)]);
  }
}

TEST_CASE("every table property matches the spec's type, required-ness, "
          "enum and range") {
  for (const Definition* definition : schema::all_definitions()) {
    YAML::Node spec_definition =
        spec()["definitions"][std::string(definition->spec_name)];
    REQUIRE(spec_definition);
    std::set<std::string> required = spec_required(spec_definition);
    for (const Property& property : definition->properties) {
      std::string name(property.name);
      INFO(definition->spec_name << "." << name);
      YAML::Node spec_property = spec_definition["properties"][name];
      REQUIRE(spec_property);

      CHECK(spec_type(spec_property) == table_type(property.type));

      if (property.type == Type::Object) {
        REQUIRE(spec_property["$ref"]);
        CHECK(reference_name(spec_property) == property.definition->spec_name);
      }
      if (property.type == Type::Array) {
        YAML::Node items = spec_property["items"];
        if (property.item_type == Type::Object)
          CHECK(reference_name(items) == property.definition->spec_name);
        else
          CHECK(items["type"].as<std::string>() ==
                table_type(property.item_type));
      }

      YAML::Node node = resolved(spec_property);
      std::set<std::string> spec_enum, table_enum;
      for (const auto& value : node["enum"])
        spec_enum.insert(value.as<std::string>());
      for (std::string_view value : property.variants)
        table_enum.insert(std::string(value));
      CHECK(spec_enum == table_enum);

      std::optional<std::int64_t> minimum, maximum;
      if (node["minimum"])
        minimum = node["minimum"].as<std::int64_t>();
      if (node["maximum"])
        maximum = node["maximum"].as<std::int64_t>();
      CHECK(minimum == property.minimum);
      CHECK(maximum == property.maximum);

      if (!definition->required_from_code)
        CHECK(required.contains(name) ==
              (property.presence == Presence::Required));
    }
  }
}

TEST_CASE("every spec property of a validated definition is in the table") {
  for (const Definition* definition : schema::all_definitions()) {
    YAML::Node spec_definition =
        spec()["definitions"][std::string(definition->spec_name)];
    for (const auto& entry : spec_definition["properties"]) {
      std::string name = entry.first.as<std::string>();
      INFO(definition->spec_name << "." << name);
      CHECK(std::any_of(
          definition->properties.begin(), definition->properties.end(),
          [&](const Property& property) { return property.name == name; }));
    }
  }
}

TEST_CASE("the documented exceptions to the spec's required lists are the "
          "only ones") {
  // Firecracker's code is stricter than the spec here, and the stub follows
  // the code; any other disagreement must fail the test above.
  std::set<std::string> exceptions;
  for (const Definition* definition : schema::all_definitions())
    if (definition->required_from_code)
      exceptions.insert(std::string(definition->rust_name));
  CHECK(exceptions ==
        std::set<std::string>{"MachineConfigUpdate", "MemoryHotplugConfig",
                              "MemoryHotplugSizeUpdate", "VmmConfig"});
}

TEST_CASE("every request body the spec declares is validated by the stub") {
  std::set<std::string> validated;
  for (const Definition* definition : schema::all_definitions())
    validated.insert(std::string(definition->spec_name));
  for (const auto& path : spec()["paths"]) {
    for (const auto& operation : path.second) {
      for (const auto& parameter : operation.second["parameters"]) {
        if (parameter["in"].as<std::string>() != "body")
          continue;
        std::string body = reference_name(parameter["schema"]);
        INFO(operation.first.as<std::string>()
             << " " << path.first.as<std::string>() << " takes " << body);
        // MMDS contents are free-form objects, validated as such.
        if (body == "MmdsContentsObject")
          continue;
        CHECK(validated.contains(body));
      }
    }
  }
}

} // namespace
} // namespace banger::fc_stub::test
