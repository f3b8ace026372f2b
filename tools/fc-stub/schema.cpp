// Longer than ~400 lines on purpose: this is one table, the definitions of
// Firecracker v1.16.1's OpenAPI spec written out property by property, so it
// can be read side by side with the spec (tests/fc_stub/spec_test.cpp checks
// it against the YAML). Splitting it would only scatter one list.
#include "tools/fc-stub/schema.hpp"

// The table is laid out one property per line so it reads like the spec;
// clang-format would put every field on its own line.
// clang-format off

namespace banger::fc_stub::schema {
namespace {

using enum Type;
using enum Presence;
using enum Width;

// Enum values, in the order of the Rust enums.
constexpr std::string_view action_types[] = {"FlushMetrics", "InstanceStart",
                                             "SendCtrlAltDel"};
// x86_64 StaticCpuTemplate order; V1N1 (aarch64) is in the spec too.
constexpr std::string_view cpu_templates[] = {"C3",   "T2",  "T2S", "None",
                                              "T2CL", "T2A", "V1N1"};
constexpr std::string_view huge_page_configs[] = {"None", "2M"};
constexpr std::string_view cache_types[] = {"Unsafe", "Writeback"};
constexpr std::string_view io_engines[] = {"Async", "Sync"};
constexpr std::string_view log_levels[] = {"Error", "Warning", "Info",
                                           "Debug", "Trace",   "Off"};
constexpr std::string_view mmds_versions[] = {"V1", "V2"};
constexpr std::string_view vm_states[] = {"Paused", "Resumed"};
constexpr std::string_view snapshot_types[] = {"Diff", "Full"};
constexpr std::string_view memory_backend_types[] = {"File", "Uffd"};
constexpr std::string_view cpuid_registers[] = {"eax", "ebx", "ecx", "edx"};

constexpr Property token_bucket_properties[] = {
    {.name = "size", .type = Integer, .presence = Required, .width = U64,
     .minimum = 0},
    {.name = "one_time_burst", .type = Integer, .presence = Optional,
     .width = U64, .minimum = 0},
    {.name = "refill_time", .type = Integer, .presence = Required,
     .width = U64, .minimum = 0},
};

} // namespace

// TokenBucketConfig has no deny_unknown_fields in Firecracker.
constinit const Definition token_bucket{
    .spec_name = "TokenBucket",
    .rust_name = "TokenBucketConfig",
    .properties = token_bucket_properties,
    .deny_unknown_fields = false,
};

namespace {
constexpr Property rate_limiter_properties[] = {
    {.name = "bandwidth", .type = Object, .presence = Optional,
     .definition = &token_bucket},
    {.name = "ops", .type = Object, .presence = Optional,
     .definition = &token_bucket},
};
} // namespace

constinit const Definition rate_limiter{
    .spec_name = "RateLimiter",
    .rust_name = "RateLimiterConfig",
    .properties = rate_limiter_properties,
};

namespace {
constexpr Property machine_configuration_properties[] = {
    {.name = "vcpu_count", .type = Integer, .presence = Required, .width = U8,
     .minimum = 1, .maximum = 32, .range_check = RangeCheck::Vmm},
    {.name = "mem_size_mib", .type = Integer, .presence = Required,
     .width = Usize},
    {.name = "smt", .type = Boolean, .presence = Defaulted, .absent = "false"},
    {.name = "cpu_template", .type = String, .presence = Optional,
     .variants = cpu_templates, .omit_when_absent = true},
    {.name = "track_dirty_pages", .type = Boolean, .presence = Defaulted,
     .absent = "false"},
    {.name = "huge_pages", .type = String, .presence = Defaulted,
     .variants = huge_page_configs, .absent = "\"None\""},
};

constexpr Property machine_configuration_update_properties[] = {
    {.name = "vcpu_count", .type = Integer, .presence = Optional, .width = U8,
     .minimum = 1, .maximum = 32, .range_check = RangeCheck::Vmm},
    {.name = "mem_size_mib", .type = Integer, .presence = Optional,
     .width = Usize},
    {.name = "smt", .type = Boolean, .presence = Optional},
    {.name = "cpu_template", .type = String, .presence = Optional,
     .variants = cpu_templates},
    {.name = "track_dirty_pages", .type = Boolean, .presence = Optional},
    {.name = "huge_pages", .type = String, .presence = Optional,
     .variants = huge_page_configs},
};

constexpr Property boot_source_properties[] = {
    {.name = "kernel_image_path", .type = String, .presence = Required},
    {.name = "initrd_path", .type = String, .presence = Optional},
    {.name = "boot_args", .type = String, .presence = Optional},
};

constexpr Property drive_properties[] = {
    {.name = "drive_id", .type = String, .presence = Required},
    {.name = "partuuid", .type = String, .presence = Optional},
    {.name = "is_root_device", .type = Boolean, .presence = Required},
    {.name = "cache_type", .type = String, .presence = Defaulted,
     .variants = cache_types, .absent = "\"Unsafe\""},
    {.name = "is_read_only", .type = Boolean, .presence = Optional},
    {.name = "path_on_host", .type = String, .presence = Optional},
    {.name = "rate_limiter", .type = Object, .presence = Optional,
     .definition = &rate_limiter},
    {.name = "io_engine", .type = String, .presence = Optional,
     .variants = io_engines},
    {.name = "socket", .type = String, .presence = Optional},
};

constexpr Property partial_drive_properties[] = {
    {.name = "drive_id", .type = String, .presence = Required},
    {.name = "path_on_host", .type = String, .presence = Optional},
    {.name = "rate_limiter", .type = Object, .presence = Optional,
     .definition = &rate_limiter},
};

constexpr Property network_interface_properties[] = {
    {.name = "iface_id", .type = String, .presence = Required},
    {.name = "host_dev_name", .type = String, .presence = Required},
    {.name = "guest_mac", .type = String, .presence = Optional,
     .format = Format::MacAddress},
    {.name = "mtu", .type = Integer, .presence = Optional, .width = U16,
     .minimum = 68, .maximum = 65535, .range_check = RangeCheck::Vmm},
    {.name = "rx_rate_limiter", .type = Object, .presence = Optional,
     .definition = &rate_limiter},
    {.name = "tx_rate_limiter", .type = Object, .presence = Optional,
     .definition = &rate_limiter},
};

constexpr Property partial_network_interface_properties[] = {
    {.name = "iface_id", .type = String, .presence = Required},
    {.name = "rx_rate_limiter", .type = Object, .presence = Optional,
     .definition = &rate_limiter},
    {.name = "tx_rate_limiter", .type = Object, .presence = Optional,
     .definition = &rate_limiter},
};

// Firecracker does not check guest_cid; the spec's minimum is enforced by the
// stub so that a control plane sending CID 0..2 is caught in tests.
constexpr Property vsock_properties[] = {
    {.name = "vsock_id", .type = String, .presence = Optional,
     .omit_when_absent = true},
    {.name = "guest_cid", .type = Integer, .presence = Required, .width = U32,
     .minimum = 3},
    {.name = "uds_path", .type = String, .presence = Required},
};

constexpr Property instance_action_info_properties[] = {
    {.name = "action_type", .type = String, .presence = Required,
     .variants = action_types},
};

constexpr Property logger_properties[] = {
    {.name = "log_path", .type = String, .presence = Optional,
     .format = Format::Path},
    {.name = "level", .type = String, .presence = Optional,
     .format = Format::LogLevel, .variants = log_levels},
    {.name = "show_level", .type = Boolean, .presence = Optional},
    {.name = "show_log_origin", .type = Boolean, .presence = Optional},
    {.name = "module", .type = String, .presence = Optional},
};

constexpr Property metrics_properties[] = {
    {.name = "metrics_path", .type = String, .presence = Required,
     .format = Format::Path},
};

constexpr Property balloon_properties[] = {
    {.name = "amount_mib", .type = Integer, .presence = Required, .width = U32},
    {.name = "deflate_on_oom", .type = Boolean, .presence = Required},
    {.name = "stats_polling_interval_s", .type = Integer,
     .presence = Defaulted, .width = U16, .absent = "0"},
    {.name = "free_page_hinting", .type = Boolean, .presence = Defaulted,
     .absent = "false"},
    {.name = "free_page_reporting", .type = Boolean, .presence = Defaulted,
     .absent = "false"},
};

constexpr Property balloon_update_properties[] = {
    {.name = "amount_mib", .type = Integer, .presence = Required, .width = U32},
};

constexpr Property balloon_stats_update_properties[] = {
    {.name = "stats_polling_interval_s", .type = Integer, .presence = Required,
     .width = U16},
};

constexpr Property balloon_start_command_properties[] = {
    {.name = "acknowledge_on_stop", .type = Boolean, .presence = Defaulted,
     .absent = "false"},
};

constexpr Property mmds_config_properties[] = {
    {.name = "version", .type = String, .presence = Defaulted,
     .variants = mmds_versions, .absent = "\"V1\""},
    {.name = "network_interfaces", .type = Array, .presence = Required,
     .item_type = String},
    {.name = "ipv4_address", .type = String, .presence = Optional,
     .format = Format::Ipv4Address},
    {.name = "imds_compat", .type = Boolean, .presence = Defaulted,
     .absent = "false"},
};

constexpr Property entropy_device_properties[] = {
    {.name = "rate_limiter", .type = Object, .presence = Optional,
     .definition = &rate_limiter},
};

constexpr Property vm_state_properties[] = {
    {.name = "state", .type = String, .presence = Required,
     .variants = vm_states},
};

constexpr Property snapshot_create_properties[] = {
    {.name = "snapshot_type", .type = String, .presence = Defaulted,
     .variants = snapshot_types, .absent = "\"Full\""},
    {.name = "snapshot_path", .type = String, .presence = Required,
     .format = Format::Path},
    {.name = "mem_file_path", .type = String, .presence = Required,
     .format = Format::Path},
};

constexpr Property memory_backend_properties[] = {
    {.name = "backend_path", .type = String, .presence = Required,
     .format = Format::Path},
    {.name = "backend_type", .type = String, .presence = Required,
     .variants = memory_backend_types},
};
} // namespace

constinit const Definition memory_backend{
    .spec_name = "MemoryBackend",
    .rust_name = "MemBackendConfig",
    .properties = memory_backend_properties,
};

namespace {
constexpr Property network_override_properties[] = {
    {.name = "iface_id", .type = String, .presence = Required},
    {.name = "host_dev_name", .type = String, .presence = Required},
};
} // namespace

constinit const Definition network_override{
    .spec_name = "NetworkOverride",
    .rust_name = "NetworkOverride",
    .properties = network_override_properties,
    .deny_unknown_fields = false,
};

namespace {
constexpr Property vsock_override_properties[] = {
    {.name = "uds_path", .type = String, .presence = Required},
};
} // namespace

constinit const Definition vsock_override{
    .spec_name = "VsockOverride",
    .rust_name = "VsockOverride",
    .properties = vsock_override_properties,
    .deny_unknown_fields = false,
};

namespace {
constexpr Property snapshot_load_properties[] = {
    {.name = "snapshot_path", .type = String, .presence = Required,
     .format = Format::Path},
    {.name = "mem_file_path", .type = String, .presence = Optional,
     .format = Format::Path, .omit_when_absent = true},
    {.name = "mem_backend", .type = Object, .presence = Optional,
     .definition = &memory_backend, .omit_when_absent = true},
    {.name = "enable_diff_snapshots", .type = Boolean, .presence = Defaulted,
     .absent = "false"},
    {.name = "track_dirty_pages", .type = Boolean, .presence = Defaulted,
     .absent = "false"},
    {.name = "resume_vm", .type = Boolean, .presence = Defaulted,
     .absent = "false"},
    {.name = "network_overrides", .type = Array, .presence = Defaulted,
     .definition = &network_override, .item_type = Object, .absent = "[]"},
    {.name = "vsock_override", .type = Object, .presence = Optional,
     .definition = &vsock_override, .omit_when_absent = true},
    {.name = "clock_realtime", .type = Boolean, .presence = Defaulted,
     .absent = "false"},
};

constexpr Property pmem_properties[] = {
    {.name = "id", .type = String, .presence = Required},
    {.name = "path_on_host", .type = String, .presence = Required},
    {.name = "root_device", .type = Boolean, .presence = Defaulted,
     .absent = "false"},
    {.name = "read_only", .type = Boolean, .presence = Defaulted,
     .absent = "false"},
    {.name = "rate_limiter", .type = Object, .presence = Optional,
     .definition = &rate_limiter},
};

constexpr Property partial_pmem_properties[] = {
    {.name = "id", .type = String, .presence = Required},
    {.name = "rate_limiter", .type = Object, .presence = Optional,
     .definition = &rate_limiter},
};

constexpr Property serial_device_properties[] = {
    {.name = "serial_out_path", .type = String, .presence = Optional,
     .format = Format::Path},
    {.name = "rate_limiter", .type = Object, .presence = Optional,
     .definition = &token_bucket},
};

// The spec marks nothing required here, but Firecracker's struct has no
// default for total_size_mib.
constexpr Property memory_hotplug_config_properties[] = {
    {.name = "total_size_mib", .type = Integer, .presence = Required,
     .width = Usize},
    {.name = "block_size_mib", .type = Integer, .presence = Defaulted,
     .width = Usize, .minimum = 2, .range_check = RangeCheck::Vmm,
     .absent = "2"},
    {.name = "slot_size_mib", .type = Integer, .presence = Defaulted,
     .width = Usize, .minimum = 128, .range_check = RangeCheck::Vmm,
     .absent = "128"},
};

constexpr Property memory_hotplug_size_update_properties[] = {
    {.name = "requested_size_mib", .type = Integer, .presence = Required,
     .width = Usize},
};

constexpr Property cpuid_register_modifier_properties[] = {
    {.name = "register", .type = String, .presence = Required,
     .variants = cpuid_registers},
    {.name = "bitmap", .type = String, .presence = Required},
};
} // namespace

constinit const Definition cpuid_register_modifier{
    .spec_name = "CpuidRegisterModifier",
    .rust_name = "CpuidRegisterModifier",
    .properties = cpuid_register_modifier_properties,
};

namespace {
constexpr Property cpuid_leaf_modifier_properties[] = {
    {.name = "leaf", .type = String, .presence = Required},
    {.name = "subleaf", .type = String, .presence = Required},
    {.name = "flags", .type = Integer, .presence = Required, .width = I32},
    {.name = "modifiers", .type = Array, .presence = Required,
     .definition = &cpuid_register_modifier, .item_type = Object},
};

constexpr Property register_modifier_properties[] = {
    {.name = "addr", .type = String, .presence = Required},
    {.name = "bitmap", .type = String, .presence = Required},
};

constexpr Property vcpu_features_properties[] = {
    {.name = "index", .type = Integer, .presence = Required, .width = I32},
    {.name = "bitmap", .type = String, .presence = Required},
};
} // namespace

constinit const Definition cpuid_leaf_modifier{
    .spec_name = "CpuidLeafModifier",
    .rust_name = "CpuidLeafModifier",
    .properties = cpuid_leaf_modifier_properties,
};
constinit const Definition msr_modifier{
    .spec_name = "MsrModifier",
    .rust_name = "RegisterModifier",
    .properties = register_modifier_properties,
};
constinit const Definition arm_register_modifier{
    .spec_name = "ArmRegisterModifier",
    .rust_name = "RegisterModifier",
    .properties = register_modifier_properties,
};
constinit const Definition vcpu_features{
    .spec_name = "VcpuFeatures",
    .rust_name = "VcpuFeatures",
    .properties = vcpu_features_properties,
};

namespace {
constexpr Property cpu_config_properties[] = {
    {.name = "kvm_capabilities", .type = Array, .presence = Defaulted,
     .item_type = String, .absent = "[]"},
    {.name = "cpuid_modifiers", .type = Array, .presence = Defaulted,
     .definition = &cpuid_leaf_modifier, .item_type = Object, .absent = "[]"},
    {.name = "msr_modifiers", .type = Array, .presence = Defaulted,
     .definition = &msr_modifier, .item_type = Object, .absent = "[]"},
    {.name = "reg_modifiers", .type = Array, .presence = Defaulted,
     .definition = &arm_register_modifier, .item_type = Object,
     .absent = "[]"},
    {.name = "vcpu_features", .type = Array, .presence = Defaulted,
     .definition = &vcpu_features, .item_type = Object, .absent = "[]"},
};
} // namespace

constinit const Definition machine_configuration{
    .spec_name = "MachineConfiguration",
    .rust_name = "MachineConfig",
    .properties = machine_configuration_properties,
};
// PATCH /machine-config takes the same spec definition, but Firecracker
// deserializes it into MachineConfigUpdate where every field is optional.
constinit const Definition machine_configuration_update{
    .spec_name = "MachineConfiguration",
    .rust_name = "MachineConfigUpdate",
    .properties = machine_configuration_update_properties,
    .partial = true,
    .required_from_code = true,
};
constinit const Definition boot_source{
    .spec_name = "BootSource",
    .rust_name = "BootSourceConfig",
    .properties = boot_source_properties,
};
constinit const Definition drive{
    .spec_name = "Drive",
    .rust_name = "BlockDeviceConfig",
    .properties = drive_properties,
};
constinit const Definition partial_drive{
    .spec_name = "PartialDrive",
    .rust_name = "BlockDeviceUpdateConfig",
    .properties = partial_drive_properties,
};
constinit const Definition network_interface{
    .spec_name = "NetworkInterface",
    .rust_name = "NetworkInterfaceConfig",
    .properties = network_interface_properties,
};
constinit const Definition partial_network_interface{
    .spec_name = "PartialNetworkInterface",
    .rust_name = "NetworkInterfaceUpdateConfig",
    .properties = partial_network_interface_properties,
};
constinit const Definition vsock{
    .spec_name = "Vsock",
    .rust_name = "VsockDeviceConfig",
    .properties = vsock_properties,
};
constinit const Definition instance_action_info{
    .spec_name = "InstanceActionInfo",
    .rust_name = "ActionBody",
    .properties = instance_action_info_properties,
};
constinit const Definition logger{
    .spec_name = "Logger",
    .rust_name = "LoggerConfig",
    .properties = logger_properties,
};
// MetricsConfig has no deny_unknown_fields in Firecracker.
constinit const Definition metrics{
    .spec_name = "Metrics",
    .rust_name = "MetricsConfig",
    .properties = metrics_properties,
    .deny_unknown_fields = false,
};
constinit const Definition balloon{
    .spec_name = "Balloon",
    .rust_name = "BalloonDeviceConfig",
    .properties = balloon_properties,
};
constinit const Definition balloon_update{
    .spec_name = "BalloonUpdate",
    .rust_name = "BalloonUpdateConfig",
    .properties = balloon_update_properties,
};
constinit const Definition balloon_stats_update{
    .spec_name = "BalloonStatsUpdate",
    .rust_name = "BalloonUpdateStatsConfig",
    .properties = balloon_stats_update_properties,
};
constinit const Definition balloon_start_command{
    .spec_name = "BalloonStartCmd",
    .rust_name = "StartHintingCmd",
    .properties = balloon_start_command_properties,
};
constinit const Definition mmds_config{
    .spec_name = "MmdsConfig",
    .rust_name = "MmdsConfig",
    .properties = mmds_config_properties,
};
constinit const Definition entropy_device{
    .spec_name = "EntropyDevice",
    .rust_name = "EntropyDeviceConfig",
    .properties = entropy_device_properties,
};
constinit const Definition vm_state{
    .spec_name = "Vm",
    .rust_name = "Vm",
    .properties = vm_state_properties,
};
constinit const Definition snapshot_create_parameters{
    .spec_name = "SnapshotCreateParams",
    .rust_name = "CreateSnapshotParams",
    .properties = snapshot_create_properties,
};
constinit const Definition snapshot_load_parameters{
    .spec_name = "SnapshotLoadParams",
    .rust_name = "LoadSnapshotConfig",
    .properties = snapshot_load_properties,
};
constinit const Definition pmem{
    .spec_name = "Pmem",
    .rust_name = "PmemConfig",
    .properties = pmem_properties,
};
constinit const Definition partial_pmem{
    .spec_name = "PartialPmem",
    .rust_name = "PmemDeviceUpdateConfig",
    .properties = partial_pmem_properties,
};
constinit const Definition serial_device{
    .spec_name = "SerialDevice",
    .rust_name = "SerialConfig",
    .properties = serial_device_properties,
};
constinit const Definition memory_hotplug_config{
    .spec_name = "MemoryHotplugConfig",
    .rust_name = "MemoryHotplugConfig",
    .properties = memory_hotplug_config_properties,
    .required_from_code = true,
};
constinit const Definition memory_hotplug_size_update{
    .spec_name = "MemoryHotplugSizeUpdate",
    .rust_name = "MemoryHotplugSizeUpdate",
    .properties = memory_hotplug_size_update_properties,
    .required_from_code = true,
};
constinit const Definition cpu_config{
    .spec_name = "CpuConfig",
    .rust_name = "CustomCpuTemplate",
    .properties = cpu_config_properties,
};

namespace {
// The --config-file document (Firecracker's VmmConfig): kebab-case sections,
// unknown sections ignored, boot-source and drives mandatory.
constexpr Property full_vm_configuration_properties[] = {
    {.name = "balloon", .type = Object, .presence = Optional,
     .definition = &balloon},
    {.name = "drives", .type = Array, .presence = Required,
     .definition = &drive, .item_type = Object},
    {.name = "boot-source", .type = Object, .presence = Required,
     .definition = &boot_source},
    {.name = "cpu-config", .type = Object, .presence = Optional,
     .definition = &cpu_config, .format = Format::PathOrObject},
    {.name = "logger", .type = Object, .presence = Optional,
     .definition = &logger},
    {.name = "machine-config", .type = Object, .presence = Optional,
     .definition = &machine_configuration},
    {.name = "metrics", .type = Object, .presence = Optional,
     .definition = &metrics},
    {.name = "mmds-config", .type = Object, .presence = Optional,
     .definition = &mmds_config},
    {.name = "network-interfaces", .type = Array, .presence = Defaulted,
     .definition = &network_interface, .item_type = Object, .absent = "[]"},
    {.name = "vsock", .type = Object, .presence = Optional,
     .definition = &vsock},
    {.name = "entropy", .type = Object, .presence = Optional,
     .definition = &entropy_device},
    {.name = "pmem", .type = Array, .presence = Defaulted,
     .definition = &pmem, .item_type = Object, .absent = "[]"},
    {.name = "memory-hotplug", .type = Object, .presence = Optional,
     .definition = &memory_hotplug_config},
};
} // namespace

constinit const Definition full_vm_configuration{
    .spec_name = "FullVmConfiguration",
    .rust_name = "VmmConfig",
    .properties = full_vm_configuration_properties,
    .deny_unknown_fields = false,
    .required_from_code = true,
};

namespace {
constexpr const Definition* definitions[] = {
    &token_bucket,
    &rate_limiter,
    &machine_configuration,
    &machine_configuration_update,
    &boot_source,
    &drive,
    &partial_drive,
    &network_interface,
    &partial_network_interface,
    &vsock,
    &instance_action_info,
    &logger,
    &metrics,
    &balloon,
    &balloon_update,
    &balloon_stats_update,
    &balloon_start_command,
    &mmds_config,
    &entropy_device,
    &vm_state,
    &snapshot_create_parameters,
    &snapshot_load_parameters,
    &memory_backend,
    &network_override,
    &vsock_override,
    &pmem,
    &partial_pmem,
    &serial_device,
    &memory_hotplug_config,
    &memory_hotplug_size_update,
    &cpu_config,
    &cpuid_leaf_modifier,
    &cpuid_register_modifier,
    &msr_modifier,
    &arm_register_modifier,
    &vcpu_features,
    &full_vm_configuration,
};
} // namespace

std::span<const Definition* const> all_definitions() { return definitions; }

} // namespace banger::fc_stub::schema

// clang-format on
