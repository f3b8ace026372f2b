// Pre-boot configuration: each resource is checked the way Firecracker
// checks it, then recorded.
#include "tools/fc-stub/system.hpp"
#include "tools/fc-stub/vmm.hpp"
#include "tools/fc-stub/vmm_support.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <cstdio>
#include <cstdlib>

namespace banger::fc_stub {

using namespace vmm_support;

namespace {

// Firecracker's IFACE_NAME_MAX_LEN counts the terminating NUL.
constexpr std::size_t interface_name_limit = 16;
// linux-loader's x86_64 CMDLINE_MAX_SIZE.
constexpr std::size_t command_line_limit = 2048;
constexpr std::string_view default_boot_args =
    "reboot=k panic=1 nomodule 8250.nr_uarts=0 i8042.noaux i8042.nomux "
    "i8042.dumbkbd swiotlb=noforce";

} // namespace

Vmm::Result Vmm::set_boot_source(const OrderedJson& config) {
  std::string kernel = config["kernel_image_path"];
  if (int error = probe_file(kernel, O_RDONLY))
    return Failure{Category::BootSource,
                   "The kernel file cannot be opened: " + io_error_text(error)};
  if (!is_null_or_absent(config, "initrd_path")) {
    std::string initrd = config["initrd_path"];
    if (int error = probe_file(initrd, O_RDONLY))
      return Failure{Category::BootSource,
                     "The initrd file cannot be opened due to invalid path or "
                     "invalid permissions. " +
                         io_error_text(error)};
  }
  std::string boot_args = is_null_or_absent(config, "boot_args")
                              ? std::string(default_boot_args)
                              : config["boot_args"].get<std::string>();
  if (boot_args.size() >= command_line_limit)
    return Failure{Category::BootSource,
                   "The kernel command line is invalid: Command line string "
                   "is too large"};
  if (boot_args.find('\0') != std::string::npos)
    return Failure{Category::BootSource,
                   "The kernel command line is invalid: String contains a "
                   "null terminator"};
  boot_source_ = config;
  return std::nullopt;
}

Vmm::Result Vmm::update_machine_config(const OrderedJson& update) {
  auto pick = [&](const char* key) {
    return update.contains(key) ? update[key]
                                : machine_config_.value(key, OrderedJson());
  };
  std::uint64_t vcpu_count = pick("vcpu_count");
  bool smt = pick("smt");
  std::uint64_t memory = pick("mem_size_mib");
  std::string huge_pages = pick("huge_pages");
  constexpr const char* vcpu_message =
      "The number of vCPUs must be greater than 0, less than 32 and must be 1 "
      "or an even number if SMT is enabled.";
  if (vcpu_count == 0 || vcpu_count > 32)
    return Failure{Category::Machine, vcpu_message};
  if (smt && vcpu_count > 1 && vcpu_count % 2 == 1)
    return Failure{Category::Machine, vcpu_message};
  if (memory == 0 || (huge_pages == "2M" && memory % 2 != 0))
    return Failure{Category::Machine,
                   "The memory size (MiB) is either 0, or not a multiple of "
                   "the configured page size."};
  if (balloon_ && memory < (*balloon_)["amount_mib"].get<std::uint64_t>())
    return Failure{Category::Machine,
                   "The memory size (MiB) is smaller than the previously set "
                   "balloon device target size."};
  OrderedJson cpu_template =
      machine_config_.value("cpu_template", OrderedJson());
  if (update.contains("cpu_template"))
    cpu_template = update["cpu_template"] == "None" ? OrderedJson()
                                                    : update["cpu_template"];
  OrderedJson updated = {
      {"vcpu_count", vcpu_count}, {"mem_size_mib", memory}, {"smt", smt}};
  if (!cpu_template.is_null())
    updated["cpu_template"] = cpu_template;
  updated["track_dirty_pages"] = pick("track_dirty_pages");
  updated["huge_pages"] = huge_pages;
  machine_config_ = std::move(updated);
  return std::nullopt;
}

bool Vmm::has_root_block_device() const {
  return !drives_.empty() && drives_.front()["is_root_device"] == true;
}

Vmm::Result Vmm::insert_block_device(const OrderedJson& config) {
  std::string id = config["drive_id"];
  std::size_t position = find_by(drives_, "drive_id", id);
  bool as_root = config["is_root_device"];
  bool pmem_root = std::any_of(
      pmem_devices_.begin(), pmem_devices_.end(),
      [](const OrderedJson& device) { return device["root_device"] == true; });
  if (as_root && pmem_root)
    return Failure{Category::Drive, "Attempt to add block as a root device "
                                    "while the root device defined as a pmem "
                                    "device"};
  if (as_root && has_root_block_device() && position != 0)
    return Failure{Category::Drive, "A root block device already exists!"};

  bool has_path = !is_null_or_absent(config, "path_on_host");
  bool has_socket = !is_null_or_absent(config, "socket");
  OrderedJson stored = config;
  if (has_path && !has_socket) {
    std::string path = config["path_on_host"];
    bool read_only = config["is_read_only"] == true;
    if (int error = probe_file(path, read_only ? O_RDONLY : O_RDWR))
      return Failure{Category::Drive,
                     "Unable to create the virtio block device: Virtio "
                     "backend error: Error manipulating the backing file: " +
                         io_error_text(error) + " " + path};
    // Block::config() reports the values the device was built with.
    stored["is_read_only"] = read_only;
    if (stored["io_engine"].is_null())
      stored["io_engine"] = "Sync";
  } else if (has_socket && !has_path) {
    std::string socket_path = config["socket"];
    struct stat status {};
    if (::stat(socket_path.c_str(), &status) != 0)
      return Failure{Category::Drive,
                     "Unable to create the virtio block device: Vhost user "
                     "backend error: Vhost-user error: Cannot connect to the "
                     "backend socket: " +
                         io_error_text(errno)};
  } else {
    return Failure{Category::Drive, "Unable to create the virtio block "
                                    "device: Invalid block config."};
  }

  if (position == drives_.size()) {
    if (as_root)
      drives_.insert(drives_.begin(), std::move(stored));
    else
      drives_.push_back(std::move(stored));
  } else {
    drives_[position] = std::move(stored);
    if (position != 0 && as_root)
      std::swap(drives_[0], drives_[position]);
  }
  return std::nullopt;
}

Vmm::Result Vmm::insert_network_device(const OrderedJson& config) {
  std::string id = config["iface_id"];
  if (!is_null_or_absent(config, "guest_mac")) {
    for (const OrderedJson& other : network_interfaces_)
      if (other["guest_mac"] == config["guest_mac"] && other["iface_id"] != id)
        return Failure{Category::Network,
                       "The MAC address is already in use: " +
                           config["guest_mac"].get<std::string>()};
  }
  // Like Firecracker, an update removes the old device before building the
  // new one, so a failed update leaves neither.
  std::size_t position = find_by(network_interfaces_, "iface_id", id);
  if (position != network_interfaces_.size()) {
    std::swap(network_interfaces_[position], network_interfaces_.back());
    network_interfaces_.pop_back();
  }
  std::string tap = config["host_dev_name"];
  if (tap.size() >= interface_name_limit)
    return Failure{Category::Network, "Could not create the network device: "
                                      "Open tap device failed: Invalid "
                                      "interface name"};
  if (!is_null_or_absent(config, "mtu")) {
    std::uint64_t mtu = config["mtu"];
    if (mtu < 68 || mtu > 65535)
      return Failure{Category::Network,
                     "Could not create the network device: MTU " +
                         std::to_string(mtu) + " is out of range [68, 65535]"};
  }
  network_interfaces_.push_back(config);
  return std::nullopt;
}

Vmm::Result Vmm::insert_pmem_device(const OrderedJson& config) {
  std::string id = config["id"];
  bool as_root = config["root_device"];
  if (as_root && has_root_block_device())
    return Failure{Category::Pmem, "Attempt to add pmem as a root device "
                                   "while the root device defined as a block "
                                   "device"};
  std::size_t position = find_by(pmem_devices_, "id", id);
  for (std::size_t index = 0; index < pmem_devices_.size(); ++index)
    if (as_root && index != position &&
        pmem_devices_[index]["root_device"] == true)
      return Failure{Category::Pmem, "A root pmem device already exist"};
  std::string path = config["path_on_host"];
  bool read_only = config["read_only"];
  if (int error = probe_file(path, read_only ? O_RDONLY : O_RDWR))
    return Failure{Category::Pmem,
                   "Error accessing underlying file: " + io_error_text(error)};
  if (position == pmem_devices_.size())
    pmem_devices_.push_back(config);
  else
    pmem_devices_[position] = config;
  return std::nullopt;
}

void Vmm::close_vsock() {
  if (vsock_listener_ >= 0) {
    ::close(vsock_listener_);
    vsock_listener_ = -1;
  }
}

Vmm::Result Vmm::set_vsock_device(const OrderedJson& config) {
  constexpr std::string_view bind_failure =
      "Cannot create backend for vsock device: Error binding to the "
      "host-side Unix socket: ";
  if (vsock_) {
    std::string previous = (*vsock_)["uds_path"];
    if (::unlink(previous.c_str()) != 0)
      return Failure{Category::Vsock,
                     std::string(bind_failure) + io_error_text(errno)};
    close_vsock();
    vsock_.reset();
  }
  std::string path = config["uds_path"];
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path)
    return Failure{Category::Vsock, std::string(bind_failure) +
                                        "path must be shorter than "
                                        "SUN_LEN"};
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  int listener =
      ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (listener < 0)
    return Failure{Category::Vsock,
                   std::string(bind_failure) + io_error_text(errno)};
  if (::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) !=
          0 ||
      ::listen(listener, 128) != 0) {
    int error = errno;
    ::close(listener);
    return Failure{Category::Vsock,
                   std::string(bind_failure) + io_error_text(error)};
  }
  vsock_listener_ = listener;
  OrderedJson stored = config;
  stored.erase("vsock_id");
  vsock_ = std::move(stored);
  return std::nullopt;
}

void Vmm::accept_vsock_connection() {
  int connection = ::accept4(vsock_listener_, nullptr, nullptr, SOCK_CLOEXEC);
  if (connection < 0)
    return;
  // Agents that ended since the last connection.
  while (::waitpid(-1, nullptr, WNOHANG) > 0) {
  }
  const char* agent = std::getenv("FC_STUB_GUEST_AGENT");
  if (!agent || !*agent || state_ != VmState::Running) {
    ::close(connection);
    return;
  }
  // Firecracker's host-initiated vsock protocol: "CONNECT <port>\n", answered
  // "OK <host side port>\n" once a guest listener accepted. The line is
  // read with a deadline: a host that sends nothing does not hang the stub.
  std::string line;
  while (line.size() < 32 && (line.empty() || line.back() != '\n')) {
    pollfd p{connection, POLLIN, 0};
    char c = 0;
    if (::poll(&p, 1, 1000) != 1 || ::read(connection, &c, 1) != 1)
      break;
    line += c;
  }
  unsigned port = 0;
  if (std::sscanf(line.c_str(), "CONNECT %u\n", &port) != 1 || port != 1024) {
    ::close(connection);
    return;
  }
  static const char ok[] = "OK 1073741824\n";
  if (::write(connection, ok, sizeof ok - 1) != static_cast<ssize_t>(sizeof ok - 1)) {
    ::close(connection);
    return;
  }
  // The agent runs on the host here: the identities it is sent (vm clone)
  // must change files in a folder of this VM's, never the host's own
  // hostname, network or SSH server.
  std::string uds;
  if (vsock_ && vsock_->contains("uds_path"))
    uds = (*vsock_)["uds_path"].get<std::string>();
  auto slash = uds.rfind('/');
  std::string root = (slash == std::string::npos ? std::string(".") : uds.substr(0, slash))
                     + "/guest-root";
  std::string etc = root + "/etc";
  pid_t pid = ::fork();
  if (pid == 0) {
    // The agent is this VM's guest: it dies with the VMM.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::dup2(connection, 3);
    ::mkdir(root.c_str(), 0755);
    ::mkdir(etc.c_str(), 0755);
    ::execl(agent, agent, "--fd", "3", "--identity-root", root.c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(connection);
}

Vmm::Result Vmm::set_balloon_device(const OrderedJson& config) {
  if (config["amount_mib"].get<std::uint64_t>() >
      machine_config_["mem_size_mib"].get<std::uint64_t>())
    return Failure{Category::Balloon,
                   "Amount of pages requested is too large."};
  balloon_ = config;
  return std::nullopt;
}

Vmm::Result Vmm::set_mmds_config(const OrderedJson& config) {
  if (!is_null_or_absent(config, "ipv4_address")) {
    in_addr address{};
    std::string text = config["ipv4_address"];
    inet_pton(AF_INET, text.c_str(), &address);
    auto octets = reinterpret_cast<const unsigned char*>(&address.s_addr);
    bool link_local = octets[0] == 169 && octets[1] == 254 && octets[2] != 0 &&
                      octets[2] != 255;
    if (!link_local)
      return Failure{Category::MmdsConfig,
                     "The MMDS IPv4 address is not link local."};
  }
  const OrderedJson& interfaces = config["network_interfaces"];
  if (interfaces.empty())
    return Failure{Category::MmdsConfig,
                   "The list of network interface IDs that allow forwarding "
                   "MMDS requests is empty."};
  for (const OrderedJson& id : interfaces)
    if (find_by(network_interfaces_, "iface_id", id) ==
        network_interfaces_.size())
      return Failure{Category::MmdsConfig,
                     "The list of network interface IDs provided contains at "
                     "least one ID that does not correspond to any existing "
                     "network interface."};
  mmds_exists_ = true;
  OrderedJson stored = config;
  if (stored["ipv4_address"].is_null())
    stored["ipv4_address"] = "169.254.169.254";
  mmds_config_ = std::move(stored);
  return std::nullopt;
}

Vmm::Result Vmm::set_memory_hotplug(const OrderedJson& config) {
  std::uint64_t total = config["total_size_mib"];
  std::uint64_t block = config["block_size_mib"];
  std::uint64_t slot = config["slot_size_mib"];
  auto failure = [](std::string detail) {
    return Failure{Category::MemoryHotplug, std::move(detail)};
  };
  if (block < 2)
    return failure("Block size must not be lower than 2 MiB");
  if ((block & (block - 1)) != 0)
    return failure("Block size must be a power of 2");
  if (slot < 128)
    return failure("Slot size must not be lower than 128 MiB");
  if (slot % block != 0)
    return failure("Slot size must be a multiple of block size (" +
                   std::to_string(block) + " MiB)");
  if (total < slot)
    return failure("Total size must not be lower than slot size (" +
                   std::to_string(slot) + " MiB)");
  if (total % slot != 0)
    return failure("Total size must be a multiple of slot size (" +
                   std::to_string(slot) + " MiB)");
  memory_hotplug_ = config;
  return std::nullopt;
}

Vmm::Result Vmm::configure_logger(const OrderedJson& config) {
  if (!is_null_or_absent(config, "log_path"))
    if (int error = logger_.open(config["log_path"]))
      return Failure{Category::Logger,
                     "Failed to open target file: " + io_error_text(error)};
  LogLevel level = LogLevel::Info;
  if (!is_null_or_absent(config, "level"))
    parse_log_level(config["level"].get<std::string>(), level);
  logger_.set_level(level);
  if (!is_null_or_absent(config, "show_level"))
    logger_.set_show_level(config["show_level"]);
  if (!is_null_or_absent(config, "show_log_origin"))
    logger_.set_show_origin(config["show_log_origin"]);
  if (!is_null_or_absent(config, "module"))
    logger_.set_module(config["module"]);
  return std::nullopt;
}

Vmm::Result Vmm::configure_metrics(const std::string& path) {
  constexpr std::string_view prefix =
      "Cannot initialize the metrics system due to bad user input: ";
  int descriptor = ::open(
      path.c_str(), O_RDWR | O_CREAT | O_NONBLOCK | O_APPEND | O_CLOEXEC, 0644);
  if (descriptor < 0)
    return Failure{Category::Metrics,
                   std::string(prefix) + io_error_text(errno)};
  if (metrics_descriptor_ >= 0) {
    ::close(descriptor);
    return Failure{Category::Metrics, std::string(prefix) +
                                          "Reinitialization of metrics not "
                                          "allowed."};
  }
  metrics_descriptor_ = descriptor;
  return std::nullopt;
}

std::optional<std::string> Vmm::initialize_metrics(const std::string& path) {
  if (auto failure = configure_metrics(path))
    return failure->detail;
  return std::nullopt;
}

Vmm::Result Vmm::start_microvm() {
  if (!boot_source_)
    return Failure{Category::StartMicrovm,
                   "Cannot start microvm without kernel configuration."};
  guest_ = GuestMemory{new_boot_id(), 0};
  run_guest();
  logger_.info("Guest started: kernel " +
                   (*boot_source_)["kernel_image_path"].get<std::string>() +
                   ", " + machine_config_["vcpu_count"].dump() + " vCPUs, " +
                   machine_config_["mem_size_mib"].dump() + " MiB, boot " +
                   guest_.boot_id + " (fc-stub: no guest code runs)",
               "fc_vcpu 0");
  events_.started();
  return std::nullopt;
}

} // namespace banger::fc_stub
