// Waiting for a guest's SSH, through the real banger binary against a real
// bangerd + banger-helper with fc-stub as the VMM. fc-stub's guests never
// answer on port 22, which is exactly a guest that never gets ready: the
// waits must end at vmm.boot-timeout with an error that says so, and
// --no-wait (or an image without SSH) must not wait at all.
#include "tests/cli/cli_run.hpp"
#include "tests/support/host_fixture.hpp"
#include "tests/support/skip.hpp"

#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

using namespace banger;
using namespace banger::test;
using namespace std::chrono_literals;

namespace {

constexpr auto boot_timeout = 2s;

// An image whose guest is said to run an SSH server (as built images do).
Image add_ssh_image(Host& host) {
  auto dir = host.path("images/withssh");
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/vmlinux") << "not really a kernel";
  std::ofstream(dir + "/rootfs.ext4") << std::string(64 * 1024, 'r');
  auto added = run_banger({"--home", host.home(), "image", "add", "withssh", "--ssh", "--kernel",
                           dir + "/vmlinux", "--rootfs", dir + "/rootfs.ext4"});
  REQUIRE_MESSAGE(added.exit_code == 0, added.err);
  CHECK(added.out.find("ssh:") != std::string::npos);
  auto list = run_banger({"--home", host.home(), "image", "ls"});
  CHECK(list.out.find("SSH") != std::string::npos);
  auto images = host.ask<ImageList>(ImageListRequest{});
  REQUIRE(images.ok());
  for (const auto& image : images->images)
    if (image.name == "withssh")
      return image;
  FAIL("image withssh not listed");
  return {};
}

RunResult cli(Host& host, std::vector<std::string> args,
                 std::chrono::milliseconds deadline = 30s) {
  args.insert(args.begin(), {"--home", host.home()});
  return run_banger(args, {}, deadline);
}

bool stages_include(Host& host, const std::string& op_id, const std::string& stage) {
  auto op = host.ask<OperationStatus>(OpStatusRequest{{}, op_id});
  REQUIRE(op.ok());
  for (const auto& s : op->stages)
    if (s.name == stage)
      return true;
  return false;
}

} // namespace

TEST_CASE("vm ssh waits for a guest that never accepts SSH until the boot timeout, then says so") {
  BANGER_REQUIRE_ROOT();
  Host host(HostOptions{{"vmm.boot-timeout=2s"}, {}});
  host.start_helper();
  host.start_daemon();
  host.wait_ready();
  host.add_image("tiny");
  // An image without SSH: create --start does not wait, as before.
  auto created = cli(host, {"vm", "create", "--image", "tiny", "--name", "quiet", "--start"});
  REQUIRE_MESSAGE(created.exit_code == 0, created.err);
  CHECK(created.elapsed < boot_timeout);

  auto ssh = cli(host, {"vm", "ssh", "quiet", "--", "true"});
  INFO("stderr: " << ssh.err);
  CHECK(ssh.exit_code == 1);
  CHECK(ssh.elapsed >= boot_timeout);
  CHECK(ssh.elapsed < boot_timeout + 10s);
  CHECK(ssh.err.find("did not accept SSH") != std::string::npos);
  CHECK(ssh.err.find("vmm.boot-timeout") != std::string::npos);
  CHECK(ssh.err.find("banger vm logs quiet") != std::string::npos);
  // Not a terminal: no progress line in what a script reads.
  CHECK(ssh.err.find("waiting for") == std::string::npos);

  auto cp = cli(host, {"vm", "cp", "/etc/hostname", "quiet:/tmp/"});
  CHECK(cp.exit_code == 1);
  CHECK(cp.err.find("did not accept SSH") != std::string::npos);

  // On a terminal the wait says what it waits for.
  if (::access("/usr/bin/script", X_OK) == 0) {
    auto tty = run({"/usr/bin/script", "-qec",
                    std::string(BANGER_BIN) + " --home " + host.home() + " vm ssh quiet -- true",
                    "/dev/null"},
                   {}, 30s);
    CHECK_MESSAGE(tty.out.find("waiting for quiet to accept SSH...") != std::string::npos,
                  tty.out);
  } else {
    MESSAGE("script(1) is missing: the terminal message is not checked");
  }
}

TEST_CASE("starts of an image with SSH wait for it by default and --no-wait opts out") {
  BANGER_REQUIRE_ROOT();
  Host host(HostOptions{{"vmm.boot-timeout=2s"}, {}});
  host.start_helper();
  host.start_daemon();
  host.wait_ready();
  add_ssh_image(host);

  // The default waits, and the guest never answers: the create fails after
  // the boot timeout, the VM keeps running (vm ssh may work later).
  auto created = cli(host, {"vm", "create", "--image", "withssh", "--name", "w1", "--start"});
  INFO("create: " << created.err);
  CHECK(created.exit_code == 1);
  CHECK(created.elapsed >= boot_timeout);
  CHECK(created.err.find("SSH port did not answer") != std::string::npos);
  auto shown = host.ask<VmRecord>(VmShowRequest{{}, "w1"});
  REQUIRE(shown.ok());
  CHECK(shown->runtime.state == VmState::running);

  // vm start of a running VM waits as well; --no-wait returns at once.
  auto start = cli(host, {"vm", "start", "w1"});
  CHECK(start.exit_code == 1);
  CHECK(start.elapsed >= boot_timeout);
  REQUIRE(cli(host, {"vm", "stop", "w1"}).exit_code == 0);
  auto no_wait = cli(host, {"vm", "start", "--no-wait", "w1"});
  CHECK_MESSAGE(no_wait.exit_code == 0, no_wait.err);
  CHECK(no_wait.elapsed < boot_timeout);
  CHECK(no_wait.out.find("w1: running") != std::string::npos);
  CHECK(cli(host, {"vm", "restart", "--no-wait", "w1"}).exit_code == 0);

  // create --start --no-wait: the op_id at once, and the start never waits.
  auto async = cli(host, {"-o", "json", "vm", "create", "--image", "withssh", "--name", "w2",
                             "--start", "--no-wait"});
  REQUIRE_MESSAGE(async.exit_code == 0, async.err);
  auto op_id = async.out.substr(async.out.find("op-"), 15);
  OperationStatus op;
  REQUIRE(eventually(
    [&] {
      auto status = host.ask<OperationStatus>(OpStatusRequest{{}, op_id});
      REQUIRE(status.ok());
      op = *status;
      return op.outcome != OperationOutcome::running;
    },
    20s, 20ms));
  CHECK(op.outcome == OperationOutcome::succeeded);
  CHECK_FALSE(stages_include(host, op_id, "wait_guest_ready"));

  // --wait and --no-wait together are a usage error, before any contact.
  CHECK(cli(host, {"vm", "start", "--wait", "--no-wait", "w1"}).exit_code == 2);
}
