// A tap is banger's only if this installation made it: the name pattern is
// host-wide, and anyone with CAP_NET_ADMIN can create tap-fc-<hex>. Taps
// without this installation's alias, with another installation's, or on
// another bridge are refused by every operation and are not reported as
// ours, and stay exactly as they were.
#include "privileged/host/tap.hpp"
#include "privileged/host/tap_reaper.hpp"
#include "tests/security/fixtures.hpp"
#include "tests/support/result.hpp"

#include <doctest/doctest.h>

using namespace banger;
using banger::test::code_of;
using namespace banger::host;
namespace fs = std::filesystem;

namespace {

struct Bridge {
  std::string name = "bgt" + host_test::random_hex(8);
  Bridge() {
    auto octet = std::to_string(std::stoul(host_test::random_hex(2), nullptr, 16));
    REQUIRE(ensure_bridge(name, *parse_ipv4_subnet("198.19." + octet + ".0/24")));
  }
  ~Bridge() { (void)delete_bridge(name); }
};

struct Tap {
  std::string vm = host_test::random_vm_id();
  std::string name = tap_name(vm);
  ~Tap() { host_test::remove_tap_device(name); }
};

std::string master_of(const std::string& device) {
  std::error_code ec;
  auto target = fs::read_symlink("/sys/class/net/" + device + "/master", ec);
  return ec ? "" : target.filename().string();
}

std::string alias_of(const std::string& device) {
  auto text = host_test::read_file("/sys/class/net/" + device + "/ifalias");
  while (!text.empty() && text.back() == '\n')
    text.pop_back();
  return text;
}

/// Everything the helper may do to a tap, from the point of view of `ours`;
/// each must refuse `tap` and leave it where it was.
void check_refused_everywhere(const Tap& tap, const TapScope& ours) {
  auto master = master_of(tap.name);
  auto alias = alias_of(tap.name);
  CHECK(code_of(check_tap(tap.name, ours)) == Errc::helper_refused);
  CHECK(code_of(check_tap(tap.name, ours, tap.vm)) == Errc::helper_refused);
  CHECK(code_of(delete_tap(tap.name, ours)) == Errc::helper_refused);
  CHECK(code_of(delete_taps({tap.name}, ours).front()) == Errc::helper_refused);
  CHECK(code_of(create_tap(tap.vm, tap.name, ours, Ownership{0, 0})) == Errc::helper_refused);
  {
    TapReaper reaper;
    CHECK(code_of(reaper.schedule(tap.name, ours)) == Errc::helper_refused);
  }
  auto listed = list_taps(ours);
  REQUIRE(listed);
  auto it = std::find_if(listed->begin(), listed->end(),
                         [&](const TapInfo& info) { return info.name == tap.name; });
  REQUIRE(it != listed->end());
  CHECK_FALSE(it->ours);
  CHECK(host_test::link_exists(tap.name));
  CHECK(master_of(tap.name) == master);
  CHECK(alias_of(tap.name) == alias);
}

} // namespace

TEST_CASE("a tap made by someone else with a banger name is refused by every tap operation") {
  BANGER_REQUIRE_ROOT();
  Bridge bridge;
  TapScope ours{bridge.name, host_test::test_installation};
  Tap stranger;
  REQUIRE(host_test::make_tap_device(stranger.name));
  SUBCASE("on no bridge") { check_refused_everywhere(stranger, ours); }
  SUBCASE("on this installation's bridge") {
    // Enslaved by an operator; still no alias of ours.
    Tap mine;
    REQUIRE(create_tap(mine.vm, mine.name, ours, Ownership{0, 0}));
    REQUIRE(delete_tap(mine.name, ours));
    check_refused_everywhere(stranger, ours);
  }
}

TEST_CASE("another installation's tap is refused, on its bridge or on ours") {
  BANGER_REQUIRE_ROOT();
  Bridge bridge;
  TapScope ours{bridge.name, host_test::test_installation};
  Tap theirs;
  SUBCASE("on its own bridge") {
    Bridge other;
    REQUIRE(create_tap(theirs.vm, theirs.name, TapScope{other.name, "0123456789abcdef"},
                       Ownership{0, 0}));
    check_refused_everywhere(theirs, ours);
    CHECK(master_of(theirs.name) == other.name);
  }
  SUBCASE("on our bridge") {
    REQUIRE(create_tap(theirs.vm, theirs.name, TapScope{bridge.name, "0123456789abcdef"},
                       Ownership{0, 0}));
    check_refused_everywhere(theirs, ours);
  }
}

TEST_CASE("this installation's tap moved to another bridge is not taken back") {
  BANGER_REQUIRE_ROOT();
  Bridge bridge;
  Bridge other;
  TapScope ours{bridge.name, host_test::test_installation};
  Tap moved;
  // Our alias, but someone else's bridge now.
  REQUIRE(create_tap(moved.vm, moved.name, TapScope{other.name, ours.installation},
                     Ownership{0, 0}));
  check_refused_everywhere(moved, ours);
  CHECK(master_of(moved.name) == other.name);
}

TEST_CASE("a tap is ours only for the VM its alias names") {
  BANGER_REQUIRE_ROOT();
  Bridge bridge;
  TapScope ours{bridge.name, host_test::test_installation};
  Tap tap;
  REQUIRE(create_tap(tap.vm, tap.name, ours, Ownership{0, 0}));
  CHECK(alias_of(tap.name) == tap_alias(ours.installation, tap.vm));
  // Same tap name (the first 8 digits), another VM id.
  std::string lookalike = tap.vm.substr(0, 8) + host_test::random_hex(8);
  REQUIRE(lookalike != tap.vm);
  CHECK(code_of(check_tap(tap.name, ours, lookalike)) == Errc::helper_refused);
  CHECK(code_of(create_tap(lookalike, tap.name, ours, Ownership{0, 0})) == Errc::helper_refused);
  CHECK(check_tap(tap.name, ours, tap.vm));
  CHECK(delete_tap(tap.name, ours));
  CHECK_FALSE(host_test::link_exists(tap.name));
}

TEST_CASE("the installation id is stable for a home and differs between homes") {
  host_test::TestHome a, b;
  CHECK(installation_id(a.layout().home()) == installation_id(a.layout().home()));
  CHECK(installation_id(a.layout().home()) == installation_id(a.layout().home() / "."));
  CHECK(installation_id(a.layout().home()) != installation_id(b.layout().home()));
  CHECK(installation_id(a.layout().home()).size() == 16);
}
