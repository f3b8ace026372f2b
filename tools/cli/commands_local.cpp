// vm logs: the VMM log of a VM on any cluster host, read through the daemon
// in bounded chunks (VmLogReadRequest; the VM's own host reads its file).
// vm ssh and vm cp are in commands_ssh.cpp, init in commands_init.cpp.
#include "messages/error.hpp"
#include "tools/cli/client.hpp"
#include "tools/cli/commands.hpp"

#include <caf/all.hpp>

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <thread>

namespace banger::cli {

namespace {

using namespace std::chrono_literals;

std::atomic<bool> interrupt_seen{false};

void on_interrupt(int) {
  interrupt_seen = true;
}

/// Polling keeps this simple and works for a VM on any host: a log line
/// shows up within 100 ms.
constexpr auto follow_interval = 100ms;

/// --follow outlives a daemon restart, as reading the file did: the
/// session is opened again until it works (or ^C).
bool reconnect(Context& ctx) {
  while (!interrupt_seen) {
    std::this_thread::sleep_for(follow_interval);
    SessionError error;
    if ((ctx.session = Session::open(ctx.inv.global, error)))
      return true;
  }
  return false;
}

} // namespace

const std::atomic<bool>& stop_on_interrupt() {
  struct sigaction sa{};
  sa.sa_handler = on_interrupt;
  ::sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  return interrupt_seen;
}

int cmd_vm_logs(Context& ctx) {
  bool follow = ctx.inv.has("--follow");
  auto vm = ctx.session->call<VmRecord>(VmShowRequest{client_envelope(), ctx.inv.args[0]},
                                        ctx.timeout());
  if (!vm)
    return report_error(ctx, vm.error());

  const auto& interrupted = stop_on_interrupt();
  std::uint64_t offset = 0;
  while (!interrupted) {
    // By id: the VM found above, never another that took its name since.
    auto chunk = ctx.session->call<VmLogChunk>(VmLogReadRequest{client_envelope(), vm->id, offset, 0},
                                               ctx.timeout());
    if (!chunk) {
      if (follow && view(chunk.error()).peer_lost && reconnect(ctx))
        continue;
      if (interrupted)
        break;
      return report_error(ctx, chunk.error());
    }
    // The log appears with the first start's VMM.
    if (!chunk->exists && !follow)
      return report_error(ctx, Errc::not_found,
                          "vm " + vm->name + " has no console yet: it has never been started"
                            + " (banger vm start " + vm->name + ")",
                          "");
    if (!chunk->data.empty() && !write_all(STDOUT_FILENO, chunk->data.data(), chunk->data.size()))
      return exit_ok; // reader went away (e.g. `| head`)
    offset = chunk->next_offset;
    if (offset < chunk->size && !chunk->data.empty())
      continue; // more is there already: no pause between chunks
    if (!follow)
      break;
    std::this_thread::sleep_for(follow_interval);
  }
  return exit_ok;
}

} // namespace banger::cli
