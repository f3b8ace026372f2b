// What the CLI says and checks about guests: `banger init` prints the guest
// network (NAT, DNS), and `vm create --disk` takes a size with a unit,
// refusing anything else before the daemon is contacted.
#include "tests/cli/cli_run.hpp"
#include "tests/support/process.hpp"
#include "tools/cli/args.hpp"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

using namespace banger;
using namespace banger::cli;
using banger::test::run_banger;

TEST_CASE("banger init says guests get NAT and which DNS servers") {
  test::TempDir home;
  auto init = run_banger({"init", "--home", home.path(), "--set", "network.dns=192.0.2.53"});
  REQUIRE_MESSAGE(init.exit_code == 0, init.err);
  CHECK(init.out.find("guest network: bridge banger0, subnet 172.30.0.0/24 (gateway 172.30.0.1)")
        != std::string::npos);
  CHECK(init.out.find("NAT: on") != std::string::npos);
  CHECK(init.out.find("DNS: 192.0.2.53 (network.dns)") != std::string::npos);

  // Turned off, it says so and how to turn it back on; JSON has the same.
  auto off = run_banger({"-o", "json", "init", "--home", home.path(), "--set",
                         "network.nat=false", "--set", "network.dns=none"});
  REQUIRE_MESSAGE(off.exit_code == 0, off.err);
  auto json = nlohmann::json::parse(off.out);
  CHECK(json["guest_network"]["nat"] == false);
  CHECK(json["guest_network"]["dns"] == nlohmann::json::array());
  CHECK(json["guest_network"]["bridge"] == "banger0");
  auto text = run_banger({"init", "--home", home.path()});
  REQUIRE(text.exit_code == 0);
  CHECK(text.out.find("NAT: off; guests reach only the host (network.nat=true turns it on)")
        != std::string::npos);
  CHECK(text.out.find("DNS: none (network.dns=none)") != std::string::npos);
}

TEST_CASE("a loopback DNS server is refused by init: a guest cannot reach it") {
  test::TempDir home;
  auto init = run_banger({"init", "--home", home.path(), "--set", "network.dns=127.0.0.53"});
  CHECK(init.exit_code != 0);
  CHECK(init.err.find("network.dns") != std::string::npos);
  CHECK(init.err.find("cannot reach") != std::string::npos);
}

TEST_CASE("vm create --disk takes a size with a unit and refuses others without a daemon") {
  auto ok = parse({"vm", "create", "--image", "debian", "--disk", "2G"}, nullptr);
  REQUIRE(ok.kind == ParseOutcome::Kind::run);
  CHECK(ok.invocation.value("--disk") == "2G");
  for (const auto& [size, needle] : std::vector<std::pair<std::string, std::string>>{
         {"2048", "has no unit"}, {"2.5G", "is not a size"}, {"16M", "out of range"},
         {"3T", "out of range"}, {"big", "is not a size"}}) {
    CAPTURE(size);
    auto refused = parse({"vm", "create", "--image", "debian", "--disk", size}, nullptr);
    CHECK(refused.kind == ParseOutcome::Kind::usage_error);
    CHECK(refused.text.find("--disk") != std::string::npos);
    CHECK(refused.text.find(needle) != std::string::npos);
  }
  // The real binary: exit 2, and no daemon needed (the home has none).
  test::TempDir home;
  auto r = run_banger({"--home", home.path(), "vm", "create", "--image", "x", "--disk", "1"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("--disk") != std::string::npos);
}
