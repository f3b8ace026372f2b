// A VM's published ports (vm create -p): the start step that has the helper
// write its nftables rules, whose undo, like every start step's, is also
// the teardown after any stop, kill, VMM exit, suspend or rm
// (cleanup_runtime); and what recovery does with them.
#include "actors/vm_context.hpp"

namespace banger::vm {

Step publish_ports_step(Self self, const OpPtr& op) {
  return Step{
    "publish_ports",
    [self, op](StepDone done) {
      auto& rec = self->state.rec;
      // The helper checks the address against its subnet and every host
      // port against the other VMs' rules; a conflict names the port.
      ask_helper<Ack>(self, PortsPublishRequest{envelope_of(op), rec.id, rec.runtime.guest_ip, rec.ports},
                      [done](Result<Ack> published) {
                        if (published)
                          return done(Status{});
                        auto error = std::move(published).error();
                        error.message = "publishing ports: " + error.message;
                        done(std::move(error));
                      });
    },
    [self, op](StepDone done) { unpublish_ports(self, op, std::move(done)); }};
}

void unpublish_ports(Self self, const OpPtr& op, StepDone done) {
  ask_helper<Ack>(self, PortsUnpublishRequest{envelope_of(op), self->state.rec.id},
                  [self, op, done](Result<Ack> removed) {
                    if (removed)
                      return done(Status{});
                    // Left behind, the rules are harmless until the address
                    // is reused; doctor lists them and --fix removes them.
                    log_.warn("could not remove published-port rules (banger doctor --fix "
                              "removes them)",
                              {{"op_id", op->log.op_id()}, {"vm_id", self->state.rec.id},
                               {"error", removed.error().message}});
                    done(std::move(removed).error());
                  });
}

void republish_ports(Self self, const OpPtr& op, std::function<void()> then) {
  auto& rec = self->state.rec;
  if (rec.ports.empty()) {
    then();
    return;
  }
  // A firewall reload or a reboot of the helper's host may have flushed
  // them while the daemon was away; publishing replaces, so it is harmless
  // when they are still there.
  ask_helper<Ack>(self, PortsPublishRequest{envelope_of(op), rec.id, rec.runtime.guest_ip, rec.ports},
                  [self, op, then](Result<Ack> published) {
                    if (!published)
                      log_.warn("could not publish the ports of an adopted VM",
                                {{"op_id", op->log.op_id()}, {"vm_id", self->state.rec.id},
                                 {"error", published.error().message}});
                    then();
                  });
}

} // namespace banger::vm
