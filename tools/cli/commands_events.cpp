// `banger events`: this host's events as they happen (docs/api.md,
// "Events"), polled from the daemon's event buffer one EventsRequest after
// another. A reader that fell behind is told how many events it missed.
#include "tools/cli/commands.hpp"
#include "tools/cli/client.hpp"
#include "tools/cli/output.hpp"

#include "tools/cli/values.hpp"

#include <iostream>

namespace banger::cli {

namespace {

constexpr std::uint32_t poll_wait_ms = 2000;

} // namespace

int cmd_events(Context& ctx) {
  EventsRequest req;
  req.env = client_envelope();
  req.from_now = true;
  req.max = 256;
  req.wait_ms = poll_wait_ms;
  if (ctx.inv.has("--vm")) {
    auto vm = ctx.session->call<VmRecord>(VmShowRequest{client_envelope(), ctx.inv.value("--vm")},
                                          ctx.timeout());
    if (!vm)
      return report_error(ctx, vm.error());
    req.vm_id = vm->id; // by id: never another VM that takes its name later
  }
  if (ctx.inv.has("--after")) {
    // Resuming: every event after that seq still in the daemon's buffer.
    req.from_now = false;
    req.after = *parse_number(ctx.inv.value("--after"), 0xffffffffu); // checked by the parser
  }
  std::uint64_t count = 0; // 0: until interrupted
  if (ctx.inv.has("--count"))
    count = *parse_number(ctx.inv.value("--count"), 0xffffffffu); // checked by the parser
  const auto& stop_requested = stop_on_interrupt();
  std::uint64_t shown = 0;
  while (!stop_requested) {
    req.env = client_envelope();
    auto batch = ctx.session->call<EventBatch>(
      req, std::chrono::milliseconds(poll_wait_ms) + ctx.timeout());
    if (!batch) {
      if (stop_requested)
        break;
      return report_error(ctx, batch.error());
    }
    req.from_now = false;
    req.after = batch->last;
    if (batch->missed > 0) {
      if (ctx.json())
        std::cout << nlohmann::json{{"missed", batch->missed}}.dump() << "\n";
      else
        std::cout << "missed " << batch->missed
                  << " events (this reader fell behind the daemon's daemon.event-buffer)\n";
    }
    for (auto& e : batch->events) {
      if (ctx.json())
        std::cout << to_json(e).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                  << "\n";
      else
        std::cout << render_event(e) << "\n";
      if (count != 0 && ++shown >= count)
        break;
    }
    std::cout << std::flush;
    if (!std::cout)
      return exit_ok; // the reader went away (e.g. `| head`)
    if (count != 0 && shown >= count)
      break;
  }
  return exit_ok;
}

} // namespace banger::cli
