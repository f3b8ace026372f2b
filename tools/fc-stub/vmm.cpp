#include "tools/fc-stub/vmm.hpp"

#include "tools/fc-stub/options.hpp"
#include "tools/fc-stub/vmm_support.hpp"

#include <cerrno>
#include <fcntl.h>
#include <unistd.h>

namespace banger::fc_stub {

namespace vmm_support {

std::string fault_body(std::string_view message) {
  // A message may quote the request path, which need not be UTF-8.
  return nlohmann::json{{"fault_message", message}}.dump(
      -1, ' ', false, nlohmann::json::error_handler_t::replace);
}

int probe_file(const std::string& path, int flags) {
  int descriptor = ::open(path.c_str(), flags | O_CLOEXEC);
  if (descriptor < 0)
    return errno;
  ::close(descriptor);
  return 0;
}

bool is_null_or_absent(const OrderedJson& object, const char* key) {
  return !object.contains(key) || object[key].is_null();
}

std::size_t find_by(const std::vector<OrderedJson>& devices, const char* key,
                    const OrderedJson& id) {
  for (std::size_t index = 0; index < devices.size(); ++index)
    if (devices[index][key] == id)
      return index;
  return devices.size();
}

} // namespace vmm_support

using namespace vmm_support;

namespace {

OrderedJson default_machine_config() {
  return OrderedJson{{"vcpu_count", 1},
                     {"mem_size_mib", 128},
                     {"smt", false},
                     {"track_dirty_pages", false},
                     {"huge_pages", "None"}};
}

} // namespace

std::string_view state_name(VmState state) {
  switch (state) {
  case VmState::NotStarted:
    return "Not started";
  case VmState::Running:
    return "Running";
  case VmState::Paused:
    return "Paused";
  }
  return "Not started";
}

Vmm::Vmm(VmmSettings settings, Logger& logger, VmmEvents& events)
    : settings_(std::move(settings)), logger_(logger), events_(events),
      machine_config_(default_machine_config()) {}

Vmm::~Vmm() {
  if (metrics_descriptor_ >= 0)
    ::close(metrics_descriptor_);
  // Firecracker leaves the vsock socket file behind; so does the stub.
  if (vsock_listener_ >= 0)
    ::close(vsock_listener_);
}

namespace {

// VmmActionError's Display prefix for each category.
std::string_view api_prefix(Vmm::Category category) {
  using enum Vmm::Category;
  switch (category) {
  case Plain:
    return "";
  case BootSource:
    return "Boot source error: ";
  case Drive:
    return "Drive config error: ";
  case Network:
    return "Network config error: ";
  case Vsock:
    return "Vsock config error: ";
  case Machine:
    return "Machine config error: ";
  case Balloon:
    return "Balloon config error: ";
  case BalloonUpdate:
    return "Balloon update error: ";
  case Logger:
    return "Logger error: ";
  case Metrics:
    return "Metrics error: ";
  case MmdsConfig:
    // Sic: Firecracker's message has three Ms.
    return "MMMDS config error: ";
  case Mmds:
    return "MMDS error: ";
  case MmdsLimit:
    return "MMDS limit exceeded error: ";
  case Entropy:
    return "Entropy config error: ";
  case Pmem:
    return "Pmem config error: ";
  case MemoryHotplug:
    return "Memory hotplug config error: ";
  case MemoryHotplugUpdate:
    return "Memory hotplug update error: ";
  case StartMicrovm:
    return "Start microvm error: ";
  case LoadSnapshot:
    return "Load snapshot error: ";
  case CreateSnapshot:
    return "Create snapshot error: ";
  case InternalVmm:
    return "Internal VMM error: ";
  }
  return "";
}

// ResourcesError's prefix, used for --config-file failures.
std::string_view config_prefix(Vmm::Category category) {
  using enum Vmm::Category;
  switch (category) {
  case Drive:
    return "Block device error: ";
  case Network:
    return "Network device error: ";
  case Vsock:
    return "Vsock device error: ";
  case Machine:
    return "VM config error: ";
  case Balloon:
    return "Balloon device error: ";
  case MmdsConfig:
    return "MMDS config error: ";
  case Entropy:
    return "Entropy device error: ";
  case Pmem:
    return "Pmem device error: ";
  default:
    return api_prefix(category);
  }
}

} // namespace

Outcome Vmm::render(const Failure& failure) const {
  std::string message =
      std::string(api_prefix(failure.category)) + failure.detail;
  int status = failure.category == Category::MmdsLimit ? 413 : 400;
  return Outcome{status, fault_body(message)};
}

std::string Vmm::render_for_config(const Failure& failure) const {
  return std::string(config_prefix(failure.category)) + failure.detail;
}

Outcome Vmm::reply(Result result) const {
  if (result)
    return render(*result);
  return Outcome{};
}

Outcome Vmm::handle(const VmmAction& action) {
  // Firecracker hands requests to a different controller once booted.
  return state_ == VmState::NotStarted ? preboot(action) : runtime(action);
}

Outcome Vmm::instance_info() const {
  OrderedJson info = {{"id", settings_.instance_id},
                      {"state", state_name(state_)},
                      {"vmm_version", firecracker_version},
                      {"app_name", "Firecracker"}};
  return Outcome{200, info.dump()};
}

Outcome Vmm::mmds_contents() const {
  // serde_json prints a never-written store (Value::Null) as {}.
  return Outcome{200, mmds_.is_null() ? "{}" : mmds_.dump()};
}

OrderedJson Vmm::full_config() const {
  auto optional = [](const std::optional<OrderedJson>& value) {
    return value ? *value : OrderedJson(nullptr);
  };
  auto list = [](const std::vector<OrderedJson>& values) {
    OrderedJson array = OrderedJson::array();
    for (const OrderedJson& value : values)
      array.push_back(value);
    return array;
  };
  OrderedJson boot_source = boot_source_
                                ? *boot_source_
                                : OrderedJson{{"kernel_image_path", ""},
                                              {"initrd_path", nullptr},
                                              {"boot_args", nullptr}};
  return OrderedJson{
      {"balloon", optional(balloon_)},
      {"drives", list(drives_)},
      {"boot-source", boot_source},
      {"cpu-config", nullptr},
      {"logger", nullptr},
      {"machine-config", machine_config_},
      {"metrics", nullptr},
      {"mmds-config", optional(mmds_config_)},
      {"network-interfaces", list(network_interfaces_)},
      {"vsock", optional(vsock_)},
      {"entropy", optional(entropy_)},
      {"pmem", list(pmem_devices_)},
      {"memory-hotplug", optional(memory_hotplug_)},
  };
}

Outcome Vmm::preboot(const VmmAction& action) {
  switch (action.kind) {
  case ActionKind::ConfigureBootSource:
    boot_path_ = true;
    return reply(set_boot_source(action.body));
  case ActionKind::ConfigureLogger:
    return reply(configure_logger(action.body));
  case ActionKind::ConfigureMetrics:
    return reply(configure_metrics(action.body["metrics_path"]));
  case ActionKind::ConfigureSerial:
    serial_ = action.body;
    return {};
  case ActionKind::GetBalloonConfig:
    if (!balloon_)
      return render({Category::Balloon, "No balloon device found."});
    return Outcome{200, balloon_->dump()};
  case ActionKind::GetFullVmConfig:
    return Outcome{200, full_config().dump()};
  case ActionKind::GetMmds:
    mmds_exists_ = true;
    return mmds_contents();
  case ActionKind::GetVmMachineConfig:
    return Outcome{200, machine_config_.dump()};
  case ActionKind::GetVmInstanceInfo:
    return instance_info();
  case ActionKind::GetVmmVersion:
    return Outcome{
        200, OrderedJson{{"firecracker_version", firecracker_version}}.dump()};
  case ActionKind::InsertBlockDevice:
    boot_path_ = true;
    return reply(insert_block_device(action.body));
  case ActionKind::InsertNetworkDevice:
    boot_path_ = true;
    return reply(insert_network_device(action.body));
  case ActionKind::InsertPmemDevice:
    boot_path_ = true;
    return reply(insert_pmem_device(action.body));
  case ActionKind::LoadSnapshot:
    return reply(load_snapshot(action.body));
  case ActionKind::PatchMmds:
    mmds_exists_ = true;
    return reply(patch_mmds(action.contents));
  case ActionKind::PutCpuConfiguration:
    cpu_config_ = action.body;
    return {};
  case ActionKind::PutMmds:
    mmds_exists_ = true;
    return reply(put_mmds(action.contents));
  case ActionKind::SetBalloonDevice:
    boot_path_ = true;
    return reply(set_balloon_device(action.body));
  case ActionKind::SetVsockDevice:
    boot_path_ = true;
    return reply(set_vsock_device(action.body));
  case ActionKind::SetMmdsConfiguration:
    boot_path_ = true;
    return reply(set_mmds_config(action.body));
  case ActionKind::StartMicroVm:
    return reply(start_microvm());
  case ActionKind::UpdateMachineConfiguration:
    boot_path_ = true;
    return reply(update_machine_config(action.body));
  case ActionKind::SetEntropyDevice:
    boot_path_ = true;
    entropy_ = action.body;
    return {};
  case ActionKind::SetMemoryHotplugDevice:
    boot_path_ = true;
    return reply(set_memory_hotplug(action.body));
  case ActionKind::CreateSnapshot:
  case ActionKind::FlushMetrics:
  case ActionKind::Pause:
  case ActionKind::Resume:
  case ActionKind::GetBalloonStats:
  case ActionKind::GetMemoryHotplugStatus:
  case ActionKind::UpdateBalloon:
  case ActionKind::UpdateBalloonStatistics:
  case ActionKind::UpdateBlockDevice:
  case ActionKind::UpdateMemoryHotplugSize:
  case ActionKind::UpdateNetworkInterface:
  case ActionKind::UpdatePmemDevice:
  case ActionKind::StartFreePageHinting:
  case ActionKind::GetFreePageHintingStatus:
  case ActionKind::StopFreePageHinting:
  case ActionKind::HotUnplugDevice:
  case ActionKind::SendCtrlAltDel:
    return render({Category::Plain, std::string(not_supported_pre_boot)});
  }
  return render({Category::Plain, std::string(not_supported_pre_boot)});
}

Outcome Vmm::runtime(const VmmAction& action) {
  switch (action.kind) {
  case ActionKind::CreateSnapshot:
    return reply(create_snapshot(action.body));
  case ActionKind::FlushMetrics:
    return reply(flush_metrics());
  case ActionKind::GetBalloonConfig:
    if (!balloon_)
      return render({Category::InternalVmm, "Invalid device type found."});
    return Outcome{200, balloon_->dump()};
  case ActionKind::GetBalloonStats: {
    if (!balloon_)
      return render({Category::InternalVmm, "Invalid device type found."});
    if ((*balloon_)["stats_polling_interval_s"] == 0)
      return render({Category::InternalVmm,
                     "Balloon: Statistics for the balloon device are not "
                     "enabled"});
    std::uint64_t amount = (*balloon_)["amount_mib"];
    return Outcome{200, OrderedJson{{"target_pages", amount * 256},
                                    {"actual_pages", amount * 256},
                                    {"target_mib", amount},
                                    {"actual_mib", amount}}
                            .dump()};
  }
  case ActionKind::GetFullVmConfig:
    return Outcome{200, full_config().dump()};
  case ActionKind::GetMemoryHotplugStatus: {
    if (!memory_hotplug_)
      return render(
          {Category::InternalVmm, "Memory hotplug device is not configured"});
    OrderedJson status = *memory_hotplug_;
    status["plugged_size_mib"] = memory_hotplug_requested_mib_;
    status["requested_size_mib"] = memory_hotplug_requested_mib_;
    return Outcome{200, status.dump()};
  }
  case ActionKind::GetMmds:
    if (!mmds_exists_)
      return render(
          {Category::Mmds, "The MMDS data store is not initialized."});
    return mmds_contents();
  case ActionKind::GetVmMachineConfig:
    return Outcome{200, machine_config_.dump()};
  case ActionKind::GetVmInstanceInfo:
    return instance_info();
  case ActionKind::GetVmmVersion:
    return Outcome{
        200, OrderedJson{{"firecracker_version", firecracker_version}}.dump()};
  case ActionKind::PatchMmds:
    if (!mmds_exists_)
      return render(
          {Category::Mmds, "The MMDS data store is not initialized."});
    return reply(patch_mmds(action.contents));
  case ActionKind::PutMmds:
    if (!mmds_exists_)
      return render(
          {Category::Mmds, "The MMDS data store is not initialized."});
    return reply(put_mmds(action.contents));
  case ActionKind::InsertBlockDevice:
  case ActionKind::InsertNetworkDevice:
  case ActionKind::InsertPmemDevice:
    return reply(hotplug(action));
  case ActionKind::HotUnplugDevice:
    return reply(hot_unplug(action));
  case ActionKind::Pause:
    if (state_ != VmState::Paused) {
      state_ = VmState::Paused;
      events_.paused();
    }
    return {};
  case ActionKind::Resume:
    if (state_ != VmState::Running) {
      state_ = VmState::Running;
      events_.resumed();
    }
    return {};
  case ActionKind::SendCtrlAltDel:
    events_.ctrl_alt_del();
    return {};
  case ActionKind::UpdateBalloon:
    return reply(update_balloon(action.body));
  case ActionKind::UpdateBalloonStatistics:
    return reply(update_balloon_statistics(action.body));
  case ActionKind::StartFreePageHinting:
  case ActionKind::GetFreePageHintingStatus:
  case ActionKind::StopFreePageHinting:
    if (!balloon_ || (*balloon_)["free_page_hinting"] != true)
      return render({Category::BalloonUpdate,
                     "Balloon: Free page hinting was not enabled when the "
                     "device was configured"});
    if (action.kind == ActionKind::GetFreePageHintingStatus)
      return Outcome{
          200, OrderedJson{{"host_cmd", 0}, {"guest_cmd", nullptr}}.dump()};
    return {};
  case ActionKind::UpdateBlockDevice:
    return reply(update_block_device(action.body));
  case ActionKind::UpdateNetworkInterface:
    return reply(update_network_interface(action.body));
  case ActionKind::UpdatePmemDevice:
    return reply(update_pmem_device(action.body));
  case ActionKind::UpdateMemoryHotplugSize: {
    if (!memory_hotplug_)
      return render({Category::MemoryHotplugUpdate,
                     "Memory hotplug device is not configured"});
    std::size_t requested = action.body["requested_size_mib"];
    if (requested > (*memory_hotplug_)["total_size_mib"].get<std::size_t>())
      return render({Category::MemoryHotplugUpdate,
                     "Requested size is larger than the total size"});
    memory_hotplug_requested_mib_ = requested;
    return {};
  }
  case ActionKind::ConfigureBootSource:
  case ActionKind::ConfigureLogger:
  case ActionKind::ConfigureMetrics:
  case ActionKind::ConfigureSerial:
  case ActionKind::LoadSnapshot:
  case ActionKind::PutCpuConfiguration:
  case ActionKind::SetBalloonDevice:
  case ActionKind::SetVsockDevice:
  case ActionKind::SetMmdsConfiguration:
  case ActionKind::SetEntropyDevice:
  case ActionKind::SetMemoryHotplugDevice:
  case ActionKind::StartMicroVm:
  case ActionKind::UpdateMachineConfiguration:
    return render({Category::Plain, std::string(not_supported_post_boot)});
  }
  return render({Category::Plain, std::string(not_supported_post_boot)});
}

} // namespace banger::fc_stub
