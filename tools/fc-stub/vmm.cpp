#include "tools/fc-stub/vmm.hpp"

#include "tools/fc-stub/http.hpp"
#include "tools/fc-stub/options.hpp"
#include "tools/fc-stub/vmm_support.hpp"

#include <cerrno>
#include <fcntl.h>
#include <unistd.h>

namespace banger::fc_stub {

namespace vmm_support {

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
  return Outcome{status, http::fault_body(message)};
}

std::string Vmm::render_for_config(const Failure& failure) const {
  return std::string(config_prefix(failure.category)) + failure.detail;
}

Outcome Vmm::reply(Result result) const {
  if (result)
    return render(*result);
  return Outcome{};
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

// The MMDS store, used before and after boot.
void Vmm::seed_mmds(nlohmann::json contents) {
  mmds_exists_ = true;
  mmds_initialized_ = true;
  mmds_ = std::move(contents);
}

Vmm::Result Vmm::put_mmds(const nlohmann::json& contents) {
  if (contents.dump().size() > settings_.mmds_size_limit)
    return Failure{Category::MmdsLimit, "The MMDS patch request doesn't fit."};
  mmds_ = contents;
  mmds_initialized_ = true;
  return std::nullopt;
}

Vmm::Result Vmm::patch_mmds(const nlohmann::json& patch) {
  if (!mmds_initialized_)
    return Failure{Category::Mmds, "The MMDS data store is not initialized."};
  nlohmann::json patched = mmds_;
  patched.merge_patch(patch);
  if (patched.dump().size() > settings_.mmds_size_limit)
    return Failure{Category::MmdsLimit, "The MMDS patch request doesn't fit."};
  mmds_ = std::move(patched);
  return std::nullopt;
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

} // namespace banger::fc_stub
