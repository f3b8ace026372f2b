// The far side of remoting_test: a separate process that publishes an actor
// answering every wire type with the value it received. Prints the port it
// listens on, then serves until its stdin closes.
#include "messages/register.hpp"
#include "samples.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <iostream>
#include <string>

using namespace banger;

namespace {

struct Config : caf::actor_system_config {
  Config() {
    register_messages(*this);
    load<caf::io::middleman>();
  }
};

template <class... Ts>
caf::behavior echo_for(const std::tuple<Ts...>&) {
  return {[](Ts& value) -> Ts { return std::move(value); }...};
}

} // namespace

int main() {
  Config cfg;
  caf::actor_system sys{cfg};
  // At least one argument: CAF 0.17 binds a reference to a null argument
  // tuple for argument-less function actors (UBSan aborts).
  auto echo = sys.spawn([](int) { return echo_for(samples::all()); }, 0);
  auto port = sys.middleman().publish(echo, 0, "127.0.0.1");
  if (!port) {
    std::cerr << "publish failed: " << sys.render(port.error()) << "\n";
    return 1;
  }
  std::cout << *port << std::endl;
  std::string ignored;
  while (std::getline(std::cin, ignored)) {
  }
  caf::anon_send_exit(echo, caf::exit_reason::user_shutdown);
  return 0;
}
