// The listeners the port probes exist to find, so a test can show they do:
//
//   open_listener plain      a CAF 0.17 BASP port without TLS
//   open_listener anonymous  caf_openssl without any certificate: anonymous
//                            ECDH, encrypted but open to anyone
//
// Publishes an actor on 127.0.0.1, prints the port, and serves until killed.
#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>

#include <unistd.h>

#include <cstring>
#include <iostream>

namespace {

caf::behavior answer(caf::event_based_actor*, int) {
  return {[](int x) { return x; }};
}

} // namespace

int main(int argc, char** argv) {
  bool plain = argc == 2 && std::strcmp(argv[1], "plain") == 0;
  if (!plain && !(argc == 2 && std::strcmp(argv[1], "anonymous") == 0)) {
    std::cerr << "usage: open_listener plain|anonymous\n";
    return 2;
  }
  caf::actor_system_config cfg;
  cfg.load<caf::io::middleman>();
  if (!plain)
    cfg.load<caf::openssl::manager>();
  caf::actor_system sys{cfg};
  // An argument: CAF 0.17 dereferences a null argument tuple for
  // argument-less function actors.
  auto actor = sys.spawn(answer, 0);
  auto port = plain ? sys.middleman().publish(actor, 0, "127.0.0.1")
                    : caf::openssl::publish(actor, 0, "127.0.0.1");
  if (!port) {
    std::cerr << "open_listener: publish failed: " << sys.render(port.error()) << "\n";
    return 1;
  }
  std::cout << *port << std::endl;
  for (;;)
    ::pause();
}
