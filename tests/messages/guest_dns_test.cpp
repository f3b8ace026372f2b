// The DNS servers a guest gets: the host's upstream resolvers, never a
// loopback stub (inside the guest, 127.0.0.0/8 is the guest itself).
#include "messages/guest_dns.hpp"
#include "tests/support/process.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

using namespace banger;
using Servers = std::vector<std::string>;

TEST_CASE("a guest gets the host's IPv4 resolvers, without loopback, link-local or IPv6 ones") {
  CHECK(guest_resolvers("# generated\nsearch example.org\nnameserver 192.0.2.53\n"
                        "nameserver 127.0.0.53\nnameserver ::1\nnameserver 2001:db8::1\n"
                        "nameserver 169.254.169.254\nnameserver 0.0.0.0\n"
                        "nameserver 198.51.100.7\noptions edns0\n")
        == Servers{"192.0.2.53", "198.51.100.7"});
  // At most two (the kernel's ip= has dns0 and dns1), duplicates once.
  CHECK(guest_resolvers("nameserver 10.0.0.1\nnameserver 10.0.0.1\nnameserver 10.0.0.2\n"
                        "nameserver 10.0.0.3\n")
        == Servers{"10.0.0.1", "10.0.0.2"});
  CHECK(guest_resolvers("nameserver 127.0.0.53\n").empty());
  CHECK(guest_resolvers("nameserver not-an-address\nnameserver\n").empty());
  CHECK(names_loopback_resolver("nameserver 127.0.0.53\n"));
  CHECK_FALSE(names_loopback_resolver("nameserver 192.0.2.1\n"));
}

TEST_CASE("behind a systemd-resolved stub, auto hands on resolved's upstream servers") {
  test::TempDir dir;
  auto stub = std::filesystem::path(dir.path()) / "resolv.conf";
  auto upstream = std::filesystem::path(dir.path()) / "upstream.conf";
  std::ofstream(stub) << "nameserver 127.0.0.53\noptions edns0 trust-ad\n";
  std::ofstream(upstream) << "nameserver 203.0.113.9\n";
  CHECK(guest_dns("auto", stub, upstream) == Servers{"203.0.113.9"});
  // A usable resolver in the host's file wins; the upstream file is not read.
  std::ofstream(stub) << "nameserver 192.0.2.1\nnameserver 127.0.0.53\n";
  CHECK(guest_dns("auto", stub, upstream) == Servers{"192.0.2.1"});
  // Nothing usable anywhere: no DNS, not a loopback address.
  std::ofstream(stub) << "nameserver 127.0.0.1\n";
  CHECK(guest_dns("auto", stub, (std::filesystem::path(dir.path()) / "missing").string())
          .empty());
  CHECK(guest_dns("none", stub, upstream).empty());
  CHECK(guest_dns("192.0.2.7,192.0.2.8", stub, upstream) == Servers{"192.0.2.7", "192.0.2.8"});
}

TEST_CASE("network.dns accepts auto, none or one or two reachable IPv4 addresses") {
  for (const char* ok : {"auto", "none", "192.0.2.1", "192.0.2.1,198.51.100.2"})
    CHECK_MESSAGE(validate_dns_setting(ok).ok(), ok);
  for (const char* bad : {"", "127.0.0.53", "1.1.1.1,", "1.1.1.1,2.2.2.2,3.3.3.3", "::1",
                          "dns.example", "169.254.0.1", "1.1.1.1;2.2.2.2"}) {
    auto st = validate_dns_setting(bad);
    CHECK_MESSAGE(!st.ok(), bad);
    if (!st.ok())
      CHECK(st.error().code == Errc::invalid_argument);
  }
}
