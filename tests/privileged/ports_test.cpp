// Published ports on the real host (root): real nftables rules, a "guest"
// listening in a network namespace of its own on a test bridge, and clients
// on the host and in a second namespace on the same bridge. Every bridge,
// namespace and table a test makes has a unique name and is removed by a
// guard.
#include "privileged/host/tap.hpp"
#include "privileged/host/nat.hpp"
#include "privileged/host/ports.hpp"
#include "tests/cluster/netns.hpp"
#include "tests/cluster/netns_links.hpp"
#include "tests/security/fixtures.hpp"
#include "tests/support/result.hpp"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mutex>
#include <cerrno>
#include <optional>
#include <string>
#include <thread>

using namespace banger;
using banger::test::code_of;
using namespace banger::host;

namespace {

struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd >= 0)
      ::close(fd);
  }
};

/// A port no test on this host is likely to use, 20000-59999.
std::uint16_t random_port() {
  return static_cast<std::uint16_t>(20000 + std::stoul(host_test::random_hex(4), nullptr, 16) % 40000);
}

sockaddr_in address_of(const std::string& ip, std::uint16_t port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  REQUIRE(::inet_pton(AF_INET, ip.c_str(), &sa.sin_addr) == 1);
  return sa;
}

/// A TCP server in the guest namespace answering every connection with
/// `answer`, until destroyed; it remembers whom it answered last.
class GuestServer {
public:
  GuestServer(int netns_fd, std::uint16_t port, std::string answer)
      : socket_(test::socket_in(netns_fd, AF_INET, SOCK_STREAM)), answer_(std::move(answer)) {
    int one = 1;
    ::setsockopt(socket_.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    auto sa = address_of("0.0.0.0", port);
    REQUIRE(::bind(socket_.fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
    REQUIRE(::listen(socket_.fd, 16) == 0);
    thread_ = std::thread([this] {
      for (;;) {
        sockaddr_in peer{};
        socklen_t length = sizeof peer;
        int client = ::accept4(socket_.fd, reinterpret_cast<sockaddr*>(&peer), &length, SOCK_CLOEXEC);
        if (client < 0)
          return; // shut down
        {
          std::lock_guard lock(mutex_);
          char text[INET_ADDRSTRLEN] = {};
          ::inet_ntop(AF_INET, &peer.sin_addr, text, sizeof text);
          last_peer_ = text;
        }
        (void)!::write(client, answer_.data(), answer_.size());
        ::close(client);
      }
    });
  }
  ~GuestServer() {
    ::shutdown(socket_.fd, SHUT_RDWR); // wakes the accept
    thread_.join();
  }

  /// The source address of the last connection answered.
  std::string last_peer() {
    std::lock_guard lock(mutex_);
    return last_peer_;
  }

private:
  Fd socket_;
  std::string answer_;
  std::mutex mutex_;
  std::string last_peer_;
  std::thread thread_;
};

/// What a TCP connection to ip:port from `netns_fd` (-1: the host) reads
/// until the server closes, or the connect's errno.
struct Reply {
  int error = 0;
  std::string text;
};

Reply fetch(int netns_fd, const std::string& ip, std::uint16_t port) {
  Fd s(netns_fd < 0 ? ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)
                    : test::socket_in(netns_fd, AF_INET, SOCK_STREAM));
  REQUIRE(s.fd >= 0);
  // Bounds a connect whose SYN is dropped: that is a failure to report,
  // never a hang.
  timeval limit{5, 0};
  ::setsockopt(s.fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
  ::setsockopt(s.fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  auto sa = address_of(ip, port);
  Reply reply;
  if (::connect(s.fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    reply.error = errno;
    return reply;
  }
  char buffer[256];
  for (;;) {
    auto n = ::read(s.fd, buffer, sizeof buffer);
    if (n <= 0)
      break;
    reply.text.append(buffer, static_cast<std::size_t>(n));
  }
  return reply;
}

/// A test bridge with its gateway address, and two "guests": network
/// namespaces on the bridge through veth pairs, with the subnet's
/// addresses .2 and .3 and the gateway as default route.
struct TestNetwork {
  std::string bridge = "bgt" + host_test::random_hex(8);
  Ipv4Subnet subnet = *parse_ipv4_subnet(
      "198.19." + std::to_string(std::stoul(host_test::random_hex(2), nullptr, 16)) + ".0/24");
  test::Namespace guest = test::Namespace::network();
  test::Namespace other = test::Namespace::network();
  Fd host_ns{::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)};

  TestNetwork() {
    REQUIRE(ensure_bridge(bridge, subnet));
    attach(guest, 2);
    attach(other, 3);
  }
  ~TestNetwork() {
    (void)remove_ports_table(bridge);
    (void)remove_nat(bridge);
    (void)delete_bridge(bridge);
    // The veths go with their namespaces.
  }

  std::string ip(std::uint32_t host) const { return ipv4_to_string(subnet.network + host); }
  std::string gateway() const { return subnet.gateway_string(); }

private:
  void attach(const test::Namespace& ns, std::uint32_t host) {
    auto veth = "bgv" + host_test::random_hex(8);
    test::links::add_veth(host_ns.fd, veth, ns.fd(), "eth0");
    test::links::set_master(host_ns.fd, veth, bridge);
    test::links::set_up(host_ns.fd, veth, true);
    test::links::set_up(ns.fd(), "lo", true);
    test::links::set_up(ns.fd(), "eth0", true);
    test::links::add_address(ns.fd(), "eth0", ip(host) + "/24");
    test::links::add_default_route(ns.fd(), gateway());
  }
};

PortsSpec spec_for(const TestNetwork& net, const std::string& vm_id,
                   std::vector<PortMapping> ports) {
  auto spec = validate_ports(net.subnet, vm_id, net.ip(2), ports);
  REQUIRE(spec);
  return *spec;
}

} // namespace

TEST_CASE("a published port answers from the host with the guest's listener") {
  BANGER_REQUIRE_ROOT();
  TestNetwork net;
  auto guest_port = random_port();
  auto host_port = static_cast<std::uint16_t>(guest_port + 1);
  GuestServer server(net.guest.fd(), guest_port, "hello from the guest");
  auto vm = host_test::random_vm_id();

  // Nothing published yet: the host has no listener there.
  CHECK(fetch(-1, net.gateway(), host_port).error == ECONNREFUSED);

  REQUIRE(publish_ports(net.bridge, net.subnet, spec_for(net, vm, {{host_port, guest_port, "tcp"}})));
  CHECK(fetch(-1, net.gateway(), host_port).text == "hello from the guest");
  CHECK(*published_vms(net.bridge) == std::vector<std::string>{vm});

  SUBCASE("and from another guest on the bridge, through the host's address") {
    // prerouting, then the masquerade: the guest answers the host, which
    // hands the answer back. (Without it the answer would go straight to the
    // other guest from an address it never asked, unless br_netfilter runs
    // bridged traffic through conntrack; the source tells the two apart.)
    CHECK(fetch(net.other.fd(), net.gateway(), host_port).text == "hello from the guest");
    CHECK(server.last_peer() == net.gateway());
  }
  SUBCASE("but not on loopback, which is refused at once") {
    CHECK(fetch(-1, "127.0.0.1", host_port).error == ECONNREFUSED);
  }
  SUBCASE("publishing again replaces the VM's rules") {
    auto moved = static_cast<std::uint16_t>(host_port + 1);
    REQUIRE(publish_ports(net.bridge, net.subnet, spec_for(net, vm, {{moved, guest_port, "tcp"}})));
    CHECK(fetch(-1, net.gateway(), moved).text == "hello from the guest");
    CHECK(fetch(-1, net.gateway(), host_port).error == ECONNREFUSED);
  }
  SUBCASE("NAT ensured again keeps it") {
    REQUIRE(ensure_nat(net.bridge, net.subnet));
    CHECK(fetch(-1, net.gateway(), host_port).text == "hello from the guest");
  }
  SUBCASE("unpublish removes it, and again is no error") {
    REQUIRE(unpublish_ports(net.bridge, vm));
    CHECK(fetch(-1, net.gateway(), host_port).error == ECONNREFUSED);
    CHECK(published_vms(net.bridge)->empty());
    CHECK(unpublish_ports(net.bridge, vm));
  }
}

TEST_CASE("a host port another VM published is refused, naming the port and the VM") {
  BANGER_REQUIRE_ROOT();
  TestNetwork net;
  auto port = random_port();
  auto first = host_test::random_vm_id();
  auto second = host_test::random_vm_id();
  REQUIRE(publish_ports(net.bridge, net.subnet, spec_for(net, first, {{port, 80, "tcp"}})));

  auto refused = publish_ports(net.bridge, net.subnet,
                               spec_for(net, second, {{static_cast<std::uint16_t>(port + 1), 80, "tcp"},
                                                      {port, 81, "tcp"}}));
  REQUIRE(!refused);
  CHECK(refused.error().code == Errc::conflict);
  CHECK(refused.error().message.find(std::to_string(port) + "/tcp") != std::string::npos);
  CHECK(refused.error().message.find(first) != std::string::npos);
  // Refused as a whole: none of the second VM's mappings was written.
  CHECK(*published_vms(net.bridge) == std::vector<std::string>{first});

  SUBCASE("the same port for the other protocol is another port") {
    CHECK(publish_ports(net.bridge, net.subnet, spec_for(net, second, {{port, 80, "udp"}})));
    CHECK(published_vms(net.bridge)->size() == 2);
  }
  SUBCASE("once the first VM unpublished, the port is free") {
    REQUIRE(unpublish_ports(net.bridge, first));
    CHECK(publish_ports(net.bridge, net.subnet, spec_for(net, second, {{port, 80, "tcp"}})));
    CHECK(*published_vms(net.bridge) == std::vector<std::string>{second});
  }
}

TEST_CASE("a bridge with no published ports lists none and unpublishes without error") {
  BANGER_REQUIRE_ROOT();
  std::string bridge = "bgt" + host_test::random_hex(8);
  CHECK(published_vms(bridge)->empty());
  CHECK(unpublish_ports(bridge, host_test::random_vm_id()));
  CHECK(code_of(remove_ports_table(bridge)) == Errc::not_found);
}
