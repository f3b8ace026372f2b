// Hostile input for the pure validators: each must answer invalid_argument
// for malformed input and helper_refused for well-formed input outside the
// allow-list, and accept exactly what banger itself produces.
#include "messages/home_layout.hpp"
#include "privileged/host/validate.hpp"
#include "tests/support/result.hpp"

#include <csignal>
#include <doctest/doctest.h>
#include <string>
#include <unistd.h>

using namespace banger;
using banger::test::code_of;
using namespace banger::host;
using namespace std::string_literals;

namespace {

} // namespace

TEST_CASE("a vm id is exactly 16 lowercase hex digits") {
  CHECK(validate_vm_id("0123456789abcdef"));
  for (std::string bad :
       {""s, "0123456789abcde"s, "0123456789abcdef0"s, "0123456789ABCDEF"s,
        "0123456789abcdeg"s, "../../etc/passwd"s, "0123456789abcde\0"s,
        "01234567 9abcdef"s, "0123456789abcd;f"s, std::string(4096, 'a')})
    CHECK(code_of(validate_vm_id(bad)) == Errc::invalid_argument);
}

TEST_CASE("a tap name is tap-fc- and 8 lowercase hex digits") {
  CHECK(validate_tap_name("tap-fc-0123abcd"));
  for (std::string bad :
       {""s, "tap-fc-"s, "tap-fc-0123abc"s, "tap-fc-0123abcde"s,
        "tap-fc-0123ABCD"s, "tap-fc-1234567;rm"s, "tap-fc-1234567;"s,
        "tap-fc-1234\0abc"s, "eth0"s, "tap-fx-0123abcd"s, "tap-fc-../../x"s,
        "tap-fc-$(reboot)"s, std::string(300, 'a')})
    CHECK(code_of(validate_tap_name(bad)) == Errc::invalid_argument);
}

TEST_CASE("a tap must be the tap of the vm it is created for") {
  std::string vm = "0123abcd89abcdef";
  CHECK(validate_tap_name_for(tap_name(vm), vm));
  CHECK(code_of(validate_tap_name_for("tap-fc-ffffffff", vm)) ==
        Errc::helper_refused);
  CHECK(code_of(validate_tap_name_for("tap-fc-0123abcd", "not-a-vm-id")) ==
        Errc::invalid_argument);
}

TEST_CASE("a bridge name fits IFNAMSIZ and uses [a-z0-9-]") {
  CHECK(validate_bridge_name("banger0"));
  CHECK(validate_bridge_name("br-0"));
  CHECK(validate_bridge_name("abcdefghijklmno")); // 15 characters
  for (std::string bad :
       {""s, "abcdefghijklmnop"s, "-br"s, "Br0"s, "br0;reboot"s, "br 0"s,
        "br/0"s, "br\0"s, "br\n0"s, "../br"s})
    CHECK(code_of(validate_bridge_name(bad)) == Errc::invalid_argument);
}

TEST_CASE("a banger name matches [a-z0-9][a-z0-9-]{0,62}") {
  CHECK(validate_banger_name("web-1"));
  CHECK(validate_banger_name(std::string(63, 'a')));
  for (std::string bad : {""s, std::string(64, 'a'), "-web"s, "Web"s, "web_1"s,
                          "web 1"s, "web\0"s, "a/b"s, "a;b"s})
    CHECK(code_of(validate_banger_name(bad)) == Errc::invalid_argument);
}

TEST_CASE("allowed signals parse by name, SIG name, any case, or number") {
  CHECK(*parse_signal("TERM") == SIGTERM);
  CHECK(*parse_signal("SIGTERM") == SIGTERM);
  CHECK(*parse_signal("sigterm") == SIGTERM);
  CHECK(*parse_signal("kill") == SIGKILL);
  CHECK(*parse_signal("Hup") == SIGHUP);
  CHECK(*parse_signal("INT") == SIGINT);
  CHECK(*parse_signal("QUIT") == SIGQUIT);
  CHECK(*parse_signal("USR1") == SIGUSR1);
  CHECK(*parse_signal("SIGUSR2") == SIGUSR2);
  CHECK(*parse_signal("15") == SIGTERM);
  CHECK(*parse_signal("9") == SIGKILL);
}

TEST_CASE("signals outside the allow-list are refused") {
  for (std::string refused_signal :
       {"STOP"s, "SIGSTOP"s, "CONT"s, "SEGV"s, "ABRT"s, "TSTP"s, "0"s, "19"s,
        "11"s, "99"s, "SIG"s, "SIGSIGTERM"s})
    CHECK(code_of(parse_signal(refused_signal)) == Errc::helper_refused);
  for (std::string malformed :
       {""s, "TERM;"s, "TERM "s, " TERM"s, "-9"s, "+9"s, "09"s, "9x"s,
        "TE\0RM"s, "99999999999999999999999"s, "SIG-TERM"s,
        std::string(100, 'A')})
    CHECK(code_of(parse_signal(malformed)) == Errc::invalid_argument);
}

TEST_CASE("pid 1, the helper itself and the caller are refused") {
  CHECK(code_of(validate_pid(1)) == Errc::helper_refused);
  CHECK(code_of(validate_pid(::getpid())) == Errc::helper_refused);
  CHECK(code_of(validate_pid(4242, pid_t{4242})) == Errc::helper_refused);
  CHECK(*validate_pid(4242) == 4242);
}

TEST_CASE("pids outside the kernel's range are malformed") {
  CHECK(code_of(validate_pid(0)) == Errc::invalid_argument);
  CHECK(code_of(validate_pid(-1)) == Errc::invalid_argument);
  CHECK(code_of(validate_pid(-4242)) == Errc::invalid_argument);
  CHECK(code_of(validate_pid(1LL << 40)) == Errc::invalid_argument);
  CHECK(code_of(validate_pid(4194305)) == Errc::invalid_argument);
}

TEST_CASE("a guest MAC must be locally administered unicast") {
  auto mac = parse_mac("02:FC:0a:00:00:02");
  REQUIRE(mac);
  CHECK(mac->to_string() == "02:fc:0a:00:00:02");
  CHECK(code_of(parse_mac("00:11:22:33:44:55")) == Errc::helper_refused);
  CHECK(code_of(parse_mac("03:00:00:00:00:01")) == Errc::helper_refused);
  CHECK(code_of(parse_mac("ff:ff:ff:ff:ff:ff")) == Errc::helper_refused);
  for (std::string bad :
       {""s, "02:fc:0a:00:00"s, "02:fc:0a:00:00:02:03"s, "02-fc-0a-00-00-02"s,
        "02:fc:0a:00:00:0g"s, "02:fc:0a:00:00:2"s, "02:fc:0a:00:00:02\0"s,
        "02:fc:0a:00:00:02;"s})
    CHECK(code_of(parse_mac(bad)) == Errc::invalid_argument);
}

TEST_CASE("a subnet is a.b.c.d/n with the gateway as its first host") {
  auto subnet = parse_ipv4_subnet("172.30.0.0/24");
  REQUIRE(subnet);
  CHECK(subnet->to_string() == "172.30.0.0/24");
  CHECK(subnet->gateway_string() == "172.30.0.1");
  CHECK(subnet->contains(0xac1e00feu));
  CHECK_FALSE(subnet->contains(0xac1e0100u));
  CHECK(parse_ipv4_subnet("10.0.0.0/8"));
  CHECK(parse_ipv4_subnet("198.18.4.0/30"));
}

TEST_CASE("malformed or reserved subnets are rejected") {
  CHECK(code_of(parse_ipv4_subnet("172.30.0.1/24")) == Errc::invalid_argument);
  CHECK(code_of(parse_ipv4_subnet("127.0.0.0/8")) == Errc::helper_refused);
  CHECK(code_of(parse_ipv4_subnet("0.0.0.0/8")) == Errc::helper_refused);
  CHECK(code_of(parse_ipv4_subnet("224.0.0.0/8")) == Errc::helper_refused);
  for (std::string bad :
       {""s, "172.30.0.0"s, "172.30.0.0/"s, "172.30.0.0/31"s, "172.30.0.0/7"s,
        "172.30.0/24"s, "172.30.0.0.0/24"s, "172.030.0.0/24"s,
        "172.300.0.0/24"s, "172.30.0.0/024"s, "172.30.0.0/24;"s,
        " 172.30.0.0/24"s, "172.30.0.0/2\0"s, "a.b.c.d/24"s})
    CHECK(code_of(parse_ipv4_subnet(bad)) == Errc::invalid_argument);
}

TEST_CASE("text with NUL or control characters or out of bounds is refused") {
  CHECK(validate_text("field", "plain text", 1, 64));
  CHECK(code_of(validate_text("field", "a\0b"s, 1, 64)) ==
        Errc::invalid_argument);
  CHECK(code_of(validate_text("field", "a\nb", 1, 64)) ==
        Errc::invalid_argument);
  CHECK(code_of(validate_text("field", "a\x1b[2Jb", 1, 64)) ==
        Errc::invalid_argument);
  CHECK(code_of(validate_text("field", "a\x7f", 1, 64)) ==
        Errc::invalid_argument);
  CHECK(code_of(validate_text("field", "", 1, 64)) == Errc::invalid_argument);
  CHECK(code_of(validate_text("field", std::string(65, 'a'), 1, 64)) ==
        Errc::invalid_argument);
}

TEST_CASE("error messages escape hostile input") {
  auto st = validate_vm_id("evil\n{\"level\":\"forged\"}\x1b");
  REQUIRE_FALSE(st);
  CHECK(st.error().message.find('\n') == std::string::npos);
  CHECK(st.error().message.find('\x1b') == std::string::npos);
  auto long_input = validate_vm_id(std::string(100000, 'x'));
  REQUIRE_FALSE(long_input);
  CHECK(long_input.error().message.size() < 300);
}

TEST_CASE("a peer route needs a guest subnet apart from this host's and a unicast gateway outside both") {
  auto own = *parse_ipv4_subnet("172.31.1.0/24");
  auto uut = validate_peer_route(own, "172.31.3.0/24", "10.77.0.3");
  REQUIRE(uut);
  CHECK(uut->subnet.to_string() == "172.31.3.0/24");
  CHECK(ipv4_to_string(uut->gateway) == "10.77.0.3");
  // Malformed subnet or gateway.
  for (auto [subnet, gateway] : {std::pair{"172.31.3.0/33"s, "10.77.0.3"s},
                                 {"172.31.3.1/24"s, "10.77.0.3"s},
                                 {"not a subnet"s, "10.77.0.3"s},
                                 {"172.31.3.0/24"s, ""s},
                                 {"172.31.3.0/24"s, "10.77.0"s},
                                 {"172.31.3.0/24"s, "10.77.0.3.4"s},
                                 {"172.31.3.0/24"s, "10.77.0.256"s},
                                 {"172.31.3.0/24"s, "010.77.0.3"s},
                                 {"172.31.3.0/24"s, "10.77.0.3 "s},
                                 {"172.31.3.0/24"s, "10.77.0.3\n"s},
                                 {"172.31.3.0/24"s, "10.77.0.3;reboot"s}}) {
    CAPTURE(subnet);
    CAPTURE(gateway);
    CHECK(code_of(validate_peer_route(own, subnet, gateway)) == Errc::invalid_argument);
  }
  // Well-formed, outside what a peer route may be.
  for (auto [subnet, gateway] : {std::pair{"172.31.1.0/24"s, "10.77.0.3"s},  // this host's own
                                 {"172.31.0.0/16"s, "10.77.0.3"s},          // holds this host's
                                 {"172.31.1.128/25"s, "10.77.0.3"s},        // inside this host's
                                 {"127.0.0.0/8"s, "10.77.0.3"s},
                                 {"172.31.3.0/24"s, "0.0.0.0"s},
                                 {"172.31.3.0/24"s, "127.0.0.1"s},
                                 {"172.31.3.0/24"s, "169.254.0.1"s},
                                 {"172.31.3.0/24"s, "224.0.0.1"s},
                                 {"172.31.3.0/24"s, "255.255.255.255"s},
                                 {"172.31.3.0/24"s, "172.31.3.1"s},          // in the routed subnet
                                 {"172.31.3.0/24"s, "172.31.1.1"s}}) {      // this host's bridge
    CAPTURE(subnet);
    CAPTURE(gateway);
    CHECK(code_of(validate_peer_route(own, subnet, gateway)) == Errc::helper_refused);
  }
}
