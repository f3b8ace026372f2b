#include "actors/helper_link_actor.hpp"
#include "actors/daemon_metrics.hpp"
#include "messages/sheltered.hpp"

#include "messages/error.hpp"
#include "messages/in_flight.hpp"
#include "messages/log.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>

namespace banger {

namespace {

using reconnect_atom = caf::atom_constant<caf::atom("reconnect")>;
using ping_atom = caf::atom_constant<caf::atom("ping")>;
using listen_atom = caf::atom_constant<caf::atom("hllisten")>;

const log::Logger log_{"helper_link"};

/// Liveness. The link pings once a second; a ping unanswered within
/// ping_timeout is missed, and the helper is treated as down (requests in
/// flight fail, the link reconnects) only after max_missed_pings misses in a
/// row: about ten seconds of silence. A hung helper is noticed in that
/// time even though its connection stays open; a helper that is merely slow
/// (a saturated 2-core host, a TCG guest booting next to a test run) gets
/// another ping at once after each miss. The helper answers the ping from
/// memory in its front actor, never behind a worker's blocking job
/// (privileged/helper_actor.hpp). A killed helper is noticed at once by its
/// down message, not by the ping. docs/architecture.md states these figures.
constexpr auto ping_interval = std::chrono::milliseconds(1000);
constexpr auto ping_timeout = std::chrono::milliseconds(2000);
constexpr int max_missed_pings = 5;

constexpr auto first_backoff = std::chrono::milliseconds(50);
constexpr auto max_backoff = std::chrono::milliseconds(1000);

struct LinkState {
  LinkState() = default; // not an aggregate: CAF must not build it from `self`
  HelperLinkConfig config;
  helper_actor helper;
  bool connecting = false;
  std::chrono::milliseconds backoff = first_backoff;
  /// Pings in a row the current connection left unanswered.
  int missed_pings = 0;
  /// Counts connections: a ping's answer counts only for the connection it
  /// was sent on (a reconnect may yield the very same proxy).
  std::uint64_t connection = 0;
  /// Requests forwarded to the current connection and not answered yet:
  /// failed with helper_unavailable the moment it is lost (CAF would let
  /// each wait for its timeout, up to minutes for rootfs work).
  InFlight in_flight;
  /// Told when the link is back after a loss (helper_up_atom).
  std::vector<caf::actor> listeners;
  bool was_connected = false;
  static inline const char* name = "helper_link";
};

using link_impl = helper_actor::extend<caf::reacts_to<reconnect_atom>, caf::reacts_to<ping_atom>,
                                      caf::reacts_to<listen_atom, caf::actor>>;
using link_pointer = sheltered_pointer<link_impl, LinkState>;

caf::io::middleman_actor connector(caf::actor_system& sys) {
  if (sys.has_openssl_manager())
    return sys.openssl_manager().actor_handle();
  return sys.middleman().actor_handle();
}

void connect(link_pointer self) {
  auto& st = self->state;
  if (st.connecting || st.helper)
    return;
  st.connecting = true;
  self
    ->request(connector(self->system()), std::chrono::seconds(5),
              caf::connect_atom::value, st.config.host, st.config.port)
    .then(
      [self](const caf::node_id&, caf::strong_actor_ptr& ptr,
             const std::set<std::string>& ifs) {
        auto& st = self->state;
        st.connecting = false;
        if (!ptr || ifs != self->system().message_types<helper_actor>()) {
          log_.error("helper link: the actor on the helper port is not banger-helper",
                     {{"port", st.config.port}});
          self->delayed_send(self, max_backoff, reconnect_atom::value);
          return;
        }
        st.helper = caf::actor_cast<helper_actor>(std::move(ptr));
        st.backoff = first_backoff;
        st.missed_pings = 0;
        ++st.connection;
        self->monitor(st.helper);
        self->delayed_send(self, ping_interval, ping_atom::value);
        log_.info("helper connected", {{"port", st.config.port}});
        if (st.was_connected)
          for (auto& listener : st.listeners)
            caf::anon_send(listener, helper_up_atom::value);
        st.was_connected = true;
      },
      [self](caf::error& err) {
        auto& st = self->state;
        st.connecting = false;
        log_.debug("helper connect failed", {{"port", st.config.port},
                                             {"error", self->system().render(err)}});
        self->delayed_send(self, st.backoff, reconnect_atom::value);
        st.backoff = std::min(st.backoff * 2, max_backoff);
      });
}

caf::error unavailable(const LinkState& st, const std::string& op_id) {
  return make_error(Errc::helper_unavailable,
                    "banger-helper is not reachable on 127.0.0.1:"
                      + std::to_string(st.config.port) + "; is it running?",
                    op_id);
}

/// The connection is gone (down message or unanswered ping): forget it,
/// fail what was sent over it, and dial again.
void lost(link_pointer self, const std::string& why) {
  auto& st = self->state;
  log_.warn(why, {{"port", st.config.port},
                  {"failed_requests", static_cast<std::int64_t>(st.in_flight.size())}});
  self->demonitor(st.helper.address());
  st.helper = nullptr;
  st.missed_pings = 0;
  st.in_flight.fail_all(unavailable(st, ""));
  self->delayed_send(self, first_backoff, reconnect_atom::value);
}

// Forwards one request type to the helper, adding the credential and mapping
// transport failures onto banger errors.
// Each request's round trip is measured (banger_helper_request_duration_seconds,
// labelled `method`), and each failure counted.
template <class Request, class Reply>
auto forward(link_pointer self, std::chrono::milliseconds timeout, const char* method) {
  return [self, timeout, method](Request& request) -> caf::result<Reply> {
    auto& st = self->state;
    auto op_id = request.env.op_id;
    if (!st.helper) {
      daemon_metrics().helper_failures.add({{"method", method}});
      return unavailable(st, op_id);
    }
    auto sent = std::chrono::steady_clock::now();
    request.env.credential = st.config.credential;
    auto promise = self->template make_response_promise<Reply>();
    auto id = st.in_flight.add([promise, op_id](const caf::error& err) mutable {
      promise.deliver(with_op_id(err, op_id));
    });
    self->request(st.helper, timeout, std::move(request))
      .then(
        [self, id, promise, sent, method](Reply& reply) mutable {
          daemon_metrics().helper_seconds.observe(
            {{"method", method}},
            std::chrono::duration<double>(std::chrono::steady_clock::now() - sent).count());
          if (self->state.in_flight.settle(id))
            promise.deliver(std::move(reply));
        },
        [self, id, promise, op_id, timeout, method](caf::error& err) mutable {
          daemon_metrics().helper_failures.add({{"method", method}});
          if (!self->state.in_flight.settle(id))
            return; // failed already when the connection went down
          if (auto v = view(err); v.from_caf) {
            if (v.code == Errc::timeout) {
              promise.deliver(make_error(Errc::timeout,
                                         "banger-helper did not answer within "
                                           + std::to_string(timeout.count()) + " ms",
                                         op_id));
              return;
            }
            promise.deliver(unavailable(self->state, op_id));
            return;
          }
          promise.deliver(with_op_id(err, op_id));
        });
    return promise;
  };
}

link_impl::behavior_type link_behavior(link_pointer self, HelperLinkConfig config) {
  self->state.config = std::move(config);
  self->set_down_handler([self](const caf::down_msg& down) {
    auto& st = self->state;
    if (st.helper && down.source == st.helper.address())
      lost(self, "helper disconnected");
  });
  connect(self);
  auto normal = self->state.config.request_timeout;
  auto rootfs = self->state.config.rootfs_timeout;
  return {
    forward<HelperInfoRequest, HelperInfo>(self, normal, "helper.info"),
    forward<TapDeleteRequest, Ack>(self, normal, "tap.delete"),
    forward<RootfsPrepareRequest, RootfsPrepared>(self, rootfs, "rootfs.prepare"),
    forward<RootfsReleaseRequest, Ack>(self, rootfs, "rootfs.release"),
    forward<VmmLaunchRequest, VmmLaunched>(self, normal, "vmm.launch"),
    forward<VmmSignalRequest, Ack>(self, normal, "vmm.signal"),
    forward<RuntimeRemoveRequest, Ack>(self, normal, "runtime.remove"),
    forward<HelperInventoryRequest, HelperInventory>(self, normal, "helper.inventory"),
    forward<PeerRouteRequest, Ack>(self, normal, "peer.route"),
    forward<PortsPublishRequest, Ack>(self, normal, "ports.publish"),
    forward<PortsUnpublishRequest, Ack>(self, normal, "ports.unpublish"),
    [self](reconnect_atom) { connect(self); },
    [self](listen_atom, caf::actor& listener) { self->state.listeners.push_back(std::move(listener)); },
    [self](ping_atom) {
      auto& st = self->state;
      if (!st.helper)
        return;
      auto pinged = st.connection;
      Envelope env;
      env.credential = st.config.credential;
      self->request(st.helper, ping_timeout, HelperInfoRequest{env})
        .then(
          [self, pinged](HelperInfo&) {
            auto& st = self->state;
            if (!st.helper || st.connection != pinged)
              return; // a ping of a lost connection; the new one pings itself
            st.missed_pings = 0;
            self->delayed_send(self, ping_interval, ping_atom::value);
          },
          [self, pinged](caf::error& err) {
            auto& st = self->state;
            if (!st.helper || st.connection != pinged)
              return;
            bool missed = err.category() == caf::atom("system")
                          && static_cast<caf::sec>(err.code()) == caf::sec::request_timeout;
            if (missed && ++st.missed_pings < max_missed_pings) {
              log_.info("helper ping missed", {{"port", st.config.port},
                                               {"missed", st.missed_pings}});
              self->send(self, ping_atom::value); // slow, not gone: ask again
              return;
            }
            log_.warn("helper ping failed", {{"port", st.config.port},
                                             {"missed", st.missed_pings},
                                             {"error", view(err).message}});
            lost(self, "helper did not answer its pings; reconnecting");
          });
    },
  };
}

} // namespace

void watch_helper_link(const helper_actor& link, const caf::actor& listener) {
  caf::anon_send(caf::actor_cast<caf::actor>(link), listen_atom::value, listener);
}

helper_actor spawn_helper_link(caf::actor_system& sys, HelperLinkConfig config) {
  return caf::actor_cast<helper_actor>(sys.spawn(link_behavior, std::move(config)));
}

} // namespace banger
