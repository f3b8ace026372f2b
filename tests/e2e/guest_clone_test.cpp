// Clones of a real guest (QEMU, TCG), all through the banger binary: an
// image with the guest agent, a source VM with a file and a running process
// of its own, a snapshot of it, and two clones of that snapshot running at
// once beside the source: each with its own hostname, address, MAC,
// machine-id and SSH host key (the one its SSH server now shows), the
// source's files and processes, and each reaching the other. One more
// clone is made of the running source itself. Root and QEMU; skipped
// otherwise.
#include "tests/cli/cli_run.hpp"
#include "tests/support/host_fixture.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <chrono>
#include <set>

using namespace banger;
using namespace banger::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

/// Its first line, without the newline.
std::string first_line(const std::string& text) {
  return text.substr(0, text.find('\n'));
}

} // namespace

TEST_CASE("two clones of one snapshot run beside their source with identities of their own") {
  if (!test::is_root())
    BANGER_SKIP("banger-helper needs root for the bridge and taps");
  if (::access(QEMU_BIN, X_OK) != 0)
    BANGER_SKIP(QEMU_BIN " is not installed");
  Host host(HostOptions{{"vmm.kind=qemu", "vmm.qemu-bin=" QEMU_BIN, "vmm.boot-timeout=120s",
                         "vmm.stop-grace=30s", "vmm.kill-grace=10s"},
                        {}});
  host.start_helper();
  host.start_daemon();
  host.wait_ready();
  auto banger = [&](std::vector<std::string> args, std::chrono::milliseconds deadline = 240s) {
    args.insert(args.begin(), {"--home", host.home()});
    return run_banger(args, {}, deadline);
  };
  auto exec = [&](const std::string& vm, const std::string& script) {
    auto r = banger({"vm", "exec", vm, "--", "sh", "-c", script});
    INFO(vm << ": " << script << ": " << r.err);
    CHECK(r.exit_code == 0);
    return r.out;
  };
  auto shown = [&](const std::string& vm) {
    return json::parse(banger({"-o", "json", "vm", "show", vm}).out);
  };

  auto built = banger({"image", "build", "cln", "--vmm", "qemu"}, 300s);
  REQUIRE_MESSAGE(built.exit_code == 0, built.err);
  auto created = banger({"vm", "create", "--image", "cln", "--name", "src", "--start"});
  REQUIRE_MESSAGE(created.exit_code == 0, created.err);
  auto boot_ms = shown("src")["boot"]["guest_ready_us"].get<std::int64_t>() / 1000;
  // State only the source's guest has: a file, and a process started there.
  exec("src", "echo from-src > /root/mark; setsid sleep 100000 </dev/null >/dev/null 2>&1 &");
  // Ready is the agent's hello, which comes before the SSH server: the
  // source's host key is there once SSH answers.
  auto ssh = banger({"vm", "ssh", "src", "--", "true"}, 120s);
  REQUIRE_MESSAGE(ssh.exit_code == 0, ssh.err);
  auto src_key = first_line(exec("src", "dropbearkey -y -f /etc/dropbear/dropbear_ed25519_host_key"
                                        " | grep ^ssh-"));
  REQUIRE(banger({"vm", "snapshot", "src", "warm"}).exit_code == 0);

  std::map<std::string, json> vms;
  std::set<std::string> ips, macs, machine_ids, keys{src_key};
  machine_ids.insert(exec("src", "cat /etc/machine-id 2>/dev/null || true"));
  for (const std::string name : {"c1", "c2"}) {
    auto began = std::chrono::steady_clock::now();
    auto r = banger({"vm", "clone", "src@warm", name});
    auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - began);
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    MESSAGE(name << ": ready " << took.count() << " ms after vm clone began (the source's cold "
                 << "boot to ready: " << boot_ms << " ms)");
    vms[name] = shown(name);
  }
  vms["src"] = shown("src");
  for (auto& [name, vm] : vms) {
    INFO(name);
    CHECK(vm["state"] == "running");
    auto ip = vm["guest_ip"].get<std::string>();
    auto mac = vm["mac"].get<std::string>();
    ips.insert(ip);
    macs.insert(mac);
    CHECK(exec(name, "hostname") == name + "\n");
    CHECK(exec(name, "ip -4 -o addr show dev eth0").find(" " + ip + "/") != std::string::npos);
    CHECK(exec(name, "cat /sys/class/net/eth0/address") == mac + "\n");
    // The source's guest, with its file and its process.
    CHECK(exec(name, "cat /root/mark") == "from-src\n");
    CHECK(exec(name, "for c in /proc/[0-9]*/cmdline; do tr '\\0' ' ' <$c; echo; done | "
                     "grep -q '^sleep 100000' && echo yes")
          == "yes\n");
    if (name != "src") {
      machine_ids.insert(exec(name, "cat /etc/machine-id"));
      keys.insert(first_line(exec(
        name, "dropbearkey -y -f /etc/dropbear/dropbear_ed25519_host_key | grep ^ssh-")));
    }
  }
  CHECK(ips.size() == 3);
  CHECK(macs.size() == 3);
  CHECK(machine_ids.size() == 3);
  CHECK(keys.size() == 3);

  {
    INFO("the clones reach each other and their source");
    auto c1 = vms["c1"]["guest_ip"].get<std::string>();
    auto c2 = vms["c2"]["guest_ip"].get<std::string>();
    auto src = vms["src"]["guest_ip"].get<std::string>();
    CHECK(exec("c1", "ping -c 1 -W 5 " + c2 + " >/dev/null && echo ok") == "ok\n");
    CHECK(exec("c2", "ping -c 1 -W 5 " + c1 + " >/dev/null && echo ok") == "ok\n");
    CHECK(exec("c2", "ping -c 1 -W 5 " + src + " >/dev/null && echo ok") == "ok\n");
  }
  {
    INFO("SSH to a clone meets its own new host key");
    auto r = banger({"vm", "ssh", "c2", "--", "hostname"}, 120s);
    CHECK_MESSAGE(r.exit_code == 0, r.err);
    CHECK(r.out == "c2\n");
    auto pinned = read_file(host.path("state/known_hosts"));
    auto c2_key = first_line(
      exec("c2", "dropbearkey -y -f /etc/dropbear/dropbear_ed25519_host_key | grep ^ssh-"));
    auto key_body = c2_key.substr(0, c2_key.rfind(' ')); // without the comment
    CHECK_MESSAGE(pinned.find(key_body) != std::string::npos, pinned);
  }
  {
    INFO("a clone of the running source itself; the source runs on");
    auto began = std::chrono::steady_clock::now();
    auto r = banger({"vm", "clone", "src", "c3"});
    auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - began);
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    MESSAGE("c3 (of the running source): ready " << took.count() << " ms after vm clone began");
    CHECK(exec("c3", "hostname") == "c3\n");
    CHECK(exec("c3", "cat /root/mark") == "from-src\n");
    CHECK(exec("src", "hostname") == "src\n");
    CHECK(shown("src")["state"] == "running");
  }
  // Where a clone's time goes (BENCHMARKS.md): its stages in the log.
  for (const auto& line : host.daemon_log())
    if (line.find("\"op\":\"vm.clone\"") != std::string::npos
        && line.find("\"msg\":\"stage\"") != std::string::npos) {
      auto j = json::parse(line, nullptr, false);
      if (j.is_object())
        MESSAGE(j.value("vm_name", "") << " " << j.value("stage", "") << " at "
                                       << j.value("elapsed_ms", 0.0) << " ms");
    }
  for (const std::string name : {"c1", "c2", "c3", "src"})
    CHECK(banger({"vm", "rm", name}).exit_code == 0);
}
