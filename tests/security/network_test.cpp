// Taps, bridges and NAT refuse names that are not banger's and devices that
// are not what banger created, and change nothing on the host when they do.
#include "privileged/host/nat.hpp"
#include "privileged/host/route.hpp"
#include "privileged/host/tap.hpp"
#include "tests/security/fixtures.hpp"
#include "tests/support/result.hpp"

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <ifaddrs.h>

#include <fstream>

using namespace banger;
using banger::test::code_of;
using namespace banger::host;
using namespace std::string_literals;

namespace {

/// Removes a bridge created by a test, whatever happens to the test.
struct BridgeGuard {
  std::string name;
  ~BridgeGuard() { (void)delete_bridge(name); }
};

Ipv4Subnet test_subnet() {
  // 198.18.0.0/15 is reserved for benchmarking: no real network uses it.
  auto octet = std::stoul(host_test::random_hex(2), nullptr, 16);
  return *parse_ipv4_subnet("198.19." + std::to_string(octet) + ".0/24");
}

const Ownership root_owner{0, 0};

/// The taps of the test installation on `bridge`.
TapScope scope(const std::string& bridge) {
  return TapScope{bridge, host_test::test_installation};
}

} // namespace

TEST_CASE("hostile tap names are malformed and create nothing") {
  std::string vm = host_test::random_vm_id();
  for (std::string bad :
       {"tap-fc-1234567;rm"s, "tap-fc-1234\0abc"s, "eth0"s, "lo"s,
        "tap-fc-../../x"s, std::string(300, 'a'), ""s}) {
    bool existed = host_test::link_exists(bad.c_str());
    CHECK(code_of(create_tap(vm, bad, scope("banger0"), root_owner)) ==
          Errc::invalid_argument);
    CHECK(code_of(delete_tap(bad, scope("banger0"))) == Errc::invalid_argument);
    CHECK(host_test::link_exists(bad.c_str()) == existed);
  }
}

TEST_CASE("a tap of another vm is refused and not created") {
  std::string vm = host_test::random_vm_id();
  std::string other = "tap-fc-" + host_test::random_hex(8);
  REQUIRE(other != tap_name(vm));
  CHECK(code_of(create_tap(vm, other, scope("banger0"), root_owner)) ==
        Errc::helper_refused);
  CHECK_FALSE(host_test::link_exists(other));
}

TEST_CASE("hostile bridge names are malformed before any netlink call") {
  auto subnet = test_subnet();
  for (std::string bad : {"br0;reboot"s, "Br0"s, "abcdefghijklmnop"s, ""s,
                          "br\0x"s, "br/0"s, "-br"s}) {
    CHECK(code_of(ensure_bridge(bad, subnet)) == Errc::invalid_argument);
    CHECK(code_of(delete_bridge(bad)) == Errc::invalid_argument);
    CHECK(code_of(ensure_nat(bad, subnet)) == Errc::invalid_argument);
    CHECK(code_of(remove_nat(bad)) == Errc::invalid_argument);
  }
}

TEST_CASE("a device that is not a bridge is not turned into banger's bridge") {
  BANGER_REQUIRE_ROOT();
  auto uut = ensure_bridge("lo", test_subnet());
  CHECK(code_of(uut) == Errc::helper_refused);
  CHECK(code_of(delete_bridge("lo")) == Errc::helper_refused);
  CHECK(host_test::link_exists("lo"));
}

TEST_CASE(
    "a non-tap device with a banger tap name is neither used nor deleted") {
  BANGER_REQUIRE_ROOT();
  std::string vm = host_test::random_vm_id();
  std::string impostor = tap_name(vm);
  // A bridge may legally be called tap-fc-<hex>: it is still not a tap.
  BridgeGuard guard{impostor};
  REQUIRE(ensure_bridge(impostor, test_subnet()));
  std::string bridge = "bgt" + host_test::random_hex(8);
  BridgeGuard bridge_guard{bridge};
  REQUIRE(ensure_bridge(bridge, test_subnet()));

  CHECK(code_of(delete_tap(impostor, scope(bridge))) == Errc::helper_refused);
  CHECK(code_of(create_tap(vm, impostor, scope(bridge), root_owner)) ==
        Errc::helper_refused);
  CHECK(host_test::link_exists(impostor));
}

TEST_CASE("a tap is not enslaved to something that is not a bridge") {
  BANGER_REQUIRE_ROOT();
  std::string vm = host_test::random_vm_id();
  CHECK(code_of(create_tap(vm, tap_name(vm), scope("lo"), root_owner)) ==
        Errc::helper_refused);
  CHECK_FALSE(host_test::link_exists(tap_name(vm)));
  std::string missing = "bgt" + host_test::random_hex(8);
  CHECK(code_of(create_tap(vm, tap_name(vm), scope(missing), root_owner)) ==
        Errc::not_found);
  CHECK_FALSE(host_test::link_exists(tap_name(vm)));
}

TEST_CASE("an existing tap with another owner is a conflict, left as it was") {
  BANGER_REQUIRE_ROOT();
  std::string bridge = "bgt" + host_test::random_hex(8);
  BridgeGuard bridge_guard{bridge};
  REQUIRE(ensure_bridge(bridge, test_subnet()));
  std::string vm = host_test::random_vm_id();
  std::string tap = tap_name(vm);
  REQUIRE(create_tap(vm, tap, scope(bridge), Ownership{65534, 65534}));
  struct TapGuard {
    std::string name;
    ~TapGuard() { host_test::remove_tap_device(name); }
  } tap_guard{tap};
  CHECK(code_of(create_tap(vm, tap, scope(bridge), root_owner)) == Errc::conflict);
  CHECK(host_test::read_file("/sys/class/net/" + tap + "/owner") == "65534\n");
}

namespace {

/// The main table as /proc shows it (this process's network namespace).
std::string route_table() {
  std::ifstream in("/proc/self/net/route");
  return std::string(std::istreambuf_iterator<char>(in), {});
}

/// An IPv4 address of this host other than loopback, 0 when it has none.
std::uint32_t own_address() {
  ifaddrs* all = nullptr;
  if (::getifaddrs(&all) != 0)
    return 0;
  std::uint32_t found = 0;
  for (auto* a = all; a && !found; a = a->ifa_next)
    if (a->ifa_addr && a->ifa_addr->sa_family == AF_INET) {
      auto address = ntohl(reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr.s_addr);
      if (address >> 24 != 127)
        found = address;
    }
  ::freeifaddrs(all);
  return found;
}

} // namespace

TEST_CASE("a peer route via a gateway on no connected network, or via this host itself, changes no route") {
  auto before = route_table();
  // 198.51.100.0/24 is TEST-NET-2: no host is connected to it.
  PeerRoute nowhere{test_subnet(), 0xc6336407}; // 198.51.100.7
  auto uut = install_peer_route(nowhere);
  CHECK(code_of(uut) == Errc::helper_refused);
  CHECK(uut.error().message.find("not on a network this host is directly connected to") !=
        std::string::npos);
  if (auto self = own_address()) {
    auto mine = install_peer_route(PeerRoute{test_subnet(), self});
    CHECK(code_of(mine) == Errc::helper_refused);
    CHECK(mine.error().message.find("is an address of this host") != std::string::npos);
  }
  CHECK(route_table() == before);
}
