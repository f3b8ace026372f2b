#include "tools/guest-agent/identity.hpp"

#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <linux/random.h>
#include <sys/ioctl.h>
#include <vector>
#include <unistd.h>

namespace banger::guest {

namespace {

bool all_of(const std::string& s, const char* allowed) {
  return s.find_first_not_of(allowed) == std::string::npos;
}

constexpr const char* digits = "0123456789";
constexpr const char* hex_digits = "0123456789abcdefABCDEF";

bool is_ipv4(const std::string& s) {
  int parts = 0;
  std::size_t at = 0;
  while (at <= s.size()) {
    auto dot = s.find('.', at);
    auto part = s.substr(at, dot == std::string::npos ? std::string::npos : dot - at);
    if (part.empty() || part.size() > 3 || !all_of(part, digits) || std::stoi(part) > 255)
      return false;
    ++parts;
    if (dot == std::string::npos)
      break;
    at = dot + 1;
  }
  return parts == 4;
}

bool is_ipv6(const std::string& s) {
  return !s.empty() && s.size() <= 45 && s.find(':') != std::string::npos &&
         all_of(s, "0123456789abcdefABCDEF:.");
}

bool is_address(const std::string& s) { return is_ipv4(s) || is_ipv6(s); }

bool is_prefix(const std::string& s) {
  auto slash = s.find('/');
  if (slash == std::string::npos)
    return false;
  auto bits = s.substr(slash + 1);
  return is_address(s.substr(0, slash)) && !bits.empty() && bits.size() <= 3 &&
         all_of(bits, digits) && std::stoi(bits) <= 128;
}

bool is_mac(const std::string& s) {
  if (s.size() != 17)
    return false;
  for (std::size_t i = 0; i < s.size(); ++i)
    if (i % 3 == 2 ? s[i] != ':' : std::strchr(hex_digits, s[i]) == nullptr)
      return false;
  return true;
}

bool is_hostname(const std::string& s) {
  return !s.empty() && s.size() <= 64 && s.front() != '-' && s.front() != '.' &&
         all_of(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.");
}

bool is_device(const std::string& s) {
  return !s.empty() && s.size() < 16 && s.front() != '-' &&
         all_of(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.");
}

/// ip(8): iproute2's where a distribution puts it, else busybox's.
std::vector<std::string> ip_command() {
  for (const char* path : {"/sbin/ip", "/usr/sbin/ip", "/bin/ip", "/usr/bin/ip"})
    if (is_executable(path))
      return {path};
  for (const char* path : {"/bin/busybox", "/usr/bin/busybox", "/sbin/busybox"})
    if (is_executable(path))
      return {path, "ip"};
  return {};
}

std::optional<Failure> run(std::vector<std::string> command,
                           std::initializer_list<std::string> args) {
  command.insert(command.end(), args);
  return run_program(command);
}

std::optional<Failure> set_network(const agent::Identity& x, const IdentityRoot& root) {
  if (x.device.empty())
    return std::nullopt;
  if (!root.prefix.empty()) {
    // Not the guest's own root: the network is not this agent's to change;
    // what it would set goes to a file for whoever placed it there.
    return replace_file(root.prefix + "/etc/banger-network",
                        "device=" + x.device + "\nmac=" + x.mac + "\naddress=" + x.address
                          + "\ngateway=" + x.gateway + "\n");
  }
  auto ip = ip_command();
  if (ip.empty())
    return Failure{ENOENT, "no ip command in the guest (iproute2 or busybox)"};
  const auto& dev = x.device;
  if (!x.mac.empty()) {
    // virtio-net under QEMU changes the MAC of an interface that is up (its
    // control queue); other drivers need it down first (EBUSY).
    if (run(ip, {"link", "set", "dev", dev, "address", x.mac})) {
      if (auto f = run(ip, {"link", "set", "dev", dev, "down"}))
        return f;
      if (auto f = run(ip, {"link", "set", "dev", dev, "address", x.mac}))
        return f;
    }
  }
  if (!x.address.empty()) {
    if (auto f = run(ip, {"addr", "flush", "dev", dev}))
      return f;
    if (auto f = run(ip, {"addr", "add", x.address, "dev", dev}))
      return f;
  }
  if (auto f = run(ip, {"link", "set", "dev", dev, "up"}))
    return f;
  if (!x.gateway.empty()) {
    // "replace": the route of the image the guest was cloned from may be
    // there already.
    if (auto f = run(ip, {"route", "replace", "default", "via", x.gateway, "dev", dev}))
      return f;
  }
  return std::nullopt;
}

/// The image's own way to replace its SSH host keys and make its server use
/// them (banger's images: tools/image/build-image.sh).
constexpr const char* ssh_server_script = "/etc/banger/ssh-server";

/// New SSH host keys: the image's script where it has one (it knows how its
/// server runs); otherwise the host keys are deleted and made again with
/// whichever SSH server's tool the guest has, and the server, whose
/// running copy this does not reach, keeps its old key until restarted.
std::optional<Failure> new_host_keys(const IdentityRoot& root) {
  if (root.prefix.empty() && is_executable(ssh_server_script))
    return run_program({ssh_server_script, "rekey"});
  struct Server {
    std::string dir;
    const char* pattern; ///< file names holding this, in dir
  };
  for (const Server& server : {Server{root.prefix + "/etc/dropbear", "host_key"},
                               Server{root.prefix + "/etc/ssh", "ssh_host_"}}) {
    DIR* dir = ::opendir(server.dir.c_str());
    if (dir == nullptr)
      continue;
    std::vector<std::string> doomed;
    while (auto* entry = ::readdir(dir))
      if (std::strstr(entry->d_name, server.pattern) != nullptr)
        doomed.push_back(server.dir + "/" + entry->d_name);
    ::closedir(dir);
    for (const auto& path : doomed)
      if (::unlink(path.c_str()) != 0 && errno != ENOENT)
        return system_failure("removing " + path, errno);
  }
  for (const char* tool : {"/usr/bin/dropbearkey", "/usr/sbin/dropbearkey", "/bin/dropbearkey"}) {
    if (!is_executable(tool) || ::access((root.prefix + "/etc/dropbear").c_str(), F_OK) != 0)
      continue;
    for (const char* type : {"ed25519", "ecdsa", "rsa"}) {
      auto key = root.prefix + "/etc/dropbear/dropbear_" + type + "_host_key";
      if (auto f = run_program({tool, "-t", type, "-f", key}))
        return f;
    }
    break;
  }
  for (const char* tool : {"/usr/bin/ssh-keygen", "/bin/ssh-keygen"}) {
    if (!is_executable(tool) || ::access((root.prefix + "/etc/ssh").c_str(), F_OK) != 0)
      continue;
    // -A writes every missing host key type under <prefix>/etc/ssh.
    auto command = std::vector<std::string>{tool, "-A"};
    if (!root.prefix.empty())
      command.insert(command.end(), {"-f", root.prefix});
    if (auto f = run_program(command))
      return f;
    break;
  }
  return std::nullopt;
}

/// The host's seed into the kernel's input pool, credited, then the CRNG
/// reseeded from it: from here on this guest's random numbers are its own,
/// not those of every guest restored from the same snapshot. Older kernels
/// without the ioctls get the bytes mixed in (a write to /dev/urandom) and
/// reseed on their own schedule.
std::optional<Failure> reseed(const std::string& seed) {
  int fd = ::open("/dev/urandom", O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return system_failure("opening /dev/urandom", errno);
  std::vector<char> buffer(sizeof(rand_pool_info) + seed.size());
  auto* info = reinterpret_cast<rand_pool_info*>(buffer.data());
  info->entropy_count = static_cast<int>(seed.size() * 8);
  info->buf_size = static_cast<int>(seed.size());
  std::memcpy(info->buf, seed.data(), seed.size());
  std::optional<Failure> failed;
  if (::ioctl(fd, RNDADDENTROPY, info) != 0) {
    if (!write_all(fd, seed))
      failed = system_failure("writing the host's seed to /dev/urandom", errno);
  } else if (::ioctl(fd, RNDRESEEDCRNG) != 0 && errno != ENOTTY && errno != EINVAL) {
    failed = system_failure("reseeding the kernel's random generator", errno);
  }
  ::close(fd);
  return failed;
}

} // namespace

std::optional<Failure> check_identity(const agent::Identity& x) {
  auto invalid = [](const std::string& what, const std::string& value) {
    return Failure{EINVAL, what + " " + value.substr(0, 80) + " is not valid"};
  };
  if (!x.hostname.empty() && !is_hostname(x.hostname))
    return invalid("hostname", x.hostname);
  bool network = !x.mac.empty() || !x.address.empty() || !x.gateway.empty();
  if (network && x.device.empty())
    return Failure{EINVAL, "a MAC, address or gateway needs an interface"};
  if (!x.device.empty() && !is_device(x.device))
    return invalid("interface", x.device);
  if (!x.mac.empty() && !is_mac(x.mac))
    return invalid("MAC", x.mac);
  if (!x.address.empty() && !is_prefix(x.address))
    return invalid("address", x.address);
  if (!x.gateway.empty() && !is_address(x.gateway))
    return invalid("gateway", x.gateway);
  for (const auto& server : x.dns)
    if (!is_address(server))
      return invalid("DNS server", server);
  if (x.flags & ~(agent::identity_new_machine_id | agent::identity_new_host_keys))
    return Failure{EINVAL, "unknown identity flags " + std::to_string(x.flags)};
  if (x.seed.size() > agent::max_seed)
    return Failure{EINVAL, "a seed of more than " + std::to_string(agent::max_seed) + " bytes"};
  return std::nullopt;
}

std::optional<Failure> apply_identity(const agent::Identity& x, const IdentityRoot& root) {
  if (auto bad = check_identity(x))
    return bad;
  // First: everything after it may draw random numbers.
  if (!x.seed.empty() && root.prefix.empty())
    if (auto f = reseed(x.seed))
      return f;
  if (!x.hostname.empty()) {
    if (root.prefix.empty() && ::sethostname(x.hostname.data(), x.hostname.size()) != 0)
      return system_failure("sethostname", errno);
    if (auto f = replace_file(root.prefix + "/etc/hostname", x.hostname + "\n"))
      return f;
    // As the image's start-up writes it (tools/image/build-image.sh).
    if (auto f = replace_file(root.prefix + "/etc/hosts",
                              "127.0.0.1\tlocalhost\n127.0.1.1\t" + x.hostname + "\n"))
      return f;
  }
  if (auto f = set_network(x, root))
    return f;
  if (!x.dns.empty()) {
    std::string text = "# written by banger's guest agent\n";
    for (const auto& server : x.dns)
      text += "nameserver " + server + "\n";
    if (auto f = replace_file(root.prefix + "/etc/resolv.conf", text))
      return f;
  }
  if (x.flags & agent::identity_new_machine_id)
    if (auto f = replace_file(root.prefix + "/etc/machine-id", random_hex(16) + "\n", 0444))
      return f;
  if (x.flags & agent::identity_new_host_keys)
    if (auto f = new_host_keys(root))
      return f;
  return std::nullopt;
}

} // namespace banger::guest

