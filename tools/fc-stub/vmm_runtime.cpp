// Post-boot operations and the --config-file start.
#include "tools/fc-stub/decoder.hpp"
#include "tools/fc-stub/system.hpp"
#include "tools/fc-stub/vmm.hpp"
#include "tools/fc-stub/vmm_support.hpp"

#include <cerrno>
#include <fcntl.h>
#include <unistd.h>

namespace banger::fc_stub {

using namespace vmm_support;

namespace {

std::string metrics_line() {
  OrderedJson line = {{"utc_timestamp_ms", realtime_ns() / 1'000'000},
                      {"fc_stub", {{"note", "no guest metrics are produced"}}}};
  return line.dump() + "\n";
}

} // namespace

Vmm::Result Vmm::update_block_device(const OrderedJson& update) {
  std::string id = update["drive_id"];
  std::size_t position = find_by(drives_, "drive_id", id);
  if (position == drives_.size())
    return Failure{Category::Drive,
                   "Unable to patch the block device: Device manager error: "
                   "Failed to find the device. Please verify the request "
                   "arguments."};
  if (!is_null_or_absent(update, "path_on_host")) {
    std::string path = update["path_on_host"];
    bool read_only = drives_[position]["is_read_only"] == true;
    if (int error = probe_file(path, read_only ? O_RDONLY : O_RDWR))
      return Failure{Category::Drive,
                     "Unable to patch the block device: Block: Virtio backend "
                     "error: Error manipulating the backing file: " +
                         io_error_text(error) + " " + path +
                         " Please verify the request arguments."};
    drives_[position]["path_on_host"] = path;
  }
  if (!is_null_or_absent(update, "rate_limiter"))
    drives_[position]["rate_limiter"] = update["rate_limiter"];
  return std::nullopt;
}

Vmm::Result Vmm::update_network_interface(const OrderedJson& update) {
  std::string id = update["iface_id"];
  std::size_t position = find_by(network_interfaces_, "iface_id", id);
  if (position == network_interfaces_.size())
    return Failure{Category::Network,
                   "Unable to update the net device: Device manager error: "
                   "Failed to find the device."};
  for (const char* key : {"rx_rate_limiter", "tx_rate_limiter"})
    if (!is_null_or_absent(update, key))
      network_interfaces_[position][key] = update[key];
  return std::nullopt;
}

Vmm::Result Vmm::update_pmem_device(const OrderedJson& update) {
  std::string id = update["id"];
  std::size_t position = find_by(pmem_devices_, "id", id);
  if (position == pmem_devices_.size())
    return Failure{Category::Pmem,
                   "Unable to patch the pmem device: Device manager error: "
                   "Failed to find the device. Please verify the request "
                   "arguments."};
  if (!is_null_or_absent(update, "rate_limiter"))
    pmem_devices_[position]["rate_limiter"] = update["rate_limiter"];
  return std::nullopt;
}

// Post-boot PUT of a device is PCI hotplug in v1.16, refused unless the
// process was started with --enable-pci.
Vmm::Result Vmm::hotplug(const VmmAction& action) {
  if (!settings_.pci_enabled)
    return Failure{Category::Plain, "PCI is not enabled"};
  const OrderedJson& body = action.body;
  bool taken = false;
  if (action.kind == ActionKind::InsertBlockDevice)
    taken = find_by(drives_, "drive_id", body["drive_id"]) != drives_.size();
  else if (action.kind == ActionKind::InsertNetworkDevice)
    taken = find_by(network_interfaces_, "iface_id", body["iface_id"]) !=
            network_interfaces_.size();
  else
    taken = find_by(pmem_devices_, "id", body["id"]) != pmem_devices_.size();
  if (taken)
    return Failure{Category::Plain, "Device ID in use"};
  if (action.kind == ActionKind::InsertBlockDevice)
    return insert_block_device(body);
  if (action.kind == ActionKind::InsertNetworkDevice)
    return insert_network_device(body);
  return insert_pmem_device(body);
}

Vmm::Result Vmm::hot_unplug(const VmmAction& action) {
  if (!settings_.pci_enabled)
    return Failure{Category::Plain, "PCI is not enabled"};
  std::vector<OrderedJson>* devices = &pmem_devices_;
  const char* key = "id";
  if (action.device_kind == "drives") {
    devices = &drives_;
    key = "drive_id";
  } else if (action.device_kind == "network-interfaces") {
    devices = &network_interfaces_;
    key = "iface_id";
  }
  std::size_t position = find_by(*devices, key, action.device_id);
  if (position == devices->size())
    return Failure{Category::Plain, "Device not found"};
  const OrderedJson& device = (*devices)[position];
  if (device.value("is_root_device", false) ||
      device.value("root_device", false))
    return Failure{Category::Plain, "Cannot unplug root device"};
  devices->erase(devices->begin() + static_cast<std::ptrdiff_t>(position));
  return std::nullopt;
}

Vmm::Result Vmm::flush_metrics() {
  if (metrics_descriptor_ >= 0 &&
      !write_all(metrics_descriptor_, metrics_line()))
    return Failure{Category::InternalVmm,
                   "Error writing metrics: " + io_error_text(errno)};
  return std::nullopt;
}

Vmm::Result Vmm::update_balloon(const OrderedJson& update) {
  if (!balloon_)
    return Failure{Category::BalloonUpdate, "Invalid device type found."};
  if (update["amount_mib"].get<std::uint64_t>() >
      machine_config_["mem_size_mib"].get<std::uint64_t>())
    return Failure{Category::BalloonUpdate,
                   "Balloon: Amount of pages requested cannot be greater "
                   "than the memory size."};
  (*balloon_)["amount_mib"] = update["amount_mib"];
  return std::nullopt;
}

Vmm::Result Vmm::update_balloon_statistics(const OrderedJson& update) {
  if (!balloon_)
    return Failure{Category::BalloonUpdate, "Invalid device type found."};
  bool enabled = (*balloon_)["stats_polling_interval_s"] != 0;
  bool enabling = update["stats_polling_interval_s"] != 0;
  if (enabled != enabling)
    return Failure{Category::BalloonUpdate,
                   "Balloon: Statistics cannot be turned on or off after "
                   "boot."};
  (*balloon_)["stats_polling_interval_s"] = update["stats_polling_interval_s"];
  return std::nullopt;
}

std::optional<std::string> Vmm::boot_from_config(std::string_view document) {
  constexpr std::string_view parse_prefix =
      "Configuration for VMM from one single json failed: ";
  OrderedJson config;
  try {
    config = decode(document, schema::full_vm_configuration);
  } catch (const DecodeError& error) {
    return std::string(parse_prefix) + "Invalid JSON: " + error.what();
  }
  auto failed = [&](const Failure& failure) {
    return std::string(parse_prefix) + render_for_config(failure);
  };
  // Same order as Firecracker's VmResources::from_json.
  if (!config["logger"].is_null())
    if (auto failure = configure_logger(config["logger"]))
      return failed(*failure);
  if (!config["metrics"].is_null())
    if (auto failure = configure_metrics(config["metrics"]["metrics_path"]))
      return failed(*failure);
  if (!config["machine-config"].is_null())
    if (auto failure = update_machine_config(config["machine-config"]))
      return failed(*failure);
  if (!config["cpu-config"].is_null())
    cpu_config_ = config["cpu-config"];
  if (auto failure = set_boot_source(config["boot-source"]))
    return failed(*failure);
  for (const OrderedJson& drive : config["drives"])
    if (auto failure = insert_block_device(drive))
      return failed(*failure);
  for (const OrderedJson& interface : config["network-interfaces"])
    if (auto failure = insert_network_device(interface))
      return failed(*failure);
  if (!config["vsock"].is_null())
    if (auto failure = set_vsock_device(config["vsock"]))
      return failed(*failure);
  if (!config["balloon"].is_null())
    if (auto failure = set_balloon_device(config["balloon"]))
      return failed(*failure);
  if (!config["mmds-config"].is_null())
    if (auto failure = set_mmds_config(config["mmds-config"]))
      return failed(*failure);
  if (!config["entropy"].is_null())
    entropy_ = config["entropy"];
  for (const OrderedJson& device : config["pmem"])
    if (auto failure = insert_pmem_device(device))
      return failed(*failure);
  if (!config["memory-hotplug"].is_null())
    if (auto failure = set_memory_hotplug(config["memory-hotplug"]))
      return failed(*failure);
  boot_path_ = true;
  if (auto failure = start_microvm())
    return "Could not Start MicroVM from one single json: " + failure->detail;
  logger_.info(
      "Successfully started microvm that was configured from one single json");
  return std::nullopt;
}

} // namespace banger::fc_stub
