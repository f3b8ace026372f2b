#include "actors/vm_ids.hpp"

#include "messages/home_layout.hpp"

#include <doctest/doctest.h>

#include <set>
#include <vector>

using namespace banger;

namespace {

/// Hands out the given ids in order.
std::function<std::string()> sequence(std::vector<std::string> ids) {
  auto next = std::make_shared<std::size_t>(0);
  return [ids = std::move(ids), next] { return ids.at((*next)++); };
}

} // namespace

TEST_CASE("a new VM id never shares its tap name with a VM of this installation") {
  std::map<std::string, int> records{{"0123456789abcdef", 1}};
  auto uut = mint_vm_id(sequence({"01234567ffffffff", "0123456700000000", "89abcdef01234567"}),
                        [&](const std::string& s) { return has_prefix(records, s); },
                        [](const std::string&) { return false; });
  CHECK(uut == "89abcdef01234567");
}

TEST_CASE("a new VM id never takes the name of a tap that exists on the host") {
  std::set<std::string> devices{"tap-fc-aaaaaaaa"};
  auto uut = mint_vm_id(sequence({"aaaaaaaa00000001", "bbbbbbbb00000002"}),
                        [](const std::string&) { return false; },
                        [&](const std::string& name) { return devices.count(name) > 0; });
  CHECK(uut == "bbbbbbbb00000002");
  CHECK(tap_name(uut) == "tap-fc-bbbbbbbb");
}

TEST_CASE("minting gives up with an empty id when every draw is taken") {
  int draws = 0;
  auto uut = mint_vm_id([&] { ++draws; return std::string("cccccccc00000000"); },
                        [](const std::string&) { return true; },
                        [](const std::string&) { return false; }, 8);
  CHECK(uut.empty());
  CHECK(draws == 8);
}

TEST_CASE("has_prefix finds an id by its first digits only") {
  std::map<std::string, int> ids{{"0123456789abcdef", 1}, {"fedcba9876543210", 2}};
  CHECK(has_prefix(ids, "01234567"));
  CHECK(has_prefix(ids, "fedcba98"));
  CHECK_FALSE(has_prefix(ids, "01234568"));
  CHECK_FALSE(has_prefix(ids, "00000000"));
}

TEST_CASE("a device that exists is seen and one that does not is not") {
  CHECK(device_exists("lo"));
  CHECK_FALSE(device_exists("tap-fc-zzzzzzzz"));
}
