#include "messages/published_ports.hpp"
#include "tests/support/result.hpp"

#include <doctest/doctest.h>

using namespace banger;
using banger::test::code_of;

TEST_CASE("a port mapping is HOST:GUEST with tcp unless a protocol is given") {
  auto uut = parse_port_mapping("18080:8080");
  REQUIRE(uut);
  CHECK(*uut == PortMapping{18080, 8080, "tcp"});
  CHECK(*parse_port_mapping("53:5353/udp") == PortMapping{53, 5353, "udp"});
  CHECK(*parse_port_mapping("65535:1/tcp") == PortMapping{65535, 1, "tcp"});
  CHECK(to_string(*uut) == "18080:8080/tcp");
}

TEST_CASE("a malformed port mapping is refused with the text and the form") {
  for (const char* text : {"", "8080", ":80", "80:", "0:80", "80:0", "65536:80", "080:80",
                           "+80:80", "80:80/", "80:80/sctp", "80:80/TCP", "80:80:90", " 80:80",
                           "80:80/tcp/udp", "99999999999:1"}) {
    auto uut = parse_port_mapping(text);
    CHECK_MESSAGE(code_of(uut) == Errc::invalid_argument, text);
    if (!uut)
      CHECK(uut.error().message.find("HOSTPORT:GUESTPORT[/tcp|udp]") != std::string::npos);
  }
}

TEST_CASE("a host port may be published once per protocol") {
  CHECK(check_port_mappings({{53, 53, "tcp"}, {53, 53, "udp"}}));
  auto uut = check_port_mappings({{80, 80, "tcp"}, {80, 81, "tcp"}});
  REQUIRE(!uut);
  CHECK(uut.error().message == "host port 80/tcp is published twice");
}

TEST_CASE("at most max_published_ports mappings are accepted") {
  std::vector<PortMapping> many;
  for (std::uint16_t p = 1; p <= max_published_ports; ++p)
    many.push_back({p, p, "tcp"});
  CHECK(check_port_mappings(many));
  many.push_back({999, 999, "tcp"});
  CHECK(code_of(check_port_mappings(many)) == Errc::invalid_argument);
}

TEST_CASE("a port mapping list round-trips through its text form") {
  std::vector<PortMapping> ports{{18080, 8080, "tcp"}, {53, 53, "udp"}};
  CHECK(format_port_mappings(ports) == "18080:8080/tcp,53:53/udp");
  CHECK(*parse_port_mappings("18080:8080/tcp,53:53/udp") == ports);
  CHECK(parse_port_mappings("")->empty());
  CHECK(format_port_mappings({}).empty());
  CHECK(code_of(parse_port_mappings("80:80/tcp,")) == Errc::invalid_argument);
  CHECK(code_of(parse_port_mappings("80:80/tcp,,81:81")) == Errc::invalid_argument);
  CHECK(code_of(parse_port_mappings("80:80,80:81")) == Errc::invalid_argument);
}
