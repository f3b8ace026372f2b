// Host links: one per pair, dialed by the lower id (CAF 0.17 races when
// both sides dial), opened by the challenge/hello handshake of
// messages/host_protocol.hpp, watched three ways: CAF's heartbeats drop a
// silent connection after cluster.link-timeout (its down message ends the
// link), a monitor on the peer's host actor, and this file's ping every
// second, which marks a slow peer suspect before either fires. Each link
// that comes up has banger-helper route the peer's guest subnet via the
// peer's cluster address (route_peer), so guests are reachable from every
// host.
#include "cluster/cluster_state.hpp"

#include "messages/excerpt.hpp"
#include "messages/host_network.hpp"
#include "messages/op_id.hpp"

#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>

#include <openssl/crypto.h>

namespace banger::cluster {

namespace {

constexpr auto ping_interval = std::chrono::milliseconds(1000);
constexpr auto ping_timeout = std::chrono::milliseconds(1000);
constexpr auto first_backoff = std::chrono::milliseconds(250);
constexpr auto max_backoff = std::chrono::milliseconds(2000);
constexpr auto challenge_lifetime_us = std::int64_t{10'000'000};
constexpr std::size_t max_challenges = 256;

caf::io::middleman_actor connector(caf::actor_system& sys) {
  return sys.openssl_manager().actor_handle();
}

bool overlaps(const std::string& a, const std::string& b) {
  auto x = parse_ipv4_subnet(a);
  auto y = parse_ipv4_subnet(b);
  if (!x || !y)
    return true; // a subnet that does not parse is refused like an overlap
  auto mask = std::min(x->prefix_length, y->prefix_length);
  std::uint32_t m = mask == 0 ? 0 : ~std::uint32_t{0} << (32 - mask);
  return (x->network & m) == (y->network & m);
}

void set_state(Peer& peer, LinkState state, const std::string& why) {
  if (peer.state == state)
    return;
  auto was = peer.state;
  peer.state = state;
  peer.since_us = now_us();
  log::Attrs attrs{{"host", peer.host.id}, {"from", to_string(was)}, {"to", to_string(state)},
                   {"why", why}};
  if (state == LinkState::up)
    attrs.emplace_back("epoch", std::to_string(peer.epoch));
  (state == LinkState::up ? log_.info("host link state", attrs) : log_.warn("host link state", attrs));
}

/// The link is gone: forget the peer's actor and token, fail what is in
/// flight, and (on the dialing side) dial again after a back-off.
void link_lost(Self self, Peer& peer, const std::string& why) {
  if (peer.actor)
    self->demonitor(peer.actor.address());
  peer.actor = nullptr;
  if (!peer.my_token.empty())
    self->state.peer_by_token.erase(peer.my_token);
  peer.my_token.clear();
  peer.their_token.clear();
  peer.missed_pings = 0;
  peer.ping_outstanding = false;
  set_state(peer, LinkState::down, why);
  peer.in_flight.fail_all(caf::error{});
  if (dials(self->state.init.self_id, peer.host.id) && !peer.dialing) {
    // The middleman keeps the dead connection's result for this
    // host:port until its own down message: dialing at once can return
    // the dead handle (CAF-NOTES.md). Back off first.
    peer.dialing = true;
    self->delayed_send(self, peer.backoff, dial_atom::value, peer.host.id);
    peer.backoff = std::min(peer.backoff * 2, max_backoff);
  }
}

/// The handshake succeeded (either side): the link is up.
void link_up(Self self, Peer& peer, host_actor actor, const HostIntro& theirs, std::string my_token) {
  auto& st = self->state;
  if (peer.actor && peer.actor != actor)
    link_lost(self, peer, "replaced by a new link");
  if (!peer.my_token.empty())
    st.peer_by_token.erase(peer.my_token);
  bool new_incarnation = peer.ever_up && peer.epoch != theirs.epoch;
  peer.actor = std::move(actor);
  peer.their_token = theirs.token;
  peer.my_token = std::move(my_token);
  st.peer_by_token[peer.my_token] = peer.host.id;
  peer.epoch = theirs.epoch;
  peer.version = theirs.version;
  peer.subnet = theirs.subnet;
  peer.last.cpus_free = theirs.cpus;
  peer.last.memory_free_mib = theirs.memory_mib;
  peer.backoff = first_backoff;
  peer.missed_pings = 0;
  peer.ever_up = true;
  peer.route_failures = 0;
  self->monitor(peer.actor);
  set_state(peer, LinkState::up, new_incarnation ? "rejoined with a new epoch" : "handshake done");
  send_names_held(self, peer.host.id);
  route_peer(self, peer.host.id);
}

/// Checks what both directions of the handshake check about the other side.
std::optional<std::string> check_intro(Self self, const HostIntro& intro, const std::string& challenge,
                                       const std::string& signature, const std::string& expected_id) {
  auto& st = self->state;
  if (!expected_id.empty() && intro.host_id != expected_id)
    return "expected host " + expected_id + " but " + intro.host_id + " answered";
  if (!st.peers.count(intro.host_id))
    return "host " + intro.host_id + " is not in cluster.hosts";
  if (intro.to_id != st.init.self_id)
    return "host " + intro.host_id + " meant to reach " + intro.to_id + ", this is " + st.init.self_id;
  if (intro.protocol != protocol_version)
    return "host " + intro.host_id + " speaks protocol " + std::to_string(intro.protocol)
           + ", this host " + std::to_string(protocol_version);
  if (intro.nonce.size() != 32 || intro.token.size() != 32)
    return "host " + intro.host_id + " sent a malformed nonce or token";
  if (auto ok = verify_intro(st.init.credential.ca(), intro, challenge, signature); !ok)
    return ok.error().message;
  if (overlaps(intro.subnet, st.init.subnet))
    return "host " + intro.host_id + "'s guest subnet " + intro.subnet + " overlaps this host's "
           + st.init.subnet;
  for (auto& [id, peer] : st.peers)
    if (id != intro.host_id && peer.state != LinkState::down && overlaps(intro.subnet, peer.subnet))
      return "host " + intro.host_id + "'s guest subnet " + intro.subnet + " overlaps host " + id + "'s";
  return std::nullopt;
}

void ping(Self self, Peer& peer) {
  if (peer.ping_outstanding || peer.state == LinkState::down)
    return;
  peer.ping_outstanding = true;
  auto id = peer.host.id;
  auto sent = now_us();
  auto actor = peer.actor;
  call_peer<HostPong>(
    self, id, HostPing{Envelope{}}, ping_timeout,
    [self, id, sent](HostPong& pong) {
      auto& peer = self->state.peers.at(id);
      peer.ping_outstanding = false;
      peer.rtt_us = now_us() - sent;
      peer.last = pong;
      peer.missed_pings = 0;
      if (peer.state == LinkState::suspect)
        set_state(peer, LinkState::up, "answers pings again");
    },
    [self, id, actor](const caf::error&) {
      auto& peer = self->state.peers.at(id);
      if (peer.actor != actor)
        return; // an old link's ping
      peer.ping_outstanding = false;
      if (peer.state == LinkState::down)
        return;
      ++peer.missed_pings;
      set_state(peer, LinkState::suspect, "a ping went unanswered for 1 s");
    });
}

} // namespace

HostIntro my_intro(Self self, const std::string& to_id, std::string token) {
  auto& st = self->state;
  HostIntro intro;
  intro.host_id = st.init.self_id;
  intro.to_id = to_id;
  intro.epoch = st.epoch;
  intro.protocol = protocol_version;
  intro.version = st.init.version;
  intro.subnet = st.init.subnet;
  intro.cpus = st.self_totals.cpus_total;
  intro.memory_mib = st.self_totals.memory_total_mib;
  intro.certificate = st.init.credential.certificate_pem();
  intro.nonce = random_hex(16);
  intro.token = std::move(token);
  return intro;
}

void route_peer(Self self, const std::string& peer_id) {
  auto& st = self->state;
  auto it = st.peers.find(peer_id);
  if (it == st.peers.end() || it->second.state == LinkState::down || !st.init.helper)
    return;
  auto& peer = it->second;
  Envelope env;
  env.op_id = mint_op_id();
  log::Attrs attrs{{"op_id", env.op_id}, {"host", peer_id}, {"subnet", peer.subnet},
                   {"via", peer.host.address}};
  auto actor = peer.actor;
  self->request(st.init.helper, std::chrono::seconds(15), PeerRouteRequest{env, peer.subnet, peer.host.address})
    .then([attrs](Ack&) { log_.info("route to a peer's guest subnet in place", attrs); },
          [self, peer_id, actor, attrs](caf::error& err) mutable {
            auto v = view(err);
            auto& peer = self->state.peers.at(peer_id);
            if (peer.actor != actor)
              return; // that link is gone; the next one routes again
            attrs.emplace_back("error", v.message);
            // A helper that is down or restarting answers again soon; a
            // refusal is final (the peer's address or subnet will not change
            // on this link). One warning per link, not one per retry.
            bool retry = v.code == Errc::helper_unavailable || v.code == Errc::timeout;
            if (peer.route_failures++ == 0 || !retry)
              log_.warn("cannot route to a peer's guest subnet", attrs);
            if (retry && !peer.route_retry_pending) {
              peer.route_retry_pending = true;
              self->delayed_send(self, std::chrono::seconds(1), route_atom::value, peer_id);
            }
          });
}

void retry_route(Self self, const std::string& peer_id) {
  if (auto it = self->state.peers.find(peer_id); it != self->state.peers.end()) {
    it->second.route_retry_pending = false;
    route_peer(self, peer_id);
  }
}

std::vector<std::string> reachable_peers(const ClusterState& st) {
  std::vector<std::string> out;
  for (auto& [id, peer] : st.peers)
    if (peer.state != LinkState::down && peer.actor)
      out.push_back(id);
  return out;
}

Caller caller_of(Self self, const Envelope& env) {
  auto& st = self->state;
  const auto& token = env.credential;
  if (token.size() == st.init.local_token.size()
      && CRYPTO_memcmp(token.data(), st.init.local_token.data(), token.size()) == 0)
    return {Caller::local, {}};
  if (auto it = st.peer_by_token.find(token); it != st.peer_by_token.end() && !token.empty())
    return {Caller::peer, it->second};
  return {};
}

caf::error refuse(const Envelope& env, const char* what) {
  log_.warn("host request refused: no valid host link credential",
            {{"op_id", env.op_id}, {"request", what}});
  return make_error(Errc::unauthenticated, "this request needs an open host link (docs/cluster.md)",
                    env.op_id);
}

caf::error unavailable(const std::string& host_id, const std::string& why, const std::string& op_id) {
  return make_error(Errc::host_unavailable, "cluster host " + host_id + " " + why, op_id);
}

void start_links(Self self) {
  auto& st = self->state;
  for (auto& [id, peer] : st.peers)
    if (dials(st.init.self_id, id)) {
      peer.dialing = true;
      self->send(self, dial_atom::value, id);
    }
}

void dial(Self self, const std::string& peer_id) {
  auto& st = self->state;
  auto it = st.peers.find(peer_id);
  if (it == st.peers.end())
    return;
  auto& peer = it->second;
  if (peer.state != LinkState::down) {
    peer.dialing = false;
    return;
  }
  peer.dialing = true;
  auto retry = [self, peer_id](const std::string& why) {
    auto& peer = self->state.peers.at(peer_id);
    log_.debug("host link dial failed", {{"host", peer_id}, {"error", why}});
    self->delayed_send(self, peer.backoff, dial_atom::value, peer_id);
    peer.backoff = std::min(peer.backoff * 2, max_backoff);
  };
  auto timeout = st.init.link_timeout + std::chrono::seconds(1);
  self->request(connector(self->system()), timeout, caf::connect_atom::value, peer.host.address, peer.host.port)
    .then(
      [self, peer_id, retry](const caf::node_id&, caf::strong_actor_ptr& ptr,
                             const std::set<std::string>& ifs) {
        if (!ptr || ifs != self->system().message_types<host_actor>()) {
          retry("the actor at the host link address is not a banger host");
          return;
        }
        auto remote = caf::actor_cast<host_actor>(std::move(ptr));
        Envelope env;
        self->request(remote, std::chrono::seconds(3), HostChallengeRequest{env})
          .then(
            [self, peer_id, retry, remote](HostChallenge& challenge) {
              auto& st = self->state;
              auto token = random_hex(16);
              auto intro = my_intro(self, peer_id, token);
              auto signature = st.init.credential.sign(signed_text(intro, challenge.nonce));
              if (!signature) {
                retry(signature.error().message);
                return;
              }
              HostHelloRequest hello{Envelope{}, intro, challenge.nonce, *signature,
                                     caf::actor_cast<caf::actor>(self)};
              self->request(remote, std::chrono::seconds(3), std::move(hello))
                .then(
                  [self, peer_id, retry, remote, intro, token](HostWelcome& welcome) {
                    auto problem = check_intro(self, welcome.intro, intro.nonce, welcome.signature, peer_id);
                    if (problem) {
                      log_.error("host link refused", {{"host", peer_id}, {"error", *problem}});
                      retry(*problem);
                      return;
                    }
                    auto& peer = self->state.peers.at(peer_id);
                    peer.dialing = false;
                    link_up(self, peer, caf::actor_cast<host_actor>(welcome.host), welcome.intro, token);
                  },
                  [self, peer_id, retry](caf::error& err) {
                    auto v = view(err);
                    if (!v.from_caf)
                      log_.error("host link refused by the peer", {{"host", peer_id}, {"error", v.message}});
                    retry(v.message);
                  });
            },
            [retry](caf::error& err) { retry(view(err).message); });
      },
      [self, retry](caf::error& err) { retry(self->system().render(err)); });
}

caf::result<HostChallenge> on_challenge(Self self, const HostChallengeRequest&) {
  auto& st = self->state;
  auto now = now_us();
  for (auto it = st.challenges.begin(); it != st.challenges.end();)
    it = it->second < now ? st.challenges.erase(it) : std::next(it);
  if (st.challenges.size() >= max_challenges)
    return make_error(Errc::busy, "too many host link handshakes in progress", {});
  auto nonce = random_hex(16);
  st.challenges.emplace(nonce, now + challenge_lifetime_us);
  return HostChallenge{nonce};
}

caf::result<HostWelcome> on_hello(Self self, HostHelloRequest& req) {
  auto& st = self->state;
  auto& intro = req.intro;
  auto refused = [&](const std::string& why) -> caf::result<HostWelcome> {
    log_.error("host link refused", {{"host", excerpt(intro.host_id)}, {"error", why}});
    return make_error(Errc::unauthenticated, "host link refused: " + why, req.env.op_id);
  };
  auto challenge = st.challenges.find(req.challenge);
  if (challenge == st.challenges.end() || challenge->second < now_us())
    return refused("the hello does not answer a live challenge of this host");
  st.challenges.erase(challenge);
  if (auto problem = check_intro(self, intro, req.challenge, req.signature, {}))
    return refused(*problem);
  if (!dials(intro.host_id, st.init.self_id))
    return refused("host " + intro.host_id + " dialed, but the lower id (" + st.init.self_id
                   + ") dials this pair");
  if (!req.host)
    return refused("host " + intro.host_id + " sent no host actor");
  auto token = random_hex(16);
  auto mine = my_intro(self, intro.host_id, token);
  auto signature = st.init.credential.sign(signed_text(mine, intro.nonce));
  if (!signature)
    return to_caf_error(signature.error(), req.env.op_id);
  auto& peer = st.peers.at(intro.host_id);
  link_up(self, peer, caf::actor_cast<host_actor>(req.host), intro, token);
  return HostWelcome{mine, *signature, caf::actor_cast<caf::actor>(self)};
}

void on_down(Self self, const caf::down_msg& down) {
  for (auto& [id, peer] : self->state.peers)
    if (peer.actor && peer.actor.address() == down.source) {
      link_lost(self, peer, "connection lost (" + self->system().render(down.reason) + ")");
      return;
    }
}

void on_tick(Self self) {
  // This host's own figures, for pongs, placement and cluster status.
  self->request(self->state.init.node, std::chrono::seconds(1), HostCapacityRequest{})
    .then(
      [self](HostCapacity& c) {
        auto& st = self->state;
        st.self_capacity = HostPong{st.epoch, c.vms, c.cpus_free, c.memory_free_mib};
        st.self_totals = c;
      },
      [](caf::error&) {});
  for (auto& [id, peer] : self->state.peers)
    if (peer.state != LinkState::down)
      ping(self, peer);
  self->delayed_send(self, ping_interval, tick_atom::value);
}

} // namespace banger::cluster
