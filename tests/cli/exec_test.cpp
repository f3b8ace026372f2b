// vm exec and vm cp through the guest agent, end to end without a guest
// kernel: the real banger binary, bangerd and banger-helper, fc-stub as the
// VMM and the real banger-guest-agent behind fc-stub's vsock socket
// (FC_STUB_GUEST_AGENT, docs/fc-stub.md). The agent runs on the host as the
// VMM's user, so the "guest" files are host files. The same agent in a real
// guest is tested by tests/e2e. Root only; skipped otherwise.
#include "tests/cli/cli_run.hpp"
#include "tests/support/host_fixture.hpp"
#include "tests/support/skip.hpp"

#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

using namespace banger;
using namespace banger::test;
using namespace std::chrono_literals;

namespace {

RunResult cli(Host& host, std::vector<std::string> args, std::chrono::milliseconds deadline = 30s) {
  args.insert(args.begin(), {"--home", host.home()});
  return run_banger(args, {}, deadline);
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s)
    out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

/// A VM whose "guest" runs the agent, running and with the agent connected.
void start_vm_with_agent(Host& host, const std::string& name) {
  host.start_helper();
  host.start_daemon();
  host.wait_ready();
  host.add_image("tiny");
  auto created = cli(host, {"vm", "create", "--image", "tiny", "--name", name, "--start"});
  REQUIRE_MESSAGE(created.exit_code == 0, created.err);
  // The agent says hello shortly after the VMM runs: vm show lists it.
  REQUIRE(eventually(
    [&] {
      auto shown = host.ask<VmRecord>(VmShowRequest{{}, name});
      return shown.ok() && !shown->runtime.agent.empty();
    },
    20s, 20ms));
}

} // namespace

TEST_CASE("vm exec streams output, forwards stdin and returns the command's exit status") {
  BANGER_REQUIRE_ROOT();
  Host host(HostOptions{{}, {std::string("FC_STUB_GUEST_AGENT=") + GUEST_AGENT_BIN}});
  start_vm_with_agent(host, "e1");

  auto shown = cli(host, {"vm", "show", "e1"});
  CHECK(shown.out.find("connected (banger-guest-agent") != std::string::npos);

  auto r = cli(host, {"vm", "exec", "e1", "--", "sh", "-c", "echo out; echo err >&2; exit 7"});
  CHECK(r.exit_code == 7);
  CHECK(r.out == "out\n");
  CHECK(r.err == "err\n");

  // Environment and working directory.
  r = cli(host, {"vm", "exec", "-e", "GREETING=hi there", "--workdir", "/tmp", "e1", "--", "sh",
                 "-c", "echo \"$GREETING\" $(pwd)"});
  CHECK(r.exit_code == 0);
  CHECK(r.out == "hi there /tmp\n");

  // stdin from a pipe reaches the command, and its end ends the command.
  auto piped = run({"sh", "-c",
                    "printf 'line one\\nline two\\n' | " + shell_quote(BANGER_BIN) + " --home "
                      + shell_quote(host.home()) + " vm exec e1 -- wc -l"},
                   {}, 30s);
  CHECK(piped.exit_code == 0);
  CHECK(piped.out == "2\n");

  // Large output arrives whole and in order (several windows' worth).
  r = cli(host, {"vm", "exec", "e1", "--", "sh", "-c", "seq 1 200000"});
  CHECK(r.exit_code == 0);
  std::string expected;
  for (int i = 1; i <= 200000; ++i)
    expected += std::to_string(i) + "\n";
  CHECK(r.out.size() == expected.size());
  CHECK(r.out == expected);

  // A command ended by a signal exits 128 + N, as in a shell.
  r = cli(host, {"vm", "exec", "e1", "--", "sh", "-c", "kill -9 $$"});
  CHECK(r.exit_code == 137);

  // A command that does not exist: banger's own error, with an op_id.
  r = cli(host, {"vm", "exec", "e1", "--", "/no/such/program"});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("/no/such/program") != std::string::npos);
  r = cli(host, {"-o", "json", "vm", "exec", "e1", "--", "/no/such/program"});
  CHECK(error_code(r) == "not_found");
  CHECK(r.out.find("\"op_id\": \"op-") != std::string::npos);

  // -t: the command runs on a terminal of the guest's, and ours (script(1)
  // gives the CLI one) is put back as it was.
  if (::access("/usr/bin/script", X_OK) == 0) {
    auto tty = run({"/usr/bin/script", "-qec",
                    shell_quote(BANGER_BIN) + " --home " + shell_quote(host.home())
                      + " vm exec -t e1 -- sh -c 'test -t 0 && test -t 1 && tty'",
                    "/dev/null"},
                   {}, 30s);
    CHECK(tty.exit_code == 0);
    CHECK_MESSAGE(tty.out.find("/dev/pts/") != std::string::npos, tty.out);
    // Without -t the same command has no terminal.
    auto plain = cli(host, {"vm", "exec", "e1", "--", "sh", "-c", "test -t 1"});
    CHECK(plain.exit_code == 1);
  } else {
    MESSAGE("script(1) is missing: vm exec -t is not checked");
  }

  // SIGTERM to banger reaches the command, which reports it. The signal is
  // sent once the command said it is ready (its trap is set).
  TempDir sig_dir{"banger-exec-sig"};
  auto out_file = sig_dir.path() + "/out";
  auto killed = run({"sh", "-c",
                     shell_quote(BANGER_BIN) + " --home " + shell_quote(host.home())
                       + " vm exec e1 -- sh -c 'trap \"echo got-term; exit 5\" TERM; echo ready;"
                         " while :; do sleep 0.1; done' >" + shell_quote(out_file) + " & pid=$!;"
                         " until grep -q ready " + shell_quote(out_file) + "; do sleep 0.05; done;"
                         " kill -TERM $pid; wait $pid"},
                    {}, 30s);
  CHECK(killed.exit_code == 5);
  CHECK(read_file(out_file) == "ready\ngot-term\n");

  // No command: a usage error before any contact.
  CHECK(cli(host, {"vm", "exec", "e1"}).exit_code == 2);

  // A stopped VM has no agent to talk to.
  REQUIRE(cli(host, {"vm", "stop", "e1"}).exit_code == 0);
  r = cli(host, {"-o", "json", "vm", "exec", "e1", "--", "true"});
  CHECK(r.exit_code == 1);
  CHECK(error_code(r) == "conflict");
}

TEST_CASE("vm cp copies a file both ways through the agent, whole and byte for byte") {
  BANGER_REQUIRE_ROOT();
  Host host(HostOptions{{}, {std::string("FC_STUB_GUEST_AGENT=") + GUEST_AGENT_BIN}});
  start_vm_with_agent(host, "c1");

  TempDir dir{"banger-cp"};
  // The agent runs as the VMM's user: its side of the copy must be writable
  // by it.
  std::filesystem::permissions(dir.path(), std::filesystem::perms::all);
  std::string data(10 * 1024 * 1024 + 12345, '\0');
  std::mt19937 rng(42);
  for (auto& c : data)
    c = static_cast<char>(rng());
  auto local = dir.path() + "/big.bin";
  std::ofstream(local, std::ios::binary) << data;

  auto guest_dir = dir.path() + "/guest";
  std::filesystem::create_directory(guest_dir);
  std::filesystem::permissions(guest_dir, std::filesystem::perms::all);
  auto in = cli(host, {"vm", "cp", local, "c1:" + guest_dir + "/"}, 60s);
  REQUIRE_MESSAGE(in.exit_code == 0, in.err);
  CHECK(read_file(guest_dir + "/big.bin") == data);

  auto back = dir.path() + "/back.bin";
  auto out = cli(host, {"vm", "cp", "c1:" + guest_dir + "/big.bin", back}, 60s);
  REQUIRE_MESSAGE(out.exit_code == 0, out.err);
  CHECK(read_file(back) == data);

  // A guest path that cannot be written leaves nothing, and says why.
  auto bad = cli(host, {"vm", "cp", local, "c1:/proc/no-such-dir/x"});
  CHECK(bad.exit_code == 1);
  CHECK_FALSE(bad.err.empty());
  // A guest file that does not exist: not_found, and no local file.
  auto missing = cli(host, {"-o", "json", "vm", "cp", "c1:" + guest_dir + "/nope",
                            dir.path() + "/nope"});
  CHECK(missing.exit_code == 1);
  CHECK(error_code(missing) == "not_found");
  CHECK_FALSE(std::filesystem::exists(dir.path() + "/nope"));
  for (auto& entry : std::filesystem::directory_iterator(dir.path()))
    CHECK_MESSAGE(entry.path().filename().string().find(".banger-cp.") == std::string::npos,
                  entry.path());
}

TEST_CASE("a guest that sends garbage loses its stream, not the daemon") {
  BANGER_REQUIRE_ROOT();
  TempDir dir{"banger-hostile"};
  auto script = dir.path() + "/hostile-agent";
  // An "agent" that answers its connection with a frame of absurd length.
  std::ofstream(script) << "#!/bin/sh\nprintf '\\377\\377\\377\\377\\0\\1\\0\\0\\0\\0\\0\\0' >&3\n"
                           "sleep 5\n";
  std::filesystem::permissions(script, std::filesystem::perms::all);
  std::filesystem::permissions(dir.path(), std::filesystem::perms::all);
  Host host(HostOptions{{}, {"FC_STUB_GUEST_AGENT=" + script}});
  host.start_helper();
  host.start_daemon();
  host.wait_ready();
  host.add_image("tiny");
  REQUIRE(cli(host, {"vm", "create", "--image", "tiny", "--name", "h1", "--start"}).exit_code == 0);
  bool warned = eventually(
    [&] {
      for (const auto& line : host.daemon_log())
        if (line.find("broke the protocol") != std::string::npos)
          return true;
      return false;
    },
    20s, 20ms);
  CHECK(warned);
  auto r = cli(host, {"-o", "json", "vm", "exec", "h1", "--", "true"});
  CHECK(r.exit_code == 1);
  CHECK(error_code(r) == "agent_unavailable");
  CHECK(host.daemon_running());
  auto shown = host.ask<VmRecord>(VmShowRequest{{}, "h1"});
  REQUIRE(shown.ok());
  CHECK(shown->runtime.state == VmState::running);
  CHECK(shown->runtime.agent.empty());
}
