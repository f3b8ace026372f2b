// `vm rm` forgets the guest's host key: plain and hashed known_hosts lines
// naming the guest go, every other line stays byte for byte.
#include "actors/known_hosts.hpp"
#include "tests/support/process.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

using namespace banger;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

const std::string key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBaAIYtZobX8LzkoDSxdngM3czKzwSzmSvft2rzK4VKy";

} // namespace

TEST_CASE("plain pins of the guest are removed, others kept") {
  test::TempDir dir;
  auto file = dir.path() + "/known_hosts";
  std::ofstream(file) << "# comment\n"
                      << "10.0.0.2 " << key << "\n"
                      << "10.0.0.20 " << key << "\n"
                      << "[10.0.0.2]:2222 " << key << "\n"
                      << "other,10.0.0.2 " << key << "\n";
  REQUIRE(remove_host_key_pins(file, "10.0.0.2").ok());
  CHECK(slurp(file) == "# comment\n10.0.0.20 " + key + "\n");
}

TEST_CASE("hashed pins (ssh's HashKnownHosts, Debian's default) are removed too") {
  test::TempDir dir;
  auto file = dir.path() + "/known_hosts";
  std::ofstream(file) << "10.0.0.2 " << key << "\n10.0.0.3 " << key << "\n";
  // ssh-keygen hashes the names: an independent implementation of the format.
  auto hash = "ssh-keygen -H -f " + file + " >/dev/null 2>&1";
  if (std::system(hash.c_str()) != 0)
    BANGER_SKIP("ssh-keygen (openssh-client) is not installed");
  auto hashed = slurp(file);
  REQUIRE(hashed.find("|1|") == 0);
  REQUIRE(hashed.find("10.0.0") == std::string::npos);
  REQUIRE(remove_host_key_pins(file, "10.0.0.2").ok());
  auto left = slurp(file);
  // Exactly one line left, and it is 10.0.0.3's: ssh-keygen -F finds it.
  CHECK(std::count(left.begin(), left.end(), '\n') == 1);
  auto find3 = "ssh-keygen -F 10.0.0.3 -f " + file + " >/dev/null 2>&1";
  auto find2 = "ssh-keygen -F 10.0.0.2 -f " + file + " >/dev/null 2>&1";
  CHECK(std::system(find3.c_str()) == 0);
  CHECK(std::system(find2.c_str()) != 0);
}

TEST_CASE("a missing known_hosts file is not an error") {
  test::TempDir dir;
  CHECK(remove_host_key_pins(dir.path() + "/none", "10.0.0.2").ok());
}
