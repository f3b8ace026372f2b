// The guest agent in a real guest (QEMU, TCG), all through the banger
// binary: an image built with the agent, a start that is ready at the
// agent's hello, `vm exec` (exit codes, streams, stdin), `vm cp` of a 10 MiB
// file both ways, and exec still working with the guest's network down,
// which SSH could not do, and the agent back after a suspend and restore.
// Root and QEMU; skipped otherwise.
#include "tests/cli/cli_run.hpp"
#include "tests/support/host_fixture.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

using namespace banger;
using namespace banger::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s)
    out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

} // namespace

TEST_CASE("a guest with the agent: ready at hello, exec and cp without SSH or network") {
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
  auto banger = [&](std::vector<std::string> args, std::chrono::milliseconds deadline = 180s) {
    args.insert(args.begin(), {"--home", host.home()});
    return run_banger(args, {}, deadline);
  };

  // `image build` puts the banger-guest-agent found next to banger in the
  // image.
  auto built = banger({"image", "build", "agt", "--vmm", "qemu"}, 300s);
  REQUIRE_MESSAGE(built.exit_code == 0, built.err);

  auto created = banger({"vm", "create", "--image", "agt", "--name", "a", "--start"});
  REQUIRE_MESSAGE(created.exit_code == 0, created.err);
  auto shown = json::parse(banger({"-o", "json", "vm", "show", "a"}).out);
  auto& runtime = shown;
  CHECK_FALSE(runtime["agent"].get<std::string>().empty());
  auto agent_us = runtime["boot"]["agent_ready_us"].get<std::int64_t>();
  auto ready_us = runtime["boot"]["guest_ready_us"].get<std::int64_t>();
  MESSAGE("guest ready after " << ready_us / 1000 << " ms, by the agent: " << (agent_us > 0));
  // The agent starts before the SSH server: it wins the readiness race.
  CHECK(agent_us > 0);
  CHECK(agent_us == ready_us);

  {
    INFO("exit codes and both streams");
    auto r = banger({"vm", "exec", "a", "--", "sh", "-c", "echo to-out; echo to-err >&2; exit 3"});
    CHECK(r.exit_code == 3);
    CHECK(r.out == "to-out\n");
    CHECK(r.err == "to-err\n");
    CHECK(banger({"vm", "exec", "a", "--", "true"}).exit_code == 0);
    r = banger({"vm", "exec", "a", "--", "cat", "/etc/hostname"});
    CHECK(r.out == "a\n");
  }
  {
    INFO("stdin is forwarded, and its end reaches the command");
    auto r = run({"sh", "-c",
                  "seq 1 1000 | " + quote(BANGER_BIN) + " --home " + quote(host.home())
                    + " vm exec a -- sh -c 'wc -l; echo done'"},
                 {}, 60s);
    CHECK(r.exit_code == 0);
    CHECK(r.out == "1000\ndone\n");
  }
  {
    INFO("a 10 MiB file both ways, byte for byte");
    TempDir dir{"banger-agent-e2e"};
    std::string data(10 * 1024 * 1024, '\0');
    std::mt19937 rng(7);
    for (auto& c : data)
      c = static_cast<char>(rng());
    auto local = dir.path() + "/blob";
    std::ofstream(local, std::ios::binary) << data;
    auto in = banger({"vm", "cp", local, "a:/root/blob"});
    REQUIRE_MESSAGE(in.exit_code == 0, in.err);
    auto sum = banger({"vm", "exec", "a", "--", "sh", "-c", "wc -c < /root/blob"});
    CHECK(sum.out == std::to_string(data.size()) + "\n");
    auto back = dir.path() + "/back";
    auto out = banger({"vm", "cp", "a:/root/blob", back});
    REQUIRE_MESSAGE(out.exit_code == 0, out.err);
    CHECK(slurp(back) == data);
  }
  {
    INFO("after a suspend and a restore the agent is back: the same guest, a new VMM");
    REQUIRE(banger({"vm", "suspend", "a"}).exit_code == 0);
    auto restored = banger({"vm", "start", "a"});
    REQUIRE_MESSAGE(restored.exit_code == 0, restored.err);
    auto r = banger({"vm", "exec", "a", "--", "sh", "-c", "echo back; exit 4"});
    CHECK_MESSAGE(r.exit_code == 4, r.err);
    CHECK(r.out == "back\n");
  }
  {
    INFO("exec needs no guest network");
    auto down = banger({"vm", "exec", "a", "--", "ip", "link", "set", "eth0", "down"});
    CHECK_MESSAGE(down.exit_code == 0, down.err);
    auto r = banger({"vm", "exec", "a", "--", "sh", "-c", "cat /sys/class/net/eth0/operstate"});
    CHECK(r.exit_code == 0);
    CHECK(r.out == "down\n");
  }
  // A stop ends the agent's link with the VMM; the record forgets it.
  REQUIRE(banger({"vm", "kill", "--signal", "KILL", "a"}).exit_code == 0);
  auto stopped = json::parse(banger({"-o", "json", "vm", "show", "a"}).out);
  CHECK(stopped["agent"].get<std::string>().empty());
  CHECK(banger({"vm", "rm", "a"}).exit_code == 0);
}
