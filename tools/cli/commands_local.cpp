// Commands that end in local work: vm ssh (runs ssh against the guest) and
// vm logs (reads the VMM log file).
#include "tools/cli/client.hpp"
#include "tools/cli/commands.hpp"

#include "messages/home_layout.hpp"

#include <caf/all.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <iostream>
#include <thread>

namespace banger::cli {

namespace {

std::atomic<bool> interrupted{false};

void on_interrupt(int) {
  interrupted = true;
}

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

// Resolves the VM through the daemon, then drops the connection: what
// follows (ssh, tailing a file) may last long and needs no daemon.
caf::expected<VmRecord> resolve_and_disconnect(Context& ctx) {
  auto vm = ctx.session->call<VmRecord>(VmShowRequest{client_envelope(), ctx.inv.args[0]},
                                        ctx.timeout());
  ctx.session.reset();
  return vm;
}

} // namespace

int cmd_vm_ssh(Context& ctx) {
  auto home = ctx.inv.global.home;
  auto vm = resolve_and_disconnect(ctx);
  if (!vm)
    return report_error(ctx, vm.error());
  if (vm->runtime.state != VmState::running || vm->runtime.guest_ip.empty())
    return report_error(ctx, Errc::conflict,
                        "vm " + vm->name + " is not running (state "
                          + std::string(to_string(vm->runtime.state))
                          + "); start it with `banger vm start " + vm->name + "`",
                        "");
  HomeLayout layout{home};
  std::vector<std::string> argv{"ssh",
                                "-i",
                                (layout.ssh_dir() / "id_ed25519").string(),
                                "-o",
                                "UserKnownHostsFile=" + layout.known_hosts().string(),
                                "-o",
                                "StrictHostKeyChecking=accept-new",
                                "-o",
                                "HashKnownHosts=no", // banger's own file: readable pins
                                "-o",
                                "LogLevel=ERROR",
                                "root@" + vm->runtime.guest_ip};
  argv.insert(argv.end(), ctx.inv.rest.begin(), ctx.inv.rest.end());

  // ssh's stderr passes through us so a refused host key can be explained.
  int err_pipe[2];
  if (::pipe2(err_pipe, O_CLOEXEC) != 0)
    return report_error(ctx, Errc::system, std::string("pipe: ") + std::strerror(errno), "");
  pid_t pid = ::fork();
  if (pid < 0)
    return report_error(ctx, Errc::system, std::string("fork: ") + std::strerror(errno), "");
  if (pid == 0) {
    ::dup2(err_pipe[1], STDERR_FILENO);
    std::vector<char*> cargv;
    for (auto& a : argv)
      cargv.push_back(a.data());
    cargv.push_back(nullptr);
    ::execvp("ssh", cargv.data());
    auto msg = std::string("error: cannot run ssh: ") + std::strerror(errno) + "\n";
    write_all(STDERR_FILENO, msg.data(), msg.size());
    ::_exit(127);
  }
  ::close(err_pipe[1]);
  // Like system(3): the terminal's ^C belongs to ssh.
  ::signal(SIGINT, SIG_IGN);
  ::signal(SIGQUIT, SIG_IGN);
  std::string tail;
  char buf[4096];
  for (;;) {
    auto n = ::read(err_pipe[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    write_all(STDERR_FILENO, buf, static_cast<std::size_t>(n));
    tail.append(buf, static_cast<std::size_t>(n));
    if (tail.size() > 16384)
      tail.erase(0, tail.size() - 16384);
  }
  ::close(err_pipe[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (code == 255
      && (tail.find("IDENTIFICATION HAS CHANGED") != std::string::npos
          || tail.find("Host key verification failed") != std::string::npos))
    std::cerr << "banger: the guest's host key differs from the one pinned in "
              << layout.known_hosts().string() << "; if the VM was recreated, `banger vm rm` "
              << "removes its pins (or delete the line for " << vm->runtime.guest_ip << ")\n";
  return code;
}

int cmd_vm_logs(Context& ctx) {
  bool follow = ctx.inv.has("--follow");
  auto vm = resolve_and_disconnect(ctx);
  if (!vm)
    return report_error(ctx, vm.error());
  std::string path = vm->runtime.log_path;
  if (path.empty() && !vm->runtime.vm_dir.empty())
    path = vm->runtime.vm_dir + "/vmm.log";
  if (path.empty())
    return report_error(ctx, Errc::not_found, "vm " + vm->name + " has no log yet", "");

  struct sigaction sa{};
  sa.sa_handler = on_interrupt;
  ::sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);

  int fd = -1;
  off_t offset = 0;
  char buf[65536];
  for (;;) {
    if (fd < 0) {
      fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      // The log appears with the first start's VMM.
      if (fd < 0 && errno == ENOENT && !follow)
        return report_error(ctx, Errc::not_found,
                            "vm " + vm->name + " has no console yet: it has never been started"
                              + " (banger vm start " + vm->name + ")",
                            "");
      if (fd < 0 && (!follow || errno != ENOENT))
        return report_error(ctx, Errc::system,
                            "cannot read " + path + ": " + std::strerror(errno), "");
      offset = 0;
    }
    if (fd >= 0) {
      struct stat st{};
      if (::fstat(fd, &st) == 0 && st.st_size < offset) {
        ::lseek(fd, 0, SEEK_SET); // truncated: start over
        offset = 0;
      }
      for (;;) {
        auto n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
          break;
        if (n <= 0)
          break;
        offset += n;
        if (!write_all(STDOUT_FILENO, buf, static_cast<std::size_t>(n)))
          return exit_ok; // reader went away (e.g. `| head`)
      }
    }
    if (!follow || interrupted)
      break;
    // Polling keeps this simple and works on every filesystem; a log line
    // shows up within 100 ms.
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (interrupted)
      break;
  }
  if (fd >= 0)
    ::close(fd);
  return exit_ok;
}

} // namespace banger::cli
