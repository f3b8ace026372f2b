// vm clone REF[@SNAPSHOT] [NAME]: one request; the daemon replies once
// the clone runs with its own identity (actors/vm_clone.cpp).
#include "tools/cli/client.hpp"
#include "tools/cli/commands.hpp"
#include "tools/cli/output.hpp"

#include <algorithm>
#include <iostream>

namespace banger::cli {

using namespace std::chrono_literals;

int cmd_vm_clone(Context& ctx) {
  const auto& args = ctx.inv.args;
  VmCloneRequest request;
  request.env = client_envelope();
  request.source = args[0];
  if (auto at = request.source.find('@'); at != std::string::npos) {
    request.snapshot = request.source.substr(at + 1);
    request.source.resize(at);
  }
  if (args.size() > 1)
    request.name = args[1];
  // The copy of the guest's memory and disk, a restore and the agent's
  // identity: as long as a restore, plus the copy.
  const auto& settings = ctx.session->config().settings;
  auto slow = std::max<std::chrono::milliseconds>(120s, settings.vmm_boot_timeout * 2 + 60s);
  auto vm = ctx.session->call<VmRecord>(request, ctx.timeout(slow));
  if (!vm)
    return report_error(ctx, vm.error());
  auto from = request.source + (request.snapshot.empty() ? "" : "@" + request.snapshot);
  print(ctx,
        vm->name + ": " + std::string(to_string(vm->runtime.state)) + ", cloned from " + from
          + " (" + vm->runtime.guest_ip + ")\n",
        {{"vm", to_json(*vm)}, {"source", request.source}, {"snapshot", request.snapshot}});
  return exit_ok;
}

} // namespace banger::cli
