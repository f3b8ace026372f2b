// `banger image build --distro debian`: a Debian 12 guest made with
// debootstrap boots under QEMU (TCG), answers SSH with apt in it, takes its
// hostname and DNS from banger, and a second build reuses the cached root
// filesystem instead of running debootstrap again. Root only. The cache is
// the user's default one (like image_boot_test's), so only the first run
// ever pays for debootstrap.
#include "tests/cli/cli_run.hpp"
#include "tests/support/host_fixture.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <filesystem>

using namespace banger;
using namespace banger::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using nlohmann::json;

TEST_CASE("a debian image boots with apt, the VM's hostname and DNS, and rebuilds from its cache") {
  if (!test::is_root())
    BANGER_SKIP("debootstrap, the bridge and the taps need root");
  if (::access(QEMU_BIN, X_OK) != 0)
    BANGER_SKIP(QEMU_BIN " is not installed");
  if (::access("/usr/sbin/debootstrap", X_OK) != 0)
    BANGER_SKIP("debootstrap is not installed (tools/install-deps.sh)");
  // A fixed resolver, so what the guest's resolv.conf must say does not
  // depend on this host's.
  Host host(HostOptions{{"vmm.kind=qemu", "vmm.qemu-bin=" QEMU_BIN, "vmm.boot-timeout=180s",
                         "vmm.stop-grace=30s", "vmm.kill-grace=10s", "network.dns=192.0.2.53"},
                        {}});
  host.start_helper();
  host.start_daemon();
  host.wait_ready();
  auto banger = [&](std::vector<std::string> args, std::chrono::milliseconds deadline = 240s) {
    args.insert(args.begin(), {"--home", host.home()});
    return run_banger(args, {}, deadline);
  };
  auto ssh = [&](const std::string& command) {
    return banger({"vm", "ssh", "deb1", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "--",
                   command});
  };
  const std::vector<std::string> build{"image", "build", "deb12", "--distro", "debian",
                                       "--vmm", "qemu"};

  // A cold cache runs debootstrap (minutes); a warm one unpacks a tarball.
  auto first = banger(build, 900s);
  REQUIRE_MESSAGE(first.exit_code == 0, first.err);
  MESSAGE("first build: " << first.elapsed.count() << " ms");
  auto image = json::parse(banger({"-o", "json", "image", "show", "deb12"}).out);
  CHECK(image["ssh"] == true);

  auto created = banger({"vm", "create", "--image", "deb12", "--name", "deb1", "--memory", "512",
                         "--start"});
  REQUIRE_MESSAGE(created.exit_code == 0, created.err);
  MESSAGE("create --start to SSH ready: " << created.elapsed.count() << " ms");

  auto apt = ssh("apt-get --version");
  CHECK_MESSAGE(apt.exit_code == 0, apt.err);
  CHECK_MESSAGE(apt.out.starts_with("apt "), apt.out);
  CHECK(ssh("cat /etc/hostname").out == "deb1\n");
  CHECK(ssh("cat /etc/resolv.conf").out == "nameserver 192.0.2.53\n");
  // Host keys are made at first boot, not shipped in the image.
  CHECK(ssh("ls /etc/ssh/ssh_host_*_key").out == "/etc/ssh/ssh_host_ed25519_key\n");
  // The CLI installs the agent built beside it; the guest keeps it running.
  bool agent =
    ::access((fs::path(BANGER_BIN).parent_path() / "banger-guest-agent").c_str(), X_OK) == 0;
  if (agent) {
    CHECK(ssh("test -x /usr/sbin/banger-guest-agent").exit_code == 0);
    // A clone of the running VM: sshd serves the clone's own new host key.
    auto key_of = [](const std::string& pub) { return pub.substr(0, pub.rfind(' ')); };
    auto deb1_key = key_of(ssh("cat /etc/ssh/ssh_host_ed25519_key.pub").out);
    auto cloned = banger({"vm", "clone", "deb1", "deb2"});
    REQUIRE_MESSAGE(cloned.exit_code == 0, cloned.err);
    MESSAGE("vm clone of the running VM to ready: " << cloned.elapsed.count() << " ms");
    auto on_clone = banger({"vm", "ssh", "deb2", "-o", "BatchMode=yes", "--",
                            "hostname; cat /etc/ssh/ssh_host_ed25519_key.pub"});
    REQUIRE_MESSAGE(on_clone.exit_code == 0, on_clone.err);
    CHECK(on_clone.out.starts_with("deb2\n"));
    auto deb2_key = key_of(on_clone.out.substr(on_clone.out.find('\n') + 1));
    CHECK(deb2_key != deb1_key);
    // What SSH met (and pinned) is the clone's new key.
    CHECK(read_file(host.path("state/known_hosts")).find(deb2_key) != std::string::npos);
    REQUIRE(banger({"vm", "rm", "deb2"}).exit_code == 0);
  }

  REQUIRE(banger({"vm", "rm", "deb1"}).exit_code == 0);
  auto second = [&] {
    auto args = build;
    args.push_back("--force");
    return banger(args, 300s);
  }();
  REQUIRE_MESSAGE(second.exit_code == 0, second.err);
  CHECK_MESSAGE(second.err.find("using the cached root filesystem") != std::string::npos,
                second.err);
  CHECK(second.err.find("debootstrap") == std::string::npos);
  MESSAGE("second build: " << second.elapsed.count() << " ms");
}
