// The helper's netlink sockets: one per thread, lent to each request in turn
// instead of a new socket per request. No root needed: reading links is
// allowed to anyone.
#include "privileged/host/netlink.hpp"

#include <doctest/doctest.h>

#include <thread>

using namespace banger::host;

TEST_CASE("netlink requests on one thread reuse that thread's socket") {
  nl_sock* first = nullptr;
  {
    auto lease = netlink::connect();
    REQUIRE(lease.ok());
    first = lease->get();
    auto lo = netlink::get_link(lease->get(), "lo");
    REQUIRE(lo.ok());
    CHECK(*lo);
  }
  auto again = netlink::connect();
  REQUIRE(again.ok());
  CHECK(again->get() == first);
  // A reused socket answers like a new one.
  auto lo = netlink::get_link(again->get(), "lo");
  REQUIRE(lo.ok());
  CHECK(*lo);
  CHECK(netlink::get_link(again->get(), "banger-none0")->get() == nullptr);
}

TEST_CASE("a lease taken while the thread's socket is lent out gets its own socket") {
  auto outer = netlink::connect();
  REQUIRE(outer.ok());
  auto inner = netlink::connect();
  REQUIRE(inner.ok());
  CHECK(inner->get() != outer->get());
  nl_sock* other = nullptr;
  std::thread([&] {
    auto lease = netlink::connect();
    REQUIRE(lease.ok());
    other = lease->get();
  }).join();
  CHECK(other != outer->get());
  CHECK(other != inner->get());
}
