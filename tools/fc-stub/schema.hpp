// The request bodies fc-stub accepts, as a compact table derived from the
// Firecracker v1.16.1 OpenAPI spec
// (tools/fc-stub/spec/firecracker-v1.16.1.yaml).
//
// The spec gives names, JSON types, required-ness, enums and ranges. The
// table adds what only Firecracker's Rust types know, because the stub must
// fail the same way: property order (serde reports the first missing field
// in declaration order and lists fields in that order), integer widths (u8
// overflow is a serde error), which structs reject unknown fields, and what
// an absent value serializes to in GET responses.
//
// Everything is constant-initialized: the stub is spawned hundreds of times
// per second and must not build tables at start-up. tests/fc_stub checks this
// table against the YAML so the two cannot drift apart.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace banger::fc_stub::schema {

enum class Type : std::uint8_t {
  String,
  Boolean,
  Integer,
  Object, // a spec definition
  Array,
};

enum class Presence : std::uint8_t {
  Required,  // plain Rust field: absent -> "missing field"
  Optional,  // Option<T>: absent or null both mean "not set"
  Defaulted, // #[serde(default)]: may be absent, but null is a type error
};

// Rust integer type behind a spec "integer"; serde names it in errors.
enum class Width : std::uint8_t { None, U8, U16, U32, U64, Usize, I32 };

// Strings that Firecracker deserializes through a custom type.
enum class Format : std::uint8_t {
  Plain,
  Path,         // PathBuf: serde expects a "path string"
  MacAddress,   // MacAddr: "xx:xx:xx:xx:xx:xx"
  Ipv4Address,  // std::net::Ipv4Addr
  LogLevel,     // LevelFilter: case-insensitive, also accepts "warn"
  PathOrObject, // untagged CustomCpuTemplateOrPath in the config file
};

// Who enforces the spec's minimum/maximum. Firecracker itself checks some
// ranges deep in the VMM with its own message; the stub must reply with that
// message, so those are left to the state machine.
enum class RangeCheck : std::uint8_t { Decoder, Vmm };

struct Definition;

struct Property {
  std::string_view name;
  Type type;
  Presence presence;
  Width width = Width::None;
  // Object: its definition. Array: the item definition when items are objects.
  const Definition* definition = nullptr;
  Type item_type = Type::String; // Array only
  Format format = Format::Plain;
  // Allowed strings, in Rust declaration order (serde lists them that way).
  std::span<const std::string_view> variants = {};
  std::optional<std::int64_t> minimum = std::nullopt;
  std::optional<std::int64_t> maximum = std::nullopt;
  RangeCheck range_check = RangeCheck::Decoder;
  // JSON text serialized when the field is absent (serde default / None).
  std::string_view absent = "null";
  // #[serde(skip_serializing_if = "Option::is_none")]
  bool omit_when_absent = false;
};

struct Definition {
  std::string_view spec_name; // name under `definitions:` in the spec
  std::string_view rust_name; // serde's "expected struct X"
  std::span<const Property> properties;
  bool deny_unknown_fields = true;
  // Every field optional and absent fields left out (PATCH update structs).
  bool partial = false;
  // Firecracker's code disagrees with the spec's `required` list; the stub
  // follows the code. The spec cross-check test skips required-ness here.
  bool required_from_code = false;
};

extern const Definition token_bucket;
extern const Definition rate_limiter;
extern const Definition machine_configuration;
extern const Definition machine_configuration_update;
extern const Definition boot_source;
extern const Definition drive;
extern const Definition partial_drive;
extern const Definition network_interface;
extern const Definition partial_network_interface;
extern const Definition vsock;
extern const Definition instance_action_info;
extern const Definition logger;
extern const Definition metrics;
extern const Definition balloon;
extern const Definition balloon_update;
extern const Definition balloon_stats_update;
extern const Definition balloon_start_command;
extern const Definition mmds_config;
extern const Definition entropy_device;
extern const Definition vm_state;
extern const Definition snapshot_create_parameters;
extern const Definition snapshot_load_parameters;
extern const Definition memory_backend;
extern const Definition network_override;
extern const Definition vsock_override;
extern const Definition pmem;
extern const Definition partial_pmem;
extern const Definition serial_device;
extern const Definition memory_hotplug_config;
extern const Definition memory_hotplug_size_update;
extern const Definition cpu_config;
extern const Definition cpuid_leaf_modifier;
extern const Definition cpuid_register_modifier;
extern const Definition msr_modifier;
extern const Definition arm_register_modifier;
extern const Definition vcpu_features;
extern const Definition full_vm_configuration;

/// Every definition above, for the spec cross-check.
std::span<const Definition* const> all_definitions();

} // namespace banger::fc_stub::schema
