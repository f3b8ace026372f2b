#include "tests/support/host_fixture.hpp"
#include "tests/support/ports.hpp"

#include "messages/error.hpp"
#include "messages/op_id.hpp"
#include "messages/tls.hpp"
#include "privileged/host/nat.hpp"
#include "tools/cli/init.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <csignal>
#include <unistd.h>

#include <dirent.h>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace banger::test {

using namespace std::chrono_literals;

std::uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

namespace {

std::vector<std::string> read_lines(const std::string& path) {
  std::vector<std::string> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line))
    out.push_back(line);
  return out;
}

} // namespace

std::string fc_stub_path() {
  return FC_STUB_BIN;
}

struct Host::Client {
  Config cfg;
  std::unique_ptr<caf::actor_system> sys;
  control_actor control;
};

Host::Host(HostOptions options) : dir_("banger-it"), options_(std::move(options)) {
  home_ = dir_.path() + "/home";
  auto suffix = random_hex(3);
  bridge_ = "bgt" + suffix;
  daemon_port_ = free_port();
  helper_port_ = free_port();
  auto helper_port = helper_port_;
  auto octet = std::to_string(16 + std::stoi(suffix.substr(0, 2), nullptr, 16) % 200);
  InitOptions init;
  init.home = home_;
  init.sets = {"daemon.port=" + std::to_string(daemon_port_),
               "helper.port=" + std::to_string(helper_port),
               "vmm.firecracker-bin=" + fc_stub_path(),
               "network.bridge=" + bridge_,
               "network.subnet=10.213." + octet + ".0/24",
               "vmm.stop-grace=3s",
               "vmm.kill-grace=3s"};
  for (auto& s : options_.sets)
    init.sets.push_back(s);
  auto report = init_home(init);
  if (!report)
    throw std::runtime_error("banger init failed: " + report.error().message);
}

Host::~Host() {
  client_.reset();
  daemon_.reset();
  // Kill what this home's helper started before the helper itself.
  for (int pid : vmm_pids())
    ::kill(pid, SIGKILL);
  helper_.reset();
  std::string cleanup = "for t in $(ls /sys/class/net/" + bridge_ + "/brif 2>/dev/null); do ip link del \"$t\"; done; ip link del " + bridge_ + " 2>/dev/null";
  [[maybe_unused]] int rc = std::system(cleanup.c_str());
  // The helper masquerades the test subnet (network.nat) from its start.
  (void)host::remove_nat(bridge_);
}

void Host::start_helper() {
  std::filesystem::create_directories(home_ + "/logs");
  helper_.emplace(Child::spawn({HELPER_BIN, "--home", home_}, options_.helper_env,
                               home_ + "/logs/helper.log"));
}

void Host::stop_helper(int signal) {
  if (!helper_)
    return;
  helper_->signal(signal);
  helper_->wait(10s);
  helper_.reset();
}

void Host::signal_helper(int signal) {
  if (helper_)
    helper_->signal(signal);
}

void Host::start_daemon() {
  client_.reset();
  daemon_.emplace(Child::spawn({BANGERD_BIN, "--home", home_}, {}, home_ + "/logs/bangerd.log"));
}

void Host::stop_daemon(int signal) {
  // The process first: tearing the client down waits for its requests in
  // flight, which would let the daemon finish what a test means to cut off.
  if (daemon_) {
    daemon_->signal(signal);
    daemon_->wait(10s);
    daemon_.reset();
  }
  client_.reset();
}

bool Host::daemon_running() {
  return daemon_ && daemon_->running();
}

bool Host::helper_running() {
  return helper_ && helper_->running();
}

void Host::wait_ready() {
  std::string last;
  bool ready = eventually(
    [&] {
      auto status = ask<DaemonStatus>(DaemonStatusRequest{}, 5s);
      if (!status) {
        last = status.error().message;
        return false;
      }
      return status->helper_reachable;
    },
    20s, 10ms);
  if (!ready)
    throw std::runtime_error("daemon not ready with its helper: " + last);
}

caf::actor_system& Host::system() {
  control();
  return *client_->sys;
}

control_actor& Host::control() {
  if (client_)
    return client_->control;
  auto client = std::make_unique<Client>();
  if (auto read = client->cfg.read(home_, {}); !read)
    throw std::runtime_error(read.error().message);
  if (auto tls = enable_tls(client->cfg, HomeLayout{home_}, TlsRole::client); !tls)
    throw std::runtime_error(tls.error().message);
  client->sys = std::make_unique<caf::actor_system>(client->cfg);
  std::string error;
  bool connected = eventually(
    [&] {
      auto handle = caf::openssl::remote_actor<control_actor>(*client->sys, "127.0.0.1", daemon_port_);
      if (!handle) {
        error = client->sys->render(handle.error());
        return false;
      }
      client->control = *handle;
      return true;
    },
    20s, 20ms);
  if (!connected)
    throw std::runtime_error("cannot connect to bangerd: " + error);
  client_ = std::move(client);
  return client_->control;
}

Error describe_error(const caf::error& err) {
  auto v = view(err);
  return Error{v.code, v.message + (v.op_id.empty() ? "" : " (" + v.op_id + ")")};
}

Image Host::add_image(const std::string& name) {
  auto dir = home_ + "/images/" + name;
  std::filesystem::create_directories(dir);
  {
    std::ofstream kernel(dir + "/vmlinux");
    kernel << "not really a kernel";
  }
  {
    std::ofstream rootfs(dir + "/rootfs.ext4");
    rootfs << std::string(64 * 1024, 'r');
  }
  ImageAddRequest request;
  request.name = name;
  request.kernel_path = dir + "/vmlinux";
  request.rootfs_path = dir + "/rootfs.ext4";
  auto image = ask<Image>(request);
  if (!image)
    throw std::runtime_error("image add failed: " + image.error().message);
  return *image;
}

std::vector<std::string> Host::daemon_log() const {
  return read_lines(home_ + "/logs/bangerd.log");
}

std::vector<std::string> Host::helper_log() const {
  return read_lines(home_ + "/logs/helper.log");
}

bool Host::tap_exists(const std::string& vm_id) {
  // banger-helper removes taps in the background (privileged/host/
  // tap_reaper.hpp); the inventory that `doctor` asks it for first waits
  // for every removal it has accepted. After that round trip the host shows
  // what banger really left behind.
  if (helper_ && daemon_running())
    (void)ask<DoctorReport>(DoctorRequest{}, 30s);
  return if_nametoindex(tap_name(vm_id).c_str()) != 0;
}

namespace {

/// A /proc file's contents, or "" when the process is gone: a process may
/// exit between readdir and the read, and then the read fails with ESRCH
/// (std::istreambuf_iterator would throw that).
std::string read_proc_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return {};
  std::string out;
  char buf[4096];
  for (;;) {
    auto n = ::read(fd, buf, sizeof buf);
    if (n <= 0) {
      if (n < 0)
        out.clear();
      break;
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

} // namespace

std::vector<int> Host::vmm_pids() const {
  std::vector<int> out;
  auto marker = home_ + "/run/vms/";
  DIR* proc = ::opendir("/proc");
  if (!proc)
    return out;
  while (auto* entry = ::readdir(proc)) {
    int pid = std::atoi(entry->d_name);
    if (pid <= 0)
      continue;
    auto args = read_proc_file("/proc/" + std::string(entry->d_name) + "/cmdline");
    // Firecracker (or fc-stub) has --api-sock, QEMU a -qmp socket in there.
    if (args.find(marker) != std::string::npos
        && (args.find("--api-sock") != std::string::npos || args.find("-qmp") != std::string::npos)) {
      auto line = read_proc_file("/proc/" + std::string(entry->d_name) + "/stat");
      if (line.empty())
        continue; // exited meanwhile
      auto rparen = line.rfind(')');
      if (rparen != std::string::npos && rparen + 2 < line.size() && line[rparen + 2] == 'Z')
        continue;
      out.push_back(pid);
    }
  }
  ::closedir(proc);
  return out;
}

} // namespace banger::test
