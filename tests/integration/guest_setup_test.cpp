// What the daemon and the helper set up for a guest beyond the VMM: NAT for
// the subnet once a VM runs (none before: a helper that serves no VM leaves
// the host's network as it was), the guest's name and DNS servers on
// its kernel command line, and a root disk grown to `--disk` (never shrunk).
// fc-stub stands in for Firecracker: the command line is read back from its
// API (GET /vm/config), the disk from the VM's rootfs file.
#include "tests/integration/helpers.hpp"

#include "privileged/host/nat.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <filesystem>

using namespace banger;
using namespace banger::test;
namespace fs = std::filesystem;

namespace {

/// GET `path` over the VMM's API socket; the whole response.
std::string api_get(const std::string& socket_path, const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  REQUIRE(socket_path.size() < sizeof addr.sun_path);
  socket_path.copy(addr.sun_path, socket_path.size());
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  std::string request = "GET " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
  REQUIRE(::write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size()));
  // The API keeps the connection open: read the headers, then
  // Content-Length bytes of body, each read bounded by poll.
  std::string response;
  char buf[4096];
  auto complete = [&] {
    auto end = response.find("\r\n\r\n");
    if (end == std::string::npos)
      return false;
    auto at = response.find("Content-Length: ");
    auto length = at == std::string::npos ? 0 : std::stoul(response.substr(at + 16));
    return response.size() >= end + 4 + length;
  };
  while (!complete()) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 10000) <= 0)
      break;
    auto n = ::read(fd, buf, sizeof buf);
    if (n <= 0)
      break;
    response.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return response;
}

/// An image whose rootfs is `mib` MiB (sparse), beneath <home>/images.
void add_sized_image(Host& host, const std::string& name, off_t mib) {
  auto dir = host.path("images/" + name);
  fs::create_directories(dir);
  std::ofstream(dir + "/vmlinux") << "not really a kernel";
  std::ofstream(dir + "/rootfs.ext4") << "r";
  REQUIRE(::truncate((dir + "/rootfs.ext4").c_str(), mib << 20) == 0);
  ImageAddRequest add;
  add.name = name;
  add.kernel_path = dir + "/vmlinux";
  add.rootfs_path = dir + "/rootfs.ext4";
  REQUIRE(reported(host.ask<Image>(add), "image add " + name).ok());
}

} // namespace

TEST_CASE("NAT for the bridge's subnet is on by default once a VM starts, not before") {
  BANGER_REQUIRE_ROOT();
  Host host;
  host.start_helper();
  host.start_daemon();
  host.wait_ready();
  CHECK_FALSE(fs::exists("/sys/class/net/" + host.bridge()));
  auto before = host::nat_present(host.bridge());
  REQUIRE(before.ok());
  CHECK_FALSE(*before);
  host.add_image();
  REQUIRE(create_vm(host, "nat-on", true).ok());
  auto present = host::nat_present(host.bridge());
  REQUIRE(present.ok());
  CHECK(*present);
  CHECK(fs::exists("/sys/class/net/" + host.bridge()));
}

TEST_CASE("with network.nat=false a started VM has the bridge but no NAT") {
  BANGER_REQUIRE_ROOT();
  Host host(HostOptions{{"network.nat=false"}, {}});
  host.start_helper();
  host.start_daemon();
  host.wait_ready();
  host.add_image();
  REQUIRE(create_vm(host, "nat-off", true).ok());
  CHECK(fs::exists("/sys/class/net/" + host.bridge()));
  auto present = host::nat_present(host.bridge());
  REQUIRE(present.ok());
  CHECK_FALSE(*present);
}

TEST_CASE("the guest's kernel command line carries its VM's name and the configured DNS") {
  BANGER_REQUIRE_ROOT();
  Host host(HostOptions{{"network.dns=192.0.2.53,198.51.100.7"}, {}});
  host.start_helper();
  host.start_daemon();
  host.wait_ready();
  host.add_image();
  auto vm = create_vm(host, "named-guest", true);
  REQUIRE(vm.ok());
  auto config = api_get(vm->runtime.api_socket, "/vm/config");
  INFO(config);
  CHECK(config.find(":named-guest:eth0:off:192.0.2.53:198.51.100.7") != std::string::npos);
  CHECK(config.find("ip=" + vm->runtime.guest_ip + "::") != std::string::npos);
}

TEST_CASE("--disk grows the VM's rootfs sparsely; smaller than the image is refused") {
  BANGER_REQUIRE_ROOT();
  Host host;
  host.start_helper();
  host.start_daemon();
  host.wait_ready();
  add_sized_image(host, "big", 64);

  VmCreateRequest grow;
  grow.spec.name = "grown";
  grow.spec.image = "big";
  grow.spec.disk_bytes = std::uint64_t{2} << 30;
  auto vm = reported(host.ask<VmRecord>(grow), "create grown");
  REQUIRE(vm.ok());
  auto rootfs = fs::path(vm->runtime.rootfs_path);
  CHECK(fs::file_size(rootfs) == std::uint64_t{2} << 30);
  struct stat st {};
  REQUIRE(::stat(rootfs.c_str(), &st) == 0);
  CHECK(st.st_blocks * 512 < (std::int64_t{8} << 20)); // a hole, not 2 GiB of zeros

  VmCreateRequest shrink;
  shrink.spec.name = "shrunk";
  shrink.spec.image = "big";
  shrink.spec.disk_bytes = std::uint64_t{48} << 20;
  auto refused = host.ask<VmRecord>(shrink);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code == Errc::invalid_argument);
  CHECK(refused.error().message.find("can only be grown") != std::string::npos);
  // Nothing of it is left behind.
  CHECK(show(host, "shrunk").error().code == Errc::not_found);

  VmCreateRequest huge = grow;
  huge.spec.name = "huge";
  huge.spec.disk_bytes = std::uint64_t{3} << 40;
  auto bounded = host.ask<VmRecord>(huge);
  REQUIRE_FALSE(bounded.ok());
  CHECK(bounded.error().code == Errc::invalid_argument);
}
