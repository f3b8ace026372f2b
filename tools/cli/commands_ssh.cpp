// vm ssh and vm cp: local ssh/scp against a guest, with banger's key and
// its pinned known_hosts. Both wait for a guest that is still booting
// (tools/cli/ssh_wait.hpp) and pass through the options
// tools/cli/ssh_options.hpp allows.
#include "tools/cli/client.hpp"
#include "tools/cli/commands.hpp"
#include "tools/cli/ssh_wait.hpp"

#include "messages/home_layout.hpp"

#include <caf/all.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <optional>
#include <thread>

namespace banger::cli {

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// A guest reachable over SSH, found through the daemon; the connection is
// dropped before ssh runs (it may last long and needs no daemon). A guest
// of another cluster host is reached the same way: every host routes the
// others' guest subnets (docs/cluster.md).
struct Guest {
  std::string name;
  std::string ip;
  std::string pinned_as; ///< SshPins::host_key_alias
};

// Resolves `ref` and waits, within the boot timeout, for a VM that is still
// starting to run and for its SSH to answer. "waiting for..." goes to a
// terminal only: scripts read ssh's own output.
std::optional<Guest> reach_guest(Context& ctx, const std::string& ref, int& exit_code) {
  auto timeout = ctx.session->config().settings.vmm_boot_timeout;
  auto deadline = Clock::now() + timeout;
  bool tty = ::isatty(STDERR_FILENO) == 1;
  bool announced = false;
  auto announce = [&](const std::string& name) {
    if (tty && !announced)
      std::cerr << "waiting for " << name << " to accept SSH..." << std::flush;
    announced = true;
  };
  auto done_announcing = [&] {
    if (tty && announced)
      std::cerr << "\r\033[K" << std::flush;
  };
  VmRecord vm;
  for (;;) {
    auto shown = ctx.session->call<VmRecord>(VmShowRequest{client_envelope(), ref},
                                             ctx.timeout());
    if (!shown) {
      done_announcing();
      exit_code = report_error(ctx, shown.error());
      return std::nullopt;
    }
    vm = std::move(*shown);
    bool starting = vm.runtime.state == VmState::starting
                    || (vm.runtime.state == VmState::running && vm.runtime.guest_ip.empty());
    if (!starting || Clock::now() >= deadline)
      break;
    announce(vm.name);
    std::this_thread::sleep_for(200ms); // pacing the polls of a start in progress
  }
  auto here = ctx.session->config().settings.cluster_host_id;
  ctx.session.reset();
  if (vm.runtime.state != VmState::running || vm.runtime.guest_ip.empty()) {
    done_announcing();
    exit_code = report_error(ctx, Errc::conflict,
                             "vm " + vm.name + " is not running (state "
                               + std::string(to_string(vm.runtime.state))
                               + "); start it with `banger vm start " + vm.name + "`",
                             "");
    return std::nullopt;
  }
  // A ready guest answers the first probe at once: nothing is shown then.
  auto first = probe_ssh_banner(vm.runtime.guest_ip, 22, 300ms);
  if (!first.empty()) {
    announce(vm.name);
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    auto why = wait_for_ssh_banner(vm.runtime.guest_ip, 22, std::max(left, 1ms));
    done_announcing();
    if (!why.empty()) {
      exit_code = report_error(
        ctx, Errc::timeout,
        "vm " + vm.name + " did not accept SSH on " + vm.runtime.guest_ip + ":22 within "
          + format_ms(std::chrono::duration_cast<std::chrono::microseconds>(timeout).count())
          + " (vmm.boot-timeout): " + why + "; its console: `banger vm logs " + vm.name + "`",
        "");
      return std::nullopt;
    }
  }
  done_announcing();
  return Guest{vm.name, vm.runtime.guest_ip, vm.host.empty() || vm.host == here ? "" : vm.id};
}

SshPins pins_of(const HomeLayout& layout, const Guest& guest) {
  return {(layout.ssh_dir() / "id_ed25519").string(), layout.known_hosts().string(),
          guest.pinned_as};
}

struct ToolRun {
  int code = 0;
  std::string err_tail; ///< the end of its stderr
};

// Runs argv with stdin/stdout inherited (or /dev/null when `quiet`); its
// stderr passes through us (unless quiet) so failures can be explained.
ToolRun run_tool(std::vector<std::string> argv, bool quiet) {
  int err_pipe[2];
  if (::pipe2(err_pipe, O_CLOEXEC) != 0)
    return {127, std::string("pipe: ") + std::strerror(errno)};
  pid_t pid = ::fork();
  if (pid < 0)
    return {127, std::string("fork: ") + std::strerror(errno)};
  if (pid == 0) {
    ::dup2(err_pipe[1], STDERR_FILENO);
    if (quiet) {
      int null = ::open("/dev/null", O_RDWR);
      ::dup2(null, STDIN_FILENO);
      ::dup2(null, STDOUT_FILENO);
    }
    std::vector<char*> cargv;
    for (auto& a : argv)
      cargv.push_back(a.data());
    cargv.push_back(nullptr);
    ::execvp(cargv[0], cargv.data());
    auto msg = "error: cannot run " + argv[0] + ": " + std::strerror(errno) + "\n";
    write_all(STDERR_FILENO, msg.data(), msg.size());
    ::_exit(127);
  }
  ::close(err_pipe[1]);
  // Like system(3): the terminal's ^C belongs to the tool.
  auto old_int = ::signal(SIGINT, SIG_IGN);
  auto old_quit = ::signal(SIGQUIT, SIG_IGN);
  ToolRun out;
  char buf[4096];
  for (;;) {
    auto n = ::read(err_pipe[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    if (!quiet)
      write_all(STDERR_FILENO, buf, static_cast<std::size_t>(n));
    out.err_tail.append(buf, static_cast<std::size_t>(n));
    if (out.err_tail.size() > 16384)
      out.err_tail.erase(0, out.err_tail.size() - 16384);
  }
  ::close(err_pipe[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  ::signal(SIGINT, old_int);
  ::signal(SIGQUIT, old_quit);
  out.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return out;
}

bool host_key_refused(const ToolRun& run) {
  return run.code != 0
         && (run.err_tail.find("IDENTIFICATION HAS CHANGED") != std::string::npos
             || run.err_tail.find("Host key verification failed") != std::string::npos);
}

void explain_host_key(const ToolRun& run, const HomeLayout& layout, const Guest& guest) {
  if (host_key_refused(run))
    std::cerr << "banger: the guest's host key differs from the one pinned in "
              << layout.known_hosts().string() << "; if the VM was recreated, `banger vm rm` "
              << "removes its pins (or delete the line for "
              << (guest.pinned_as.empty() ? guest.ip : guest.pinned_as) << ")\n";
}

} // namespace

// Writes all of `data` to `fd`; false on error (e.g. a closed pipe).
bool write_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    auto n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

int cmd_vm_ssh(Context& ctx) {
  HomeLayout layout{ctx.inv.global.home};
  int exit_code = exit_failed;
  auto guest = reach_guest(ctx, ctx.inv.args[0], exit_code);
  if (!guest)
    return exit_code;
  auto run = run_tool(ssh_command(pins_of(layout, *guest), ctx.inv.tool_args, guest->ip, ctx.inv.rest),
                      false);
  explain_host_key(run, layout, *guest);
  return run.code;
}

int cmd_vm_cp(Context& ctx) {
  HomeLayout layout{ctx.inv.global.home};
  auto src = parse_copy_endpoint(ctx.inv.args[0]);
  auto dst = parse_copy_endpoint(ctx.inv.args[1]);
  auto& remote = src.vm.empty() ? dst : src;
  int exit_code = exit_failed;
  if (copy_with_agent(ctx, src.vm, src.path, dst.vm, dst.path, exit_code))
    return exit_code;
  auto guest = reach_guest(ctx, remote.vm, exit_code);
  if (!guest)
    return exit_code;
  auto operand = [&](const CopyEndpoint& e) {
    return e.vm.empty() ? e.path : "root@" + guest->ip + ":" + e.path;
  };

  // SFTP when the guest serves it (a dropbear guest needs /usr/lib/sftp-server),
  // else scp's own protocol, which needs an scp binary in the guest.
  auto sftp = pinned_options(pins_of(layout, *guest));
  sftp.insert(sftp.begin(), "sftp");
  sftp.insert(sftp.end(), {"-b", "/dev/null", "-o", "BatchMode=yes", "--", "root@" + guest->ip});
  auto probe = run_tool(sftp, true);
  if (host_key_refused(probe)) {
    std::cerr << probe.err_tail;
    explain_host_key(probe, layout, *guest);
    return probe.code;
  }
  bool has_sftp = probe.code == 0;

  auto run = run_tool(scp_command(pins_of(layout, *guest), !has_sftp, ctx.inv.has("--recursive"),
                                  ctx.inv.tool_args, operand(src), operand(dst)),
                      false);
  explain_host_key(run, layout, *guest);
  if (run.code != 0 && !has_sftp
      && (run.err_tail.find("scp: not found") != std::string::npos
          || run.err_tail.find("scp: command not found") != std::string::npos))
    std::cerr << "banger: " << guest->name
              << " has neither an SFTP server nor scp (a dropbear guest serves SFTP with "
                 "/usr/lib/sftp-server, e.g. from Debian's openssh-sftp-server)\n";
  return run.code;
}

} // namespace banger::cli
