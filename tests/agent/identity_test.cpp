// The identity step's checks and the files it writes, under a temp prefix
// (no device given, so no ip(8) runs and nothing of this machine changes).
#include "tools/guest-agent/identity.hpp"
#include "tests/support/process.hpp"

#include <doctest/doctest.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>

using namespace banger;
using banger::guest::apply_identity;
using banger::guest::check_identity;

namespace {

std::string read_all(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

agent::Identity valid() {
  agent::Identity x;
  x.hostname = "web-1";
  x.mac = "52:54:00:12:34:56";
  x.device = "eth0";
  x.address = "172.16.0.7/24";
  x.gateway = "172.16.0.1";
  x.dns = {"172.16.0.1", "2620:fe::fe"};
  return x;
}

} // namespace

TEST_CASE("a well-formed identity passes the checks") {
  CHECK_FALSE(check_identity(valid()).has_value());
  CHECK_FALSE(check_identity(agent::Identity{}).has_value());
}

TEST_CASE("identity fields that could not be a hostname, MAC, interface or address are refused") {
  auto refused = [](auto change) {
    auto x = valid();
    change(x);
    auto failure = check_identity(x);
    return failure.has_value() && failure->code == EINVAL;
  };
  CHECK(refused([](auto& x) { x.hostname = "a b"; }));
  CHECK(refused([](auto& x) { x.hostname = "-leading"; }));
  CHECK(refused([](auto& x) { x.hostname = std::string(65, 'h'); }));
  CHECK(refused([](auto& x) { x.mac = "52:54:00:12:34"; }));
  CHECK(refused([](auto& x) { x.mac = "52:54:00:12:34:zz"; }));
  CHECK(refused([](auto& x) { x.device = "eth0; reboot"; }));
  CHECK(refused([](auto& x) { x.device = "-h"; }));
  CHECK(refused([](auto& x) { x.device = std::string(16, 'e'); }));
  CHECK(refused([](auto& x) { x.address = "172.16.0.7"; }));
  CHECK(refused([](auto& x) { x.address = "172.16.0.256/24"; }));
  CHECK(refused([](auto& x) { x.address = "172.16.0.7/999"; }));
  CHECK(refused([](auto& x) { x.gateway = "gateway"; }));
  CHECK(refused([](auto& x) { x.dns = {"1.1.1.1", "nameserver 6.6.6.6"}; }));
  CHECK(refused([](auto& x) { x.dns = {"1.1.1.1\nsearch evil"}; }));
  CHECK(refused([](auto& x) { x.device.clear(); }));
  CHECK(refused([](auto& x) { x.flags = 4; }));
}

TEST_CASE("the identity writes hostname, hosts, resolv.conf and a new machine-id") {
  test::TempDir root("banger-identity");
  std::filesystem::create_directories(root.path() + "/etc");
  std::ofstream(root.path() + "/etc/machine-id") << "0123456789abcdef0123456789abcdef\n";
  agent::Identity x;
  x.hostname = "clone-2";
  x.dns = {"10.0.0.1", "10.0.0.2"};
  x.flags = agent::identity_new_machine_id;
  auto failure = apply_identity(x, guest::IdentityRoot{root.path()});
  REQUIRE_MESSAGE(!failure, (failure ? failure->message : ""));
  CHECK(read_all(root.path() + "/etc/hostname") == "clone-2\n");
  CHECK(read_all(root.path() + "/etc/hosts") == "127.0.0.1\tlocalhost\n127.0.1.1\tclone-2\n");
  auto resolv = read_all(root.path() + "/etc/resolv.conf");
  CHECK(resolv.find("nameserver 10.0.0.1\nnameserver 10.0.0.2\n") != std::string::npos);
  auto id = read_all(root.path() + "/etc/machine-id");
  CHECK(id.size() == 33);
  CHECK(id.find_first_not_of("0123456789abcdef") == 32);
  CHECK(id != "0123456789abcdef0123456789abcdef\n");
}

TEST_CASE("new host keys remove the image's keys") {
  test::TempDir root("banger-identity");
  std::filesystem::create_directories(root.path() + "/etc/dropbear");
  std::ofstream(root.path() + "/etc/dropbear/dropbear_ed25519_host_key") << "old";
  std::ofstream(root.path() + "/etc/dropbear/other") << "kept";
  agent::Identity x;
  x.flags = agent::identity_new_host_keys;
  auto failure = apply_identity(x, guest::IdentityRoot{root.path()});
  // dropbearkey may be missing here; the old key must be gone either way,
  // and any key now present is a new one.
  REQUIRE_MESSAGE(!failure, (failure ? failure->message : ""));
  CHECK(read_all(root.path() + "/etc/dropbear/dropbear_ed25519_host_key") != "old");
  CHECK(read_all(root.path() + "/etc/dropbear/other") == "kept");
}
