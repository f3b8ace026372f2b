// Two real processes exchange every request and reply type over CAF remoting.
// CAF drops messages of unregistered types silently; this test is where that
// shows up.
#include "messages/error.hpp"
#include "messages/register.hpp"
#include "samples.hpp"
#include "tests/support/process.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <doctest/doctest.h>

#include <typeinfo>

using namespace banger;
using namespace std::chrono_literals;

namespace {

struct Config : caf::actor_system_config {
  Config() {
    register_messages(*this);
    load<caf::io::middleman>();
    set("middleman.heartbeat-interval", caf::timespan{1s});
    set("middleman.connection-timeout", caf::timespan{5s});
  }
};

template <class T>
void check_echo(caf::scoped_actor& self, const caf::actor& peer, const T& sample) {
  bool answered = false;
  self->request(peer, 5s, sample)
    .receive(
      [&](const T& echoed) {
        answered = true;
        CHECK_MESSAGE(echoed == sample, "changed in transit: " << typeid(T).name());
      },
      [&](const caf::error& err) {
        FAIL_CHECK("no echo for " << typeid(T).name() << ": "
                                  << self->system().render(err));
      });
  CHECK_MESSAGE(answered, typeid(T).name());
}

} // namespace

TEST_CASE("every wire type crosses a process boundary intact") {
  auto peer_process = test::Child::spawn({REMOTING_PEER_BIN});
  auto port_line = peer_process.read_line(15s);
  REQUIRE_MESSAGE(port_line, "peer did not print its port");
  auto port = static_cast<std::uint16_t>(std::stoi(*port_line));

  Config cfg;
  caf::actor_system sys{cfg};
  auto peer = sys.middleman().remote_actor("127.0.0.1", port);
  REQUIRE_MESSAGE(peer, "cannot connect: " << sys.render(peer.error()));
  caf::scoped_actor self{sys};
  std::apply([&](const auto&... sample) { (check_echo(self, *peer, sample), ...); },
             samples::all());

  SUBCASE("errors keep code, message and op_id across processes") {
    // The peer has no handler for a plain string: CAF answers with an error,
    // which must come back as a typed error rather than be lost.
    self->request(*peer, 5s, std::string("not a banger request"))
      .receive([&](const std::string&) { FAIL_CHECK("unexpected reply"); },
               [&](const caf::error& err) {
                 CHECK(view(err).code == Errc::unknown_method);
               });
  }

  peer_process.close_stdin();
  auto status = peer_process.wait(10s);
  REQUIRE(status);
  CHECK(WIFEXITED(*status));
  CHECK(WEXITSTATUS(*status) == 0);
}
