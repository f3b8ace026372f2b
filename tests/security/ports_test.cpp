// Hostile publish requests: validate_ports runs before any nftables rule is
// written, and must refuse every field a caller could bend.
#include "privileged/host/ports.hpp"
#include "tests/support/result.hpp"

#include <doctest/doctest.h>

using namespace banger;
using banger::test::code_of;
using namespace banger::host;

namespace {

const Ipv4Subnet subnet = *parse_ipv4_subnet("172.30.0.0/24");
const std::string vm = "0123456789abcdef";
const std::vector<PortMapping> web{{18080, 8080, "tcp"}};

} // namespace

TEST_CASE("a publish request for a guest of the subnet is accepted as sent") {
  auto uut = validate_ports(subnet, vm, "172.30.0.2", web);
  REQUIRE(uut);
  CHECK(uut->vm_id == vm);
  CHECK(ipv4_to_string(uut->guest_ip) == "172.30.0.2");
  CHECK(uut->ports == web);
}

TEST_CASE("a publish request for a malformed vm id is invalid") {
  CHECK(code_of(validate_ports(subnet, "0123456789ABCDEF", "172.30.0.2", web))
        == Errc::invalid_argument);
  CHECK(code_of(validate_ports(subnet, "x\" masquerade", "172.30.0.2", web))
        == Errc::invalid_argument);
}

TEST_CASE("a publish request's guest ip must be a guest address of the subnet") {
  for (const char* ip : {"172.30.0.2 ", "172.30.0.02", "172.30.0", "1.2.3.4; flush ruleset", ""})
    CHECK_MESSAGE(code_of(validate_ports(subnet, vm, ip, web)) == Errc::invalid_argument, ip);
  for (const char* ip : {"172.30.0.0", "172.30.0.1", "172.30.0.255", "172.30.1.2", "127.0.0.1"})
    CHECK_MESSAGE(code_of(validate_ports(subnet, vm, ip, web)) == Errc::helper_refused, ip);
}

TEST_CASE("a publish request's ports must be 1-65535 tcp or udp, unique, and few") {
  CHECK(code_of(validate_ports(subnet, vm, "172.30.0.2", {{0, 80, "tcp"}})) == Errc::invalid_argument);
  CHECK(code_of(validate_ports(subnet, vm, "172.30.0.2", {{80, 0, "tcp"}})) == Errc::invalid_argument);
  CHECK(code_of(validate_ports(subnet, vm, "172.30.0.2", {{80, 80, "sctp"}}))
        == Errc::invalid_argument);
  CHECK(code_of(validate_ports(subnet, vm, "172.30.0.2", {{80, 80, "tcp\" accept"}}))
        == Errc::invalid_argument);
  CHECK(code_of(validate_ports(subnet, vm, "172.30.0.2", {{80, 80, "tcp"}, {80, 81, "tcp"}}))
        == Errc::invalid_argument);
  std::vector<PortMapping> many;
  for (std::uint16_t p = 1; p <= 33; ++p)
    many.push_back({p, p, "tcp"});
  CHECK(code_of(validate_ports(subnet, vm, "172.30.0.2", many)) == Errc::invalid_argument);
  many.pop_back();
  CHECK(validate_ports(subnet, vm, "172.30.0.2", many));
}
