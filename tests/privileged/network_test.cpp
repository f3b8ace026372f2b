// Bridge, taps and NAT on the real host (root). Every device and table a test
// creates has a unique name and is removed by a guard.
#include "privileged/host/nat.hpp"
#include "privileged/host/tap.hpp"
#include "tests/security/fixtures.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cstring>
#include <doctest/doctest.h>
#include <grp.h>
#include <ifaddrs.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>

using namespace banger;
using namespace banger::host;
namespace fs = std::filesystem;

namespace {

struct BridgeGuard {
  std::string name;
  ~BridgeGuard() { (void)delete_bridge(name); }
};

struct TapGuard {
  std::string name;
  ~TapGuard() { (void)delete_tap(name); }
};

struct NatGuard {
  std::string bridge;
  ~NatGuard() { (void)remove_nat(bridge); }
};

/// A unique bridge with a unique 198.19.x.0/24 subnet, removed at the end.
struct TestBridge {
  std::string name = "bgt" + host_test::random_hex(8);
  Ipv4Subnet subnet = *parse_ipv4_subnet(
      "198.19." +
      std::to_string(std::stoul(host_test::random_hex(2), nullptr, 16)) +
      ".0/24");
  BridgeGuard guard{name};
};

std::string sysfs(const std::string& device, const std::string& attribute) {
  auto text =
      host_test::read_file("/sys/class/net/" + device + "/" + attribute);
  while (!text.empty() && text.back() == '\n')
    text.pop_back();
  return text;
}

bool is_up(const std::string& device) {
  return std::stoul(sysfs(device, "flags"), nullptr, 16) & IFF_UP;
}

std::string master_of(const std::string& device) {
  std::error_code ec;
  auto target = fs::read_symlink("/sys/class/net/" + device + "/master", ec);
  return ec ? "" : target.filename().string();
}

/// IPv4 addresses with prefix length on `device`, as "a.b.c.d/n".
std::vector<std::string> ipv4_addresses(const std::string& device) {
  std::vector<std::string> out;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0)
    return out;
  for (auto* it = list; it; it = it->ifa_next) {
    if (!it->ifa_addr || it->ifa_addr->sa_family != AF_INET ||
        device != it->ifa_name)
      continue;
    auto addr = reinterpret_cast<sockaddr_in*>(it->ifa_addr)->sin_addr;
    auto mask = reinterpret_cast<sockaddr_in*>(it->ifa_netmask)->sin_addr;
    char text[INET_ADDRSTRLEN];
    ::inet_ntop(AF_INET, &addr, text, sizeof text);
    out.push_back(std::string(text) + "/" +
                  std::to_string(__builtin_popcount(mask.s_addr)));
  }
  ::freeifaddrs(list);
  return out;
}

/// Whether a process running as `uid` may attach to `tap`; runs the attempt
/// in a child that drops to that uid.
bool can_attach_as(const std::string& tap, uid_t uid) {
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // Opened first: /dev/net/tun may be root-only (0600) on some hosts; the
    // owner check this is about happens at TUNSETIFF.
    int fd = ::open("/dev/net/tun", O_RDWR);
    if (::setgroups(0, nullptr) != 0 || ::setgid(uid) != 0 ||
        ::setuid(uid) != 0)
      ::_exit(2);
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, tap.c_str(), IFNAMSIZ - 1);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
    ::_exit(fd >= 0 && ::ioctl(fd, TUNSETIFF, &ifr) == 0 ? 0 : 1);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

} // namespace

TEST_CASE("ensure_bridge creates an up bridge holding the gateway address") {
  BANGER_REQUIRE_ROOT();
  TestBridge bridge;
  REQUIRE(ensure_bridge(bridge.name, bridge.subnet));
  CHECK(host_test::link_exists(bridge.name));
  CHECK(fs::is_directory("/sys/class/net/" + bridge.name + "/bridge"));
  CHECK(is_up(bridge.name));
  std::string gateway = bridge.subnet.gateway_string() + "/24";
  CHECK(ipv4_addresses(bridge.name) == std::vector<std::string>{gateway});

  SUBCASE("and is idempotent") {
    REQUIRE(ensure_bridge(bridge.name, bridge.subnet));
    CHECK(ipv4_addresses(bridge.name) == std::vector<std::string>{gateway});
  }
}

TEST_CASE("a tap is created on the bridge, owned by the VMM user, and up") {
  BANGER_REQUIRE_ROOT();
  TestBridge bridge;
  REQUIRE(ensure_bridge(bridge.name, bridge.subnet));
  std::string vm = host_test::random_vm_id();
  std::string tap = tap_name(vm);
  TapGuard guard{tap};
  Ownership vmm_user{65534, 65534};

  REQUIRE(create_tap(vm, tap, bridge.name, vmm_user));
  CHECK(host_test::link_exists(tap));
  CHECK(master_of(tap) == bridge.name);
  CHECK(is_up(tap));
  CHECK(sysfs(tap, "owner") == "65534");
  CHECK(sysfs(tap, "group") == "65534");
  CHECK((std::stoul(sysfs(tap, "tun_flags"), nullptr, 16) & IFF_TAP));
  CHECK(can_attach_as(tap, 65534));
  CHECK_FALSE(can_attach_as(tap, 65533));

  auto taps = list_taps();
  REQUIRE(taps);
  auto it = std::find_if(taps->begin(), taps->end(),
                         [&](const TapInfo& info) { return info.name == tap; });
  REQUIRE(it != taps->end());
  CHECK(it->master == bridge.name);
  CHECK(it->up);
  CHECK(it->ifindex == static_cast<int>(::if_nametoindex(tap.c_str())));

  SUBCASE("creating it again is success") {
    CHECK(create_tap(vm, tap, bridge.name, vmm_user));
    CHECK(master_of(tap) == bridge.name);
  }
  SUBCASE("an existing tap is completed onto the requested bridge") {
    TestBridge second;
    REQUIRE(ensure_bridge(second.name, second.subnet));
    REQUIRE(create_tap(vm, tap, second.name, vmm_user));
    CHECK(master_of(tap) == second.name);
    CHECK(is_up(tap));
  }
  SUBCASE("deleting it removes it; deleting again is not_found") {
    REQUIRE(delete_tap(tap));
    CHECK_FALSE(host_test::link_exists(tap));
    auto again = delete_tap(tap);
    REQUIRE_FALSE(again);
    CHECK(again.error().code == Errc::not_found);
  }
}

TEST_CASE("a tap held open by a VMM can still be deleted") {
  BANGER_REQUIRE_ROOT();
  TestBridge bridge;
  REQUIRE(ensure_bridge(bridge.name, bridge.subnet));
  std::string vm = host_test::random_vm_id();
  std::string tap = tap_name(vm);
  TapGuard guard{tap};
  REQUIRE(create_tap(vm, tap, bridge.name, Ownership{0, 0}));
  int fd = ::open("/dev/net/tun", O_RDWR | O_CLOEXEC);
  REQUIRE(fd >= 0);
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, tap.c_str(), IFNAMSIZ - 1);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
  REQUIRE(::ioctl(fd, TUNSETIFF, &ifr) == 0);
  CHECK(delete_tap(tap));
  CHECK_FALSE(host_test::link_exists(tap));
  ::close(fd);
}

TEST_CASE("NAT is added, replaced and removed as one nftables table") {
  BANGER_REQUIRE_ROOT();
  TestBridge bridge;
  NatGuard guard{bridge.name};
  auto before = nat_present(bridge.name);
  REQUIRE(before);
  CHECK_FALSE(*before);

  REQUIRE(ensure_nat(bridge.name, bridge.subnet));
  CHECK(*nat_present(bridge.name));
  CHECK(host_test::read_file("/proc/sys/net/ipv4/ip_forward") == "1\n");
  REQUIRE(ensure_nat(bridge.name, bridge.subnet));
  CHECK(*nat_present(bridge.name));

  REQUIRE(remove_nat(bridge.name));
  CHECK_FALSE(*nat_present(bridge.name));
  auto again = remove_nat(bridge.name);
  REQUIRE_FALSE(again);
  CHECK(again.error().code == Errc::not_found);
}
