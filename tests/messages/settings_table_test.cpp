// The settings table (messages/settings_table.hpp): every key has a default
// its validator takes, the daemons' Config reads what the table accepts and
// refuses what it refuses with the same message, and docs/config.md lists
// exactly the table's keys.
#include "messages/config.hpp"
#include "messages/host_network.hpp"
#include "messages/settings_table.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

using namespace banger;

namespace {

constexpr std::string_view begin_marker = "<!-- settings table: begin -->\n";
constexpr std::string_view end_marker = "<!-- settings table: end -->";

std::string why(const Status& st) {
  return st.ok() ? std::string{} : st.error().message;
}

} // namespace

TEST_CASE("every key's default passes its own validator") {
  const Settings defaults;
  for (const auto& key : settings_table()) {
    CAPTURE(key.name());
    Settings uut;
    auto st = key.apply(uut, key.value(defaults));
    CHECK_MESSAGE(st.ok(), why(st));
    CHECK(key.value(uut) == key.value(defaults));
    CHECK(find_setting(key.name()) == &key);
  }
  CHECK(check_settings(defaults).ok());
}

TEST_CASE("a choice key refuses other values and names the accepted ones") {
  Settings uut;
  auto st = apply_setting(uut, "rootfs.strategy", "copy");
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().code == Errc::invalid_argument);
  CHECK(st.error().message ==
        "rootfs.strategy: 'copy' is not one of auto, reflink, dm-snapshot, sparse-copy");
  CHECK(apply_setting(uut, "rootfs.strategy", "sparse-copy").ok());
  CHECK(uut.rootfs_strategy == "sparse-copy");
}

TEST_CASE("the daemons' Config applies the table's validators to file and flags") {
  SUBCASE("a valid value in the file and a flag both land in Settings") {
    Config uut;
    auto st = uut.parse_text("[rootfs]\nstrategy=\"sparse-copy\"\n[vmm]\nstop-grace=2s\n",
                             "banger.conf", {"--network.bridge=br-flag"});
    REQUIRE_MESSAGE(st.ok(), why(st));
    CHECK(uut.settings.rootfs_strategy == "sparse-copy");
    CHECK(uut.settings.vmm_stop_grace == std::chrono::seconds(2));
    CHECK(uut.settings.network_bridge == "br-flag");
  }
  SUBCASE("a value init refuses, the daemons refuse with init's message") {
    for (auto [text, message] : std::vector<std::pair<std::string, std::string>>{
           {"[rootfs]\nstrategy=\"copy\"\n", "rootfs.strategy: 'copy' is not one of"},
           {"[network]\nbridge=\"Br_0\"\n", "network.bridge: bridge name"},
           {"[network]\nsubnet=\"10.0.0.0/4\"\n", "network.subnet: subnet"},
           {"[daemon]\nport=70000\n", "daemon.port: '70000' is not a port number"},
           {"[vmm]\nstop-grace=2d\n", ""},
           {"[helper]\nport=7420\n", "daemon.port and helper.port are both 7420"}}) {
      CAPTURE(text);
      Config uut;
      auto st = uut.parse_text(text, "banger.conf", {});
      REQUIRE_FALSE(st.ok());
      CHECK(st.error().message.find(message) != std::string::npos);
    }
  }
  SUBCASE("a duration finer than milliseconds is refused, not truncated") {
    Config uut;
    CHECK_FALSE(uut.parse_text("", "banger.conf", {"--vmm.kill-grace=1500us"}).ok());
  }
}

TEST_CASE("one subnet rule set: /8 to /30, a /30 holds one guest") {
  auto uut = parse_ipv4_subnet("198.18.4.0/30");
  REQUIRE(uut);
  CHECK(uut->guest_capacity() == 1);
  CHECK(uut->guest(0) == uut->gateway() + 1);
  CHECK(parse_ipv4_subnet("172.30.0.0/24")->guest_capacity() == 253);
  CHECK_FALSE(parse_ipv4_subnet("10.0.0.0/4"));
  CHECK_FALSE(parse_ipv4_subnet("172.30.0.0/31"));
  CHECK(parse_ipv4_subnet("127.0.0.0/8").error().code == Errc::helper_refused);
}

TEST_CASE("docs/config.md lists exactly the table's keys") {
  const auto path = std::filesystem::path(BANGER_SOURCE_DIR) / "docs" / "config.md";
  std::ifstream in(path);
  REQUIRE_MESSAGE(in, path << " is missing");
  std::stringstream buf;
  buf << in.rdbuf();
  auto text = buf.str();
  auto begin = text.find(begin_marker);
  auto end = text.find(end_marker);
  REQUIRE_MESSAGE((begin != std::string::npos && end != std::string::npos && begin < end),
                  path << " lacks the settings table markers");
  begin += begin_marker.size();
  auto expected = render_settings_doc();
  if (const char* update = std::getenv("BANGER_UPDATE_DOCS"); update && *update == '1') {
    text.replace(begin, end - begin, expected);
    std::ofstream(path) << text;
    return;
  }
  // On a mismatch: BANGER_UPDATE_DOCS=1 tests/messages_test -tc='docs/config.md*'
  CHECK(text.substr(begin, end - begin) == expected);
}
