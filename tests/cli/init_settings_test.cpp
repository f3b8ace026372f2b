// `banger init`'s settings: --set keys and values, the banger.conf it
// renders and merges, and --port.
#include "messages/config.hpp"
#include "messages/home_layout.hpp"
#include "tests/cli/init_support.hpp"
#include "tests/support/process.hpp"
#include "tools/cli/init.hpp"

#include <doctest/doctest.h>

using namespace banger;
using namespace banger::test;
namespace fs = std::filesystem;

TEST_CASE("an unknown --set key is refused and names the known keys") {
  test::TempDir tmp;
  fs::path home = fs::path(tmp.path()) / "home";
  auto report = init_home({.home = home, .sets = {"vmm.firecracker-binary=/x"}});
  REQUIRE_FALSE(report.ok());
  CHECK(report.error().code == Errc::invalid_argument);
  CHECK(report.error().message.find("unknown setting 'vmm.firecracker-binary'") !=
        std::string::npos);
  CHECK(report.error().message.find("vmm.firecracker-bin") != std::string::npos);
  CHECK_FALSE(fs::exists(home));
}

TEST_CASE("malformed values are refused") {
  Settings uut;
  CHECK_FALSE(apply_setting(uut, "daemon.port", "0").ok());
  CHECK_FALSE(apply_setting(uut, "daemon.port", "65536").ok());
  CHECK_FALSE(apply_setting(uut, "vmm.kind", "xen").ok());
  CHECK_FALSE(apply_setting(uut, "vmm.firecracker-bin", "firecracker").ok());
  CHECK_FALSE(apply_setting(uut, "vmm.stop-grace", "30").ok());
  CHECK_FALSE(apply_setting(uut, "vmm.stop-grace", "2d").ok());
  CHECK_FALSE(apply_setting(uut, "network.subnet", "172.30.0.1/24").ok());
  CHECK_FALSE(apply_setting(uut, "network.bridge", "a-very-long-bridge-name").ok());
  CHECK_FALSE(apply_setting(uut, "network.nat", "yes").ok());
  CHECK_FALSE(apply_setting(uut, "daemon.listen", "localhost").ok());
  CHECK_FALSE(apply_setting(uut, "network.bridge", "br\n0").ok());
  CHECK(apply_setting(uut, "vmm.stop-grace", "2min").ok());
  CHECK(uut.vmm_stop_grace == std::chrono::minutes(2));
  CHECK(apply_setting(uut, "vmm.jailer-bin", "").ok());
}

TEST_CASE("every key render_config writes can be read back and set") {
  Settings defaults;
  auto text = render_config(defaults);
  auto parsed = parse_config_text(text);
  REQUIRE_MESSAGE(parsed.ok(), why(parsed));
  CHECK(render_config(*parsed) == text);
  // Each section.key of the rendered file is a known key, and vice versa.
  std::vector<std::string> rendered;
  std::string section;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#' || line[0] == ';')
      continue;
    if (line[0] == '[')
      section = line.substr(1, line.size() - 2);
    else
      rendered.push_back(section + "." + line.substr(0, line.find('=')));
  }
  CHECK(rendered == setting_keys());
}

TEST_CASE("the written banger.conf parses with banger::Config and holds the options") {
  test::TempDir tmp;
  fs::path home = fs::path(tmp.path()) / "home";
  init_ok({.home = home,
           .vmm_kind = "qemu",
           .port = 17420,
           .sets = {"vmm.firecracker-bin=/opt/fc/fc-stub", "vmm.stop-grace=5s",
                    "network.nat=true", "network.bridge=bgtest0", "vmm.user=nobody"}});
  Config uut;
  auto st = uut.read(home.string(), {});
  REQUIRE_MESSAGE(st.ok(), why(st));
  CHECK(uut.settings.daemon_port == 17420);
  CHECK(uut.settings.helper_port == 17421);
  CHECK(uut.settings.vmm_kind == "qemu");
  CHECK(uut.settings.vmm_firecracker_bin == "/opt/fc/fc-stub");
  CHECK(uut.settings.vmm_stop_grace == std::chrono::seconds(5));
  CHECK(uut.settings.network_nat);
  CHECK(uut.settings.network_bridge == "bgtest0");
  CHECK(uut.settings.vmm_user == "nobody");
  CHECK(uut.settings.daemon_listen == "127.0.0.1");
}

TEST_CASE("explicit options on a re-run merge into the existing banger.conf") {
  test::TempDir tmp;
  fs::path home = fs::path(tmp.path()) / "home";
  init_ok({.home = home, .port = 17500, .sets = {"network.bridge=bgmerge0"}});
  auto key_before = slurp(home / "tls/ca.key");

  auto report = init_ok({.home = home, .vmm_kind = "qemu"});
  CHECK(report.find("banger.conf")->action == InitAction::updated);
  Config uut;
  REQUIRE(uut.read(home.string(), {}).ok());
  CHECK(uut.settings.vmm_kind == "qemu");
  CHECK(uut.settings.daemon_port == 17500);       // kept from the first run
  CHECK(uut.settings.network_bridge == "bgmerge0"); // kept from the first run
  CHECK(slurp(home / "tls/ca.key") == key_before);

  SUBCASE("without options a hand-edited banger.conf is left alone") {
    std::ofstream(home / "banger.conf", std::ios::app) << "# local note\n";
    auto edited = slurp(home / "banger.conf");
    auto again = init_ok({.home = home});
    CHECK(again.find("banger.conf")->action == InitAction::kept);
    CHECK(slurp(home / "banger.conf") == edited);
  }
}

TEST_CASE("--port N gives the helper N+1 and refuses a clash") {
  test::TempDir tmp;
  fs::path home = fs::path(tmp.path()) / "home";
  auto clash = init_home({.home = home, .port = 9000, .sets = {"helper.port=9000"}});
  REQUIRE_FALSE(clash.ok());
  CHECK(clash.error().message.find("both 9000") != std::string::npos);
}
