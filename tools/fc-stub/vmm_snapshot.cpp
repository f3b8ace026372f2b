// Snapshots, in Firecracker's order and with its refusals: a paused guest is
// saved to a state file and a memory file (snapshot_files.hpp); a fresh
// process with no configuration loads them and becomes that guest, on the
// taps and vsock socket the load names. Also the guest's clock, which is
// what a restore must bring back.
#include "tools/fc-stub/system.hpp"
#include "tools/fc-stub/vmm.hpp"
#include "tools/fc-stub/vmm_support.hpp"

#include <cerrno>
#include <fcntl.h>
#include <unistd.h>

namespace banger::fc_stub {

using namespace vmm_support;

namespace {

// Firecracker's IFACE_NAME_MAX_LEN counts the terminating NUL.
constexpr std::size_t interface_name_limit = 16;

std::string elapsed_us(std::int64_t since_ns) {
  return std::to_string((realtime_ns() - since_ns) / 1000);
}

} // namespace

void Vmm::run_guest() {
  state_ = VmState::Running;
  running_since_ms_ = monotonic_ms();
}

void Vmm::pause_guest() {
  guest_.uptime_ms = guest_uptime_ms();
  state_ = VmState::Paused;
}

std::uint64_t Vmm::guest_uptime_ms() const {
  if (state_ != VmState::Running)
    return guest_.uptime_ms;
  return guest_.uptime_ms +
         static_cast<std::uint64_t>(monotonic_ms() - running_since_ms_);
}

Vmm::Result Vmm::create_snapshot(const OrderedJson& parameters) {
  // Firecracker asks the vCPUs for their state; running ones refuse, before
  // anything is written.
  if (state_ != VmState::Paused)
    return Failure{Category::CreateSnapshot,
                   "Cannot save the microVM state: Operation not allowed: "
                   "save/restore unavailable while running"};
  std::int64_t started_ns = realtime_ns();
  std::string snapshot_path = parameters["snapshot_path"];
  std::string memory_path = parameters["mem_file_path"];

  OrderedJson state = full_config();
  state["guest"] = {{"boot_id", guest_.boot_id}};
  int snapshot = ::open(snapshot_path.c_str(),
                        O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (snapshot < 0)
    return Failure{Category::CreateSnapshot,
                   "Cannot perform open on the snapshot backing file: " +
                       io_error_text(errno)};
  bool written = write_all(snapshot, encode_state(state));
  int error = errno;
  bool synced = written && ::fsync(snapshot) == 0;
  if (written && !synced)
    error = errno;
  ::close(snapshot);
  if (!written)
    return Failure{Category::CreateSnapshot,
                   "Cannot serialize the microVM state: IO Error: " +
                       io_error_text(error)};
  if (!synced)
    return Failure{Category::CreateSnapshot,
                   "Cannot perform sync_all on the snapshot backing file: " +
                       io_error_text(error)};

  std::uint64_t memory_mib = machine_config_["mem_size_mib"];
  if (auto failure = write_memory(memory_path, memory_mib, guest_))
    return Failure{Category::CreateSnapshot, *failure};
  std::string kind = parameters["snapshot_type"] == "Diff" ? "diff" : "full";
  logger_.info("'create " + kind + " snapshot' VMM action took " +
               elapsed_us(started_ns) + " us.");
  return std::nullopt;
}

Vmm::Result Vmm::load_snapshot(const OrderedJson& parameters) {
  if (boot_path_)
    return Failure{Category::LoadSnapshot,
                   "Loading a microVM snapshot not allowed after configuring "
                   "boot-specific resources."};
  std::int64_t started_ns = realtime_ns();
  // From here on a failure is fatal for the process, as in Firecracker.
  auto fatal = [&](std::string detail) {
    events_.fatal(1);
    return Failure{Category::LoadSnapshot,
                   "Failed to restore from snapshot: " + std::move(detail)};
  };
  const std::string from_file = "Failed to get snapshot state from file: ";

  std::string snapshot_path = parameters["snapshot_path"];
  std::string contents;
  if (int error = read_whole_file(snapshot_path, contents))
    return fatal(from_file +
                 "Failed to open snapshot file: " + io_error_text(error));
  OrderedJson saved;
  if (auto error = decode_state(contents, saved))
    return fatal(from_file +
                 "Failed to load snapshot state from file: " + *error);

  // The overrides apply to the saved devices; naming one the snapshot does
  // not have is an error, not a new device.
  std::vector<OrderedJson> interfaces =
      saved["network-interfaces"].get<std::vector<OrderedJson>>();
  for (const OrderedJson& entry : parameters["network_overrides"]) {
    std::size_t position = find_by(interfaces, "iface_id", entry["iface_id"]);
    if (position == interfaces.size())
      return fatal(from_file + "Unknown Network Device.");
    interfaces[position]["host_dev_name"] = entry["host_dev_name"];
  }
  OrderedJson vsock_config = saved["vsock"];
  if (parameters.contains("vsock_override")) {
    if (vsock_config.is_null())
      return fatal(from_file + "Unknown Vsock Device.");
    vsock_config["uds_path"] = parameters["vsock_override"]["uds_path"];
  }

  std::uint64_t memory_mib = saved["machine-config"]["mem_size_mib"];
  bool from_memory_file = !parameters.contains("mem_backend") ||
                          parameters["mem_backend"]["backend_type"] == "File";
  if (!from_memory_file)
    return fatal("Failed to load guest memory: Error creating guest memory "
                 "from uffd: fc-stub serves guest memory from files only");
  std::string memory_path = parameters.contains("mem_backend")
                                ? parameters["mem_backend"]["backend_path"]
                                : parameters["mem_file_path"];
  GuestMemory restored;
  if (auto error = read_memory(memory_path, memory_mib,
                               saved["guest"]["boot_id"], restored))
    return fatal("Failed to load guest memory: Error creating guest memory "
                 "from file: " +
                 *error);

  // The devices come back on the host resources named now.
  const std::string devices = "Failed to build microVM from snapshot: "
                              "Failed to restore devices: ";
  for (const OrderedJson& interface : interfaces)
    if (interface["host_dev_name"].get<std::string>().size() >=
        interface_name_limit)
      return fatal(devices + "Failed to create a network device: Open tap "
                             "device failed: Invalid interface name");
  if (!vsock_config.is_null())
    if (auto failure = set_vsock_device(vsock_config))
      return fatal(devices + failure->detail);

  machine_config_ = saved["machine-config"];
  // The load decides dirty page tracking, not the snapshot.
  machine_config_["track_dirty_pages"] = parameters["track_dirty_pages"];
  if (!saved["boot-source"].is_null())
    boot_source_ = saved["boot-source"];
  drives_ = saved["drives"].get<std::vector<OrderedJson>>();
  network_interfaces_ = std::move(interfaces);
  auto restore = [&](const char* key, std::optional<OrderedJson>& slot) {
    if (!saved.value(key, OrderedJson()).is_null())
      slot = saved[key];
  };
  restore("balloon", balloon_);
  restore("entropy", entropy_);
  restore("mmds-config", mmds_config_);
  if (mmds_config_)
    mmds_exists_ = true;
  guest_ = restored;
  bool resume = parameters["resume_vm"] == true;
  if (resume)
    run_guest();
  else
    state_ = VmState::Paused;
  logger_.info("Guest restored: boot " + guest_.boot_id + ", uptime " +
                   std::to_string(guest_.uptime_ms) + " ms, " +
                   std::to_string(memory_mib) + " MiB of memory checked, " +
                   (resume ? "running" : "paused") +
                   (parameters["clock_realtime"] == true
                        ? ", clock advanced to the host's"
                        : ", clock as saved") +
                   " (fc-stub: no guest code runs)",
               "fc_vcpu 0");
  logger_.info("'load snapshot' VMM action took " + elapsed_us(started_ns) +
               " us.");
  events_.started();
  if (!resume)
    events_.paused();
  return std::nullopt;
}

} // namespace banger::fc_stub
