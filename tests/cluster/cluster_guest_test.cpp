// vm ssh and vm cp from one cluster host to a real guest on another: two
// hosts in network namespaces (netns_cluster.hpp) with vmm.kind=qemu, an
// image built into h2's home (so with the cluster's SSH key), the guest
// reached from h1 over the route h1's helper made to h2's guest subnet.
// Root and QEMU; skipped otherwise.
#include "tests/cluster/netns.hpp"
#include "tests/cluster/netns_cluster.hpp"
#include "tests/support/skip.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <fstream>
#include <map>
#include <sstream>

using namespace banger;
using namespace banger::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

} // namespace

TEST_CASE("vm ssh and vm cp from h1 reach a real guest on h2") {
  if (auto why = NetnsCluster::unavailable())
    BANGER_SKIP(*why);
  if (::access(QEMU_BIN, X_OK) != 0)
    BANGER_SKIP(QEMU_BIN " is not installed");
  NetnsCluster cluster(NetnsClusterOptions{
    .hosts = 2,
    .mode = ClusterMode::cluster,
    .init_args = [](int) {
      return std::vector<std::string>{"--set", "vmm.kind=qemu", "--set", "vmm.qemu-bin=" QEMU_BIN,
                                      "--set", "vmm.boot-timeout=120s", "--set",
                                      "vmm.stop-grace=30s"};
    }});
  // Built outside the namespaces (apt-get download needs the machine's
  // network), registered inside h2 like any image.
  auto built = run_in({}, {IMAGE_BUILDER, "--home", cluster.home(2), "--name", "deb", "--vmm", "qemu"}, {},
                      300s);
  INFO("banger-image-build: " << built.err);
  REQUIRE(built.exit_code == 0);
  std::map<std::string, std::string> image;
  std::stringstream lines(built.out);
  for (std::string line; std::getline(lines, line);)
    if (auto eq = line.find('='); eq != std::string::npos)
      image[line.substr(0, eq)] = line.substr(eq + 1);
  auto added = cluster.cli(2, {"image", "add", "deb", "--kernel", image["kernel"], "--rootfs", image["rootfs"],
                               "--initrd", image["initrd"], "--boot-args", image["boot_args"], "--ssh"});
  REQUIRE_MESSAGE(added.exit_code == 0, added.err);

  // Entered at h1, placed on h2; it waits for the guest's SSH (the image has it).
  auto created = cluster.cli(1, {"-o", "json", "vm", "create", "--image", "deb", "--name", "g", "--host", "h2",
                                 "--memory", "256", "--start"},
                             240s);
  REQUIRE_MESSAGE(created.exit_code == 0, created.err);
  auto vm = json::parse(created.out);
  std::string guest_ip = vm["guest_ip"];
  CHECK(guest_ip.starts_with("172.31.2."));

  const std::vector<std::string> batch{"-o", "BatchMode=yes", "-o", "ConnectTimeout=10"};
  auto ssh_from = [&](int i, std::vector<std::string> command) {
    std::vector<std::string> args{"vm", "ssh", "g"};
    args.insert(args.end(), batch.begin(), batch.end());
    args.push_back("--");
    args.insert(args.end(), command.begin(), command.end());
    return cluster.cli(i, args, 60s);
  };
  auto remote = ssh_from(1, {"cat", "/proc/sys/kernel/random/boot_id"});
  REQUIRE_MESSAGE(remote.exit_code == 0, remote.err);
  auto local = ssh_from(2, {"cat", "/proc/sys/kernel/random/boot_id"});
  REQUIRE_MESSAGE(local.exit_code == 0, local.err);
  CHECK(!remote.out.empty());
  CHECK(remote.out == local.out); // one guest, reached from either host
  // h1 pins the guest's host key under the VM's id, h2 under its IP.
  CHECK(slurp(cluster.home(1) + "/state/known_hosts").find(vm["id"].get<std::string>())
        != std::string::npos);
  CHECK(slurp(cluster.home(2) + "/state/known_hosts").find(guest_ip) != std::string::npos);

  auto in = cluster.home(1) + "/to-guest.txt";
  std::ofstream(in) << "across hosts\n";
  auto put = cluster.cli(1, {"vm", "cp", in, "g:/root/from-h1.txt"}, 60s);
  REQUIRE_MESSAGE(put.exit_code == 0, put.err);
  auto out = cluster.home(2) + "/from-guest.txt";
  auto got = cluster.cli(2, {"vm", "cp", "g:/root/from-h1.txt", out}, 60s);
  REQUIRE_MESSAGE(got.exit_code == 0, got.err);
  CHECK(slurp(out) == "across hosts\n");

  CHECK(cluster.cli(1, {"vm", "rm", "g"}, 120s).exit_code == 0);
}
