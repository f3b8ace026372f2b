// `banger init`: what it writes, with which modes, what a second run keeps,
// what --force replaces, and how it reads its command line. Settings are in
// init_settings_test.cpp, the PKI in init_tls_test.cpp.
#include "messages/home_layout.hpp"
#include "tests/cli/init_support.hpp"
#include "tests/support/process.hpp"
#include "tools/cli/init.hpp"

#include <doctest/doctest.h>

#include <grp.h>
#include <unistd.h>

using namespace banger;
using namespace banger::test;
namespace fs = std::filesystem;

TEST_CASE("init creates every directory and file with its narrow mode") {
  test::TempDir tmp;
  fs::path home = fs::path(tmp.path()) / "home";
  auto report = init_ok({.home = home});

  const std::pair<const char*, mode_t> expected[] = {
    {"", 0755},
    {"banger.conf", 0644},
    {"state", 0700},
    {"state/vms", 0700},
    {"state/ssh", 0700},
    {"state/helper.token", 0600},
    {"state/ssh/id_ed25519", 0600},
    {"state/ssh/id_ed25519.pub", 0644},
    {"run", 0750},
    {"run/vms", 0750},
    {"images", 0750},
    {"logs", 0750},
    {"tls", 0755},
    {"tls/ca.pem", 0644},
    {"tls/ca.key", 0400},
    {"tls/helper.pem", 0644},
    {"tls/helper.key", 0600},
    {"tls/daemon.pem", 0644},
    {"tls/daemon.key", 0600},
    {"tls/client.pem", 0644},
    {"tls/client.key", 0600},
  };
  for (auto [path, mode] : expected) {
    INFO("path: " << std::string(path));
    CHECK(mode_of(home / path) == mode);
  }
  for (auto* file : secret_files) {
    INFO("file: " << std::string(file));
    auto* entry = report.find(file);
    REQUIRE(entry);
    CHECK(entry->action == InitAction::created);
  }
  auto token = slurp(home / "state/helper.token");
  CHECK(token.size() == 64);
  CHECK(token.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(slurp(home / "state/ssh/id_ed25519.pub").rfind("ssh-ed25519 ", 0) == 0);
  CHECK(slurp(home / "state/ssh/id_ed25519").find("BEGIN OPENSSH PRIVATE KEY") !=
        std::string::npos);
  // No temporary file is left behind by the atomic writes.
  for (auto& entry : fs::recursive_directory_iterator(home))
    CHECK_MESSAGE(entry.path().filename().string().find(".tmp-") == std::string::npos,
                  entry.path());
}

TEST_CASE("client.key is group-readable by the daemon group when one is given") {
  test::TempDir tmp;
  fs::path home = fs::path(tmp.path()) / "home";
  auto gid = ::getegid();
  init_ok({.home = home, .daemon_group = std::to_string(gid)});
  struct stat st{};
  REQUIRE(::stat((home / "tls/client.key").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0640);
  CHECK(st.st_gid == gid);
  CHECK(mode_of(home / "tls/daemon.key") == 0600);

  SUBCASE("a later run without the group keeps that access") {
    init_ok({.home = home});
    CHECK(mode_of(home / "tls/client.key") == 0640);
  }
}

TEST_CASE("an unknown daemon group is refused before anything is written") {
  test::TempDir tmp;
  fs::path home = fs::path(tmp.path()) / "home";
  auto report = init_home({.home = home, .daemon_group = "no-such-group-banger-test"});
  REQUIRE_FALSE(report.ok());
  CHECK(report.error().code == Errc::invalid_argument);
  CHECK_FALSE(fs::exists(home));
}

TEST_CASE("a second init keeps every key, certificate and token byte-identical") {
  test::TempDir tmp;
  fs::path home = fs::path(tmp.path()) / "home";
  init_ok({.home = home});
  auto before = snapshot(home);
  auto conf_before = slurp(home / "banger.conf");

  auto report = init_ok({.home = home});
  CHECK(snapshot(home) == before);
  CHECK(slurp(home / "banger.conf") == conf_before);
  for (auto* file : secret_files) {
    INFO("file: " << std::string(file));
    auto* entry = report.find(file);
    REQUIRE(entry);
    CHECK(entry->action == InitAction::kept);
  }
  CHECK(report.find("banger.conf")->action == InitAction::kept);
  CHECK(report.render().find("kept      tls/ca.key") != std::string::npos);
}

TEST_CASE("--force replaces every key, certificate and token") {
  test::TempDir tmp;
  fs::path home = fs::path(tmp.path()) / "home";
  init_ok({.home = home});
  auto before = snapshot(home);

  auto report = init_ok({.home = home, .force = true});
  auto after = snapshot(home);
  for (auto* file : secret_files) {
    INFO("file: " << std::string(file));
    CHECK(after[file] != before[file]);
    REQUIRE(report.find(file));
    CHECK(report.find(file)->action == InitAction::replaced);
  }
  CHECK(mode_of(home / "tls/ca.key") == 0400);
  CHECK(mode_of(home / "tls/helper.key") == 0600);
}

TEST_CASE("parse_init_args reads the documented flags") {
  auto uut = parse_init_args({"--vmm", "qemu", "--port=7000", "--set", "vmm.accel=tcg",
                              "--set=network.nat=true", "--force", "--daemon-group", "banger"});
  REQUIRE_MESSAGE(uut.ok(), why(uut));
  CHECK(uut->vmm_kind == "qemu");
  CHECK(uut->port == 7000);
  CHECK(uut->sets == std::vector<std::string>{"vmm.accel=tcg", "network.nat=true"});
  CHECK(uut->force);
  CHECK(uut->daemon_group == "banger");
  CHECK_FALSE(parse_init_args({"--vmm", "xen"}).ok());
  CHECK_FALSE(parse_init_args({"--port", "65535"}).ok());
  CHECK_FALSE(parse_init_args({"--bogus"}).ok());
  CHECK_FALSE(parse_init_args({"--set"}).ok());
}
