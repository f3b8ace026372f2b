// Actors that another process can reach must not be ended by it. CAF 0.17
// delivers system messages across the network: a peer that got through TLS
// (any certificate of the CA, a CLI's included) can send an exit message to
// any actor whose address it has seen - the published ones, and every actor
// that answered it a request - and an exit with reason `kill` ends an actor
// whatever its exit handler says; a bare error message (not the answer to a
// request) ends it through the default error handler. A sheltered actor
// drops both unless they come from an actor of its own process, before they
// reach its mailbox. Links, monitors and answers work as before.
//
// An anonymous message cannot be told from one a peer sent anonymously, so
// an exit without a sender is dropped too: this process ends its actors
// with stop_actor(), which sends from an actor of its own.
#pragma once

#include "messages/log.hpp"

#include <caf/actor_system.hpp>
#include <caf/system_messages.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/stateful_actor.hpp>

#include <atomic>
#include <cstdint>

namespace banger {

/// How many messages sheltered actors of this process dropped (tests,
/// diagnostics).
inline std::atomic<std::uint64_t> sheltered_drops{0};

/// Whether `x` would end the actor it is sent to (an exit message, or an
/// error that answers no request).
inline bool ends_receiver(const caf::mailbox_element& x) {
  const auto& content = x.content();
  if (content.match_elements<caf::exit_msg>())
    return true;
  return !x.mid.is_response() && content.match_elements<caf::error>();
}

template <class State, class Base>
class sheltered : public caf::stateful_actor<State, Base> {
public:
  using super = caf::stateful_actor<State, Base>;
  using super::super;

  void enqueue(caf::mailbox_element_ptr ptr, caf::execution_unit* host) override {
    if (ptr && ends_receiver(*ptr) && !(ptr->sender && ptr->sender->node() == this->node())) {
      // Dropped: the sender has no say over this actor's life. Said in the
      // log, but not once per message of a flood.
      auto n = ++sheltered_drops;
      if (n <= 10 || n % 1000 == 0)
        log::Logger{"shelter"}.warn(
          "dropped a message that would end this actor",
          {{"actor", std::string(this->name())},
           {"message", ptr->content().stringify().substr(0, 120)},
           {"from", ptr->sender ? to_string(ptr->sender->node()) : std::string("anonymous")},
           {"dropped", static_cast<std::int64_t>(n)}});
      return;
    }
    super::enqueue(std::move(ptr), host);
  }
};

/// The self pointer of a sheltered stateful actor with interface `Handle`
/// (a typed_actor) and state `State`, in place of Handle::stateful_pointer.
template <class Handle, class State>
using sheltered_pointer = sheltered<State, typename Handle::base>*;

/// Ends `actor` with `reason`, sent from an actor of this process (a
/// sheltered actor drops anonymous exits).
template <class Handle>
void stop_actor(caf::actor_system& sys, const Handle& actor,
                caf::error reason = caf::exit_reason::user_shutdown) {
  caf::scoped_actor self{sys};
  self->send_exit(actor, std::move(reason));
}

} // namespace banger
