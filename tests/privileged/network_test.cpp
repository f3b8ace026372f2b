// Bridge, taps and NAT on the real host (root). Every device and table a test
// creates has a unique name and is removed by a guard.
#include "privileged/host/nat.hpp"
#include "privileged/host/tap.hpp"
#include "privileged/host/tap_reaper.hpp"
#include "tests/security/fixtures.hpp"
#include "tests/support/result.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cstring>
#include <doctest/doctest.h>
#include <grp.h>
#include <ifaddrs.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <map>
#include <mutex>
#include <thread>

using namespace banger;
using banger::test::code_of;
using namespace banger::host;
namespace fs = std::filesystem;

namespace {

struct BridgeGuard {
  std::string name;
  ~BridgeGuard() { (void)delete_bridge(name); }
};

struct TapGuard {
  std::string name;
  ~TapGuard() { host_test::remove_tap_device(name); }
};

/// The taps of the test installation on `bridge`.
TapScope scope(const std::string& bridge) {
  return TapScope{bridge, host_test::test_installation};
}

struct NatGuard {
  std::string bridge;
  ~NatGuard() { (void)remove_nat(bridge); }
};

/// `n` fresh taps on `bridge`, each removed at the end if still there.
struct TestTaps {
  TestTaps(const std::string& bridge, int n) {
    guards.reserve(n);
    for (int i = 0; i < n; ++i) {
      std::string vm = host_test::random_vm_id();
      names.push_back(tap_name(vm));
      guards.push_back(TapGuard{names.back()});
      REQUIRE(create_tap(vm, names.back(), scope(bridge), Ownership{0, 0}));
    }
  }
  std::vector<std::string> names;
  std::vector<TapGuard> guards;
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

  REQUIRE(create_tap(vm, tap, scope(bridge.name), vmm_user));
  CHECK(host_test::link_exists(tap));
  CHECK(master_of(tap) == bridge.name);
  CHECK(is_up(tap));
  CHECK(sysfs(tap, "owner") == "65534");
  CHECK(sysfs(tap, "group") == "65534");
  CHECK((std::stoul(sysfs(tap, "tun_flags"), nullptr, 16) & IFF_TAP));
  CHECK(can_attach_as(tap, 65534));
  CHECK_FALSE(can_attach_as(tap, 65533));

  auto taps = list_taps(scope(bridge.name));
  REQUIRE(taps);
  auto it = std::find_if(taps->begin(), taps->end(),
                         [&](const TapInfo& info) { return info.name == tap; });
  REQUIRE(it != taps->end());
  CHECK(it->master == bridge.name);
  CHECK(it->up);
  CHECK(it->alias == tap_alias(host_test::test_installation, vm));
  CHECK(it->ours);
  CHECK(it->ifindex == static_cast<int>(::if_nametoindex(tap.c_str())));

  SUBCASE("creating it again is success") {
    CHECK(create_tap(vm, tap, scope(bridge.name), vmm_user));
    CHECK(master_of(tap) == bridge.name);
  }
  SUBCASE("an existing tap is not taken over from its bridge") {
    TestBridge second;
    REQUIRE(ensure_bridge(second.name, second.subnet));
    CHECK(code_of(create_tap(vm, tap, scope(second.name), vmm_user)) == Errc::helper_refused);
    CHECK(master_of(tap) == bridge.name);
  }
  SUBCASE("deleting it removes it; deleting again is not_found") {
    REQUIRE(delete_tap(tap, scope(bridge.name)));
    CHECK_FALSE(host_test::link_exists(tap));
    auto again = delete_tap(tap, scope(bridge.name));
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
  REQUIRE(create_tap(vm, tap, scope(bridge.name), Ownership{0, 0}));
  int fd = ::open("/dev/net/tun", O_RDWR | O_CLOEXEC);
  REQUIRE(fd >= 0);
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, tap.c_str(), IFNAMSIZ - 1);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
  REQUIRE(::ioctl(fd, TUNSETIFF, &ifr) == 0);
  CHECK(delete_tap(tap, scope(bridge.name)));
  CHECK_FALSE(host_test::link_exists(tap));
  ::close(fd);
}

TEST_CASE("delete_taps removes a batch at once and answers for each name") {
  BANGER_REQUIRE_ROOT();
  TestBridge bridge;
  REQUIRE(ensure_bridge(bridge.name, bridge.subnet));
  TestTaps made(bridge.name, 6);
  const auto& taps = made.names;
  // A bridge carrying a tap name: found, but not a tap, so refused and kept.
  std::string impostor = tap_name(host_test::random_vm_id());
  BridgeGuard impostor_guard{impostor};
  REQUIRE(ensure_bridge(impostor, *parse_ipv4_subnet("198.18.77.0/24")));
  std::string missing = tap_name(host_test::random_vm_id());

  std::vector<std::string> batch = taps;
  batch.insert(batch.begin() + 2, missing);
  batch.push_back(impostor);
  batch.push_back("eth0");
  auto results = delete_taps(batch, scope(bridge.name));
  REQUIRE(results.size() == batch.size());
  for (std::size_t i = 0; i < batch.size(); ++i) {
    CAPTURE(batch[i]);
    if (batch[i] == missing) {
      REQUIRE_FALSE(results[i]);
      CHECK(results[i].error().code == Errc::not_found);
    } else if (batch[i] == impostor) {
      REQUIRE_FALSE(results[i]);
      CHECK(results[i].error().code == Errc::helper_refused);
    } else if (batch[i] == "eth0") { // not a banger tap name at all
      REQUIRE_FALSE(results[i]);
      CHECK(results[i].error().code == Errc::invalid_argument);
    } else {
      CHECK(results[i]);
      CHECK_FALSE(host_test::link_exists(batch[i]));
    }
  }
  CHECK(host_test::link_exists(impostor));
  CHECK(host_test::link_exists(bridge.name));
}

TEST_CASE("the tap reaper removes scheduled taps and answers bad names at once") {
  BANGER_REQUIRE_ROOT();
  TestBridge bridge;
  REQUIRE(ensure_bridge(bridge.name, bridge.subnet));
  constexpr int n = 12;
  TestTaps made(bridge.name, n);
  const auto& taps = made.names;
  std::mutex mutex;
  std::map<std::string, std::pair<std::string, bool>> reported; // tap -> tag, ok
  TapReaper reaper([&](const std::string& tap, const std::string& tag, const Status& result,
                       std::size_t) {
    std::lock_guard lock(mutex);
    reported[tap] = {tag, result.ok()};
  });

  // From several threads at once, as the helper's workers call it.
  std::vector<Status> results(n);
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i)
    threads.emplace_back([&, i] { results[i] = reaper.schedule(taps[i], scope(bridge.name), "op-" + std::to_string(i)); });
  for (auto& t : threads)
    t.join();
  for (auto& r : results)
    CHECK(r);
  reaper.drain();
  for (int i = 0; i < n; ++i) {
    CAPTURE(taps[i]);
    CHECK_FALSE(host_test::link_exists(taps[i]));
    std::lock_guard lock(mutex);
    CHECK(reported[taps[i]] == std::make_pair("op-" + std::to_string(i), true));
  }

  SUBCASE("a missing tap, a non-tap and a foreign name are refused to the caller") {
    CHECK(code_of(reaper.schedule(taps[0], scope(bridge.name))) == Errc::not_found);
    CHECK(code_of(reaper.schedule("eth0", scope(bridge.name))) == Errc::invalid_argument);
    CHECK(code_of(reaper.schedule(bridge.name, scope(bridge.name))) == Errc::invalid_argument);
    std::string impostor = tap_name(host_test::random_vm_id());
    BridgeGuard impostor_guard{impostor};
    REQUIRE(ensure_bridge(impostor, *parse_ipv4_subnet("198.18.78.0/24")));
    CHECK(code_of(reaper.schedule(impostor, scope(bridge.name))) == Errc::helper_refused);
    reaper.drain();
    CHECK(host_test::link_exists(impostor));
  }
}

TEST_CASE("a tap claimed again right after its removal was scheduled stays") {
  BANGER_REQUIRE_ROOT();
  TestBridge bridge;
  REQUIRE(ensure_bridge(bridge.name, bridge.subnet));
  TapReaper reaper;
  // Many rounds: the claim lands either while the removal is queued (the
  // tap is kept) or while it runs (the claim waits, and the tap is made
  // again); either way the VM ends up with its tap.
  for (int round = 0; round < 20; ++round) {
    std::string vm = host_test::random_vm_id();
    std::string tap = tap_name(vm);
    TapGuard guard{tap};
    REQUIRE(create_tap(vm, tap, scope(bridge.name), Ownership{0, 0}));
    REQUIRE(reaper.schedule(tap, scope(bridge.name)));
    reaper.claim(tap);
    REQUIRE(create_tap(vm, tap, scope(bridge.name), Ownership{0, 0}));
    reaper.drain();
    CHECK(host_test::link_exists(tap));
    CHECK(master_of(tap) == bridge.name);
    CHECK(is_up(tap));
  }
}

TEST_CASE("a tap reaper that goes away removes what it accepted first") {
  BANGER_REQUIRE_ROOT();
  TestBridge bridge;
  REQUIRE(ensure_bridge(bridge.name, bridge.subnet));
  TestTaps made(bridge.name, 5);
  {
    TapReaper reaper;
    for (auto& tap : made.names)
      REQUIRE(reaper.schedule(tap, scope(bridge.name)));
  }
  for (auto& tap : made.names)
    CHECK_FALSE(host_test::link_exists(tap));
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
