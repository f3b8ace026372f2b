// The far side of transport_test: publishes a probe actor over mutual TLS
// with one role's certificates of a home, exactly as banger's servers do.
//
//   tls_peer HOME [helper|daemon|client]
//
// Prints the bound port, then one "handled N" line per message the probe
// processes; serves until stdin closes.
#include "messages/config.hpp"
#include "messages/home_layout.hpp"
#include "messages/tls.hpp"
#include "tests/transport/probe.hpp"

#include <caf/all.hpp>
#include <caf/openssl/all.hpp>

#include <cstdio>
#include <iostream>
#include <string>

using namespace banger;

namespace {

struct ProbeState {
  std::uint64_t handled = 0;
};

void note_handled(ProbeState& state) {
  ++state.handled;
  std::printf("handled %llu\n", static_cast<unsigned long long>(state.handled));
  std::fflush(stdout);
}

test::probe_actor::behavior_type probe(test::probe_actor::stateful_pointer<ProbeState> self,
                                       std::string version) {
  // Counts messages outside the interface too: "processed" means reached
  // the actor at all.
  self->set_default_handler([self](caf::scheduled_actor*, caf::message_view&) -> caf::result<caf::message> {
    note_handled(self->state);
    return caf::sec::unexpected_message;
  });
  return {
    [self, version](const HelperInfoRequest&) -> HelperInfo {
      note_handled(self->state);
      return HelperInfo{version, {"copy"}, "banger0", "firecracker", "tcg"};
    },
    [self](caf::get_atom) -> std::uint64_t { return self->state.handled; },
  };
}

TlsRole parse_role(const std::string& name) {
  if (name == "daemon")
    return TlsRole::daemon;
  if (name == "client")
    return TlsRole::client;
  return TlsRole::helper;
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: tls_peer HOME [helper|daemon|client]\n";
    return 2;
  }
  std::string home = argv[1];
  // banger::Config for its heartbeats and registered types; banger.conf is
  // not read: this peer tests the transport, not the configuration.
  Config cfg;
  if (auto st = enable_tls(cfg, HomeLayout{home}, parse_role(argc > 2 ? argv[2] : "helper"));
      !st) {
    std::cerr << "tls_peer: " << st.error().message << "\n";
    return 2;
  }
  caf::actor_system sys{cfg};
  // At least one argument: CAF 0.17 dereferences a null argument tuple for
  // argument-less function actors, which aborts a -DBANGER_SANITIZE build.
  auto actor = sys.spawn(probe, std::string("tls_peer"));
  // Loopback only, TLS only: nothing in this process uses the plain middleman.
  auto port = caf::openssl::publish(actor, 0, "127.0.0.1");
  if (!port) {
    std::cerr << "tls_peer: publish failed: " << sys.render(port.error()) << "\n";
    return 1;
  }
  std::cout << *port << std::endl;
  std::string ignored;
  while (std::getline(std::cin, ignored)) {
    // nop
  }
  caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
  return 0;
}
