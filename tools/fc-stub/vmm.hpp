// The stub's VMM: what Firecracker's PrebootApiController and
// RuntimeApiController do with each action, minus the guest. Resources are
// checked the way Firecracker checks them (kernel and drive files opened, the
// vsock socket bound, tap names and MTUs validated), then only recorded.
#pragma once

#include "tools/fc-stub/api.hpp"
#include "tools/fc-stub/logger.hpp"
#include "tools/fc-stub/snapshot_files.hpp"

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace banger::fc_stub {

enum class VmState { NotStarted, Running, Paused };

std::string_view state_name(VmState state);

/// What the API server sends back: 204 with no body, 200 with JSON, or an
/// error status with {"fault_message": ...}.
struct Outcome {
  int status = 204;
  std::string body;
};

/// How the VMM tells the process about guest-visible events.
class VmmEvents {
public:
  virtual ~VmmEvents() = default;
  virtual void started() = 0;
  virtual void ctrl_alt_del() = 0;
  virtual void paused() = 0;
  virtual void resumed() = 0;
  /// Firecracker gives up on the process after a failed snapshot restore.
  virtual void fatal(int exit_code) = 0;
};

struct VmmSettings {
  std::string instance_id;
  bool pci_enabled = false;
  std::size_t mmds_size_limit = 51200;
};

class Vmm {
public:
  Vmm(VmmSettings settings, Logger& logger, VmmEvents& events);
  ~Vmm();
  Vmm(const Vmm&) = delete;
  Vmm& operator=(const Vmm&) = delete;

  Outcome handle(const VmmAction& action);

  /// --config-file: configure every section and start. Returns Firecracker's
  /// error text on failure.
  std::optional<std::string> boot_from_config(std::string_view document);

  /// --metrics-path. Returns the error text on failure.
  std::optional<std::string> initialize_metrics(const std::string& path);

  /// --metadata: seeds the MMDS data store.
  void seed_mmds(nlohmann::json contents);

  VmState state() const { return state_; }

  /// Listening socket at the vsock uds_path, or -1.
  int vsock_listener() const { return vsock_listener_; }
  /// A host-side vsock connection arrived. No guest listens on any port, so
  /// it is closed right away, as Firecracker does once the guest refuses;
  /// unless FC_STUB_GUEST_AGENT names a guest agent program and the VM runs:
  /// a "CONNECT 1024" is then answered "OK" and served by that program,
  /// started with the connection as `--fd 3` (docs/fc-stub.md).
  void accept_vsock_connection();

  // Which Firecracker error enum wraps a failure: the API (VmmActionError)
  // and the config file (ResourcesError) prefix the same error differently.
  enum class Category;

private:
  struct Failure {
    Category category;
    std::string detail;
  };
  using Result = std::optional<Failure>;

  Outcome render(const Failure& failure) const;
  std::string render_for_config(const Failure& failure) const;
  Outcome preboot(const VmmAction& action);
  Outcome runtime(const VmmAction& action);
  // GET /vm/config, /machine-config, / and /version: the same in every state.
  Outcome query(ActionKind kind) const;
  Outcome reply(Result result) const;

  Result set_boot_source(const OrderedJson& config);
  Result update_machine_config(const OrderedJson& update);
  Result insert_block_device(const OrderedJson& config);
  Result insert_network_device(const OrderedJson& config);
  Result insert_pmem_device(const OrderedJson& config);
  Result set_vsock_device(const OrderedJson& config);
  Result set_balloon_device(const OrderedJson& config);
  Result set_mmds_config(const OrderedJson& config);
  Result set_memory_hotplug(const OrderedJson& config);
  Result configure_logger(const OrderedJson& config);
  Result configure_metrics(const std::string& path);
  Result put_mmds(const nlohmann::json& contents);
  Result patch_mmds(const nlohmann::json& patch);
  Result start_microvm();
  Result load_snapshot(const OrderedJson& parameters);
  Result create_snapshot(const OrderedJson& parameters);
  Result update_block_device(const OrderedJson& update);
  Result update_network_interface(const OrderedJson& update);
  Result update_pmem_device(const OrderedJson& update);
  Result hotplug(const VmmAction& action);
  Result hot_unplug(const VmmAction& action);
  Result flush_metrics();
  Result update_balloon(const OrderedJson& update);
  Result update_balloon_statistics(const OrderedJson& update);

  // The guest's clock: it runs only while the vCPUs do.
  void run_guest();
  void pause_guest();
  std::uint64_t guest_uptime_ms() const;

  Outcome instance_info() const;
  Outcome mmds_contents() const;
  OrderedJson full_config() const;
  bool has_root_block_device() const;
  void close_vsock();

  VmmSettings settings_;
  Logger& logger_;
  VmmEvents& events_;
  VmState state_ = VmState::NotStarted;
  // Firecracker refuses snapshot loads once boot resources were configured.
  bool boot_path_ = false;
  // What the guest keeps in its memory; a snapshot saves it and a load
  // brings it back.
  GuestMemory guest_;
  std::int64_t running_since_ms_ = 0; // while Running

  OrderedJson machine_config_;
  std::optional<OrderedJson> boot_source_;
  std::vector<OrderedJson> drives_; // the root device, if any, first
  std::vector<OrderedJson> network_interfaces_;
  std::vector<OrderedJson> pmem_devices_;
  std::optional<OrderedJson> vsock_;
  std::optional<OrderedJson> balloon_;
  std::optional<OrderedJson> entropy_;
  std::optional<OrderedJson> mmds_config_;
  std::optional<OrderedJson> cpu_config_;
  std::optional<OrderedJson> serial_;
  std::optional<OrderedJson> memory_hotplug_;
  std::size_t memory_hotplug_requested_mib_ = 0;

  // MMDS: the store exists once anything touched it; "initialized" once
  // contents were PUT (PATCH needs that).
  bool mmds_exists_ = false;
  bool mmds_initialized_ = false;
  nlohmann::json mmds_;

  int metrics_descriptor_ = -1;
  int vsock_listener_ = -1;
};

} // namespace banger::fc_stub
