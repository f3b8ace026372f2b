// What a new user needs from a guest, on one real guest (QEMU, TCG): its
// hostname is the VM's name, it has the DNS servers banger hands it, its
// traffic leaves the host masqueraded (NAT is on by default, from the
// first VM's start), busybox wget fetches over HTTP, scp and sftp work with
// plain OpenSSH, `vm create --disk 2G` gives a 2 GiB root file system, and
// `vm create -p` publishes a guest port on the host.
// The network checks only reach the host's bridge address and a network
// namespace this test makes: nothing outside the machine.
#include "messages/guest_dns.hpp"
#include "privileged/host/nat.hpp"
#include "tests/cli/cli_run.hpp"
#include "tests/e2e/guest_image.hpp"
#include "tests/e2e/http_probe.hpp"
#include "tests/support/host_fixture.hpp"

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

using namespace banger;
using namespace banger::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

/// What a TCP connection from the host to ip:port reads until closed; ""
/// when the connect fails (bounded: a dropped SYN is a failure, not a hang).
std::string tcp_read(const std::string& ip, int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return "";
  timeval limit{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<std::uint16_t>(port));
  ::inet_pton(AF_INET, ip.c_str(), &sa.sin_addr);
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0) {
    char buffer[256];
    for (ssize_t n; (n = ::read(fd, buffer, sizeof buffer)) > 0;)
      out.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

/// A network namespace joined to the host by a veth pair: host side .1,
/// namespace side .2 of a /30. Removed (with the pair) on destruction.
struct Namespace {
  std::string name, host_if, host_ip, ns_ip;
  bool ok = false;
  explicit Namespace(const std::string& suffix, int octet)
      : name("bgns" + suffix), host_if("bgv" + suffix),
        host_ip("10.251." + std::to_string(octet) + ".1"),
        ns_ip("10.251." + std::to_string(octet) + ".2") {
    std::string peer = "bgp" + suffix;
    ok = run({"ip", "netns", "add", name}).exit_code == 0
         && run({"ip", "link", "add", host_if, "type", "veth", "peer", "name", peer, "netns",
                 name}).exit_code == 0
         && run({"ip", "addr", "add", host_ip + "/30", "dev", host_if}).exit_code == 0
         && run({"ip", "link", "set", host_if, "up"}).exit_code == 0
         && run({"ip", "-n", name, "addr", "add", ns_ip + "/30", "dev", peer}).exit_code == 0
         && run({"ip", "-n", name, "link", "set", peer, "up"}).exit_code == 0;
  }
  ~Namespace() {
    run({"ip", "link", "del", host_if});
    run({"ip", "netns", "del", name});
  }
};

} // namespace

TEST_CASE("a guest is named after its VM, has DNS, a way out, scp/sftp, wget and its --disk size") {
  if (!test::is_root())
    BANGER_SKIP("banger-helper needs root for the bridge, taps and NAT");
  if (::access(QEMU_BIN, X_OK) != 0)
    BANGER_SKIP(QEMU_BIN " is not installed");
  for (const char* tool : {"/usr/bin/scp", "/usr/bin/sftp", "/usr/sbin/ip"})
    if (::access(tool, X_OK) != 0)
      BANGER_SKIP(std::string(tool) + " is not installed (openssh-client, iproute2)");
  Host host(HostOptions{{"vmm.kind=qemu", "vmm.qemu-bin=" QEMU_BIN, "vmm.boot-timeout=120s",
                         "vmm.stop-grace=30s", "vmm.kill-grace=10s"},
                        {}});
  host.start_helper();
  host.start_daemon();
  host.wait_ready();

  build_deb_image(host);
  const std::string name = "usable-guest";
  const int published = 20000 + ::getpid() % 20000;
  auto created = run_banger({"--home", host.home(), "vm", "create", "--image", "deb", "--name",
                             name, "--memory", "256", "--disk", "2G", "-p",
                             std::to_string(published) + ":8080", "--start", "--wait"},
                            {}, 200s);
  INFO("vm create: " << created.out << created.err);
  REQUIRE(created.exit_code == 0);
  // NAT is the default, in place once a VM runs.
  auto nat = host::nat_present(host.bridge());
  REQUIRE(nat.ok());
  CHECK_MESSAGE(*nat, "no nftables table " << host::nat_table_name(host.bridge())
                                           << " with a VM running");
  auto vm = host.ask<VmRecord>(VmShowRequest{{}, name});
  REQUIRE(vm.ok());
  const auto guest_ip = vm->runtime.guest_ip;
  const auto gateway = guest_ip.substr(0, guest_ip.rfind('.')) + ".1";
  auto ssh = [&](const std::string& command) {
    return run_banger({"--home", host.home(), "vm", "ssh", name, "-o", "BatchMode=yes", "-o",
                       "ConnectTimeout=10", "--", command},
                      {}, 90s);
  };

  // One guest for every check (doctest would boot again per SUBCASE).
  {
    auto hostname = ssh("hostname; cat /etc/hostname");
    INFO("ssh: " << hostname.err);
    REQUIRE(hostname.exit_code == 0);
    CHECK(hostname.out == name + "\n" + name + "\n");

    // network.dns=auto: the host's non-loopback resolvers, as this host has them.
    auto expected = guest_dns("auto");
    auto resolv = ssh("cat /etc/resolv.conf 2>/dev/null; true");
    std::string want;
    for (const auto& server : expected)
      want += "nameserver " + server + "\n";
    CHECK(resolv.out == want);

    // --disk 2G: the guest's root file system was grown to the disk at boot.
    auto df = ssh("df -k / | tail -n 1");
    std::istringstream fields(df.out);
    std::string device;
    long total_kib = 0;
    fields >> device >> total_kib;
    INFO("df: " << df.out << df.err);
    CHECK(total_kib > 1800L * 1024); // ext4 metadata takes ~5%
    CHECK(total_kib <= 2048L * 1024);

    // busybox wget from the host's bridge address.
    HttpProbe bridge_server(gateway, "served on the bridge\n");
    auto fetched = ssh("wget -q -O - " + bridge_server.url());
    INFO("wget: " << fetched.err);
    CHECK(fetched.exit_code == 0);
    CHECK(fetched.out == "served on the bridge\n");

    // Out through the host into a namespace: the source the far side sees
    // is the host's address on that link, not the guest's (masquerade).
    auto suffix = host.bridge().substr(3);
    Namespace ns(suffix, 16 + std::stoi(suffix.substr(0, 2), nullptr, 16) % 200);
    REQUIRE_MESSAGE(ns.ok, "cannot make the test's network namespace");
    HttpProbe far(ns.ns_ip, "beyond the host\n", ns.name);
    auto out = ssh("wget -q -O - " + far.url());
    INFO("wget through NAT: " << out.err);
    CHECK(out.exit_code == 0);
    CHECK(out.out == "beyond the host\n");
    CHECK(far.peers() == std::vector<std::string>{ns.host_ip});

    // -p: the guest's port 8080 answers on the host's port, from the host
    // (its bridge address: loopback is not published, docs/cli.md) and
    // from another machine (the namespace, through the host's address on
    // its link). busybox nc serves one connection at a time, so a loop.
    auto listening = ssh("(while true; do busybox nc -l -p 8080 -e /bin/busybox echo published; "
                         "done) </dev/null >/dev/null 2>&1 &");
    CHECK_MESSAGE(listening.exit_code == 0, listening.err);
    std::string answer;
    // Polled: the guest's listener comes up a moment after ssh returns.
    bool answered = eventually([&] { return (answer = tcp_read(gateway, published)) == "published\n"; },
                               30s, 100ms);
    CHECK_MESSAGE(answered, "from the host: '" << answer << "'");
    std::string outside;
    answered = eventually(
      [&] {
        outside = run({"ip", "netns", "exec", ns.name, "bash", "-c",
                       "exec 3<>/dev/tcp/" + ns.host_ip + "/" + std::to_string(published)
                         + " && cat <&3"},
                      {}, 10s)
                    .out;
        return outside == "published\n";
      },
      30s, 100ms);
    CHECK_MESSAGE(answered, "from the namespace: '" << outside << "'");
  }

  // scp (SFTP protocol, OpenSSH's default) and sftp with the VM's key and
  // the host key `vm ssh` pinned.
  {
    REQUIRE(ssh("true").exit_code == 0); // pins the host key
    TempDir local;
    auto up = fs::path(local.path()) / "up.txt";
    std::ofstream(up) << "from the host\n";
    std::vector<std::string> common{"-i", host.path("state/ssh/id_ed25519"), "-o",
                                    "UserKnownHostsFile=" + host.path("state/known_hosts"),
                                    "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes"};
    auto scp = std::vector<std::string>{"/usr/bin/scp"};
    scp.insert(scp.end(), common.begin(), common.end());
    auto put = scp;
    put.insert(put.end(), {up.string(), "root@" + guest_ip + ":/root/up.txt"});
    auto sent = run(put, {}, 60s);
    INFO("scp: " << sent.err);
    CHECK(sent.exit_code == 0);
    CHECK(ssh("cat /root/up.txt").out == "from the host\n");

    auto sftp = std::vector<std::string>{"/usr/bin/sftp"};
    sftp.insert(sftp.end(), common.begin(), common.end());
    auto batch = fs::path(local.path()) / "batch";
    auto down = fs::path(local.path()) / "down.txt";
    std::ofstream(batch) << "get /root/up.txt " << down.string() << "\n";
    sftp.insert(sftp.end(), {"-b", batch.string(), "root@" + guest_ip});
    auto got = run(sftp, {}, 60s);
    INFO("sftp: " << got.err);
    CHECK(got.exit_code == 0);
    CHECK(slurp(down) == "from the host\n");
  }
}
