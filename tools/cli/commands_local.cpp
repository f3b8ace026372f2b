// A command that ends in local work: vm logs (reads the VMM log file).
// vm ssh and vm cp are in commands_ssh.cpp, init in commands_init.cpp.
#include "messages/error.hpp"
#include "tools/cli/client.hpp"
#include "tools/cli/commands.hpp"

#include <caf/all.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
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

// Resolves the VM through the daemon, then drops the connection: what
// follows (ssh, tailing a file) may last long and needs no daemon.
caf::expected<VmRecord> resolve_and_disconnect(Context& ctx) {
  auto vm = ctx.session->call<VmRecord>(VmShowRequest{client_envelope(), ctx.inv.args[0]},
                                        ctx.timeout());
  auto here = ctx.session->config().settings.cluster_host_id;
  ctx.session.reset();
  if (vm && !vm->host.empty() && vm->host != here)
    return on_other_host(*vm, here);
  return vm;
}

} // namespace

caf::error on_other_host(const VmRecord& vm, const std::string& here) {
  // Its files and its guest network are on its own host: guest subnets
  // are not routed between hosts (docs/cluster.md, "Limits").
  return make_error(Errc::conflict,
                    "vm " + vm.name + " lives on host " + vm.host + ", not on this host ("
                      + (here.empty() ? "none" : here) + "); run this command on " + vm.host,
                    {});
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
