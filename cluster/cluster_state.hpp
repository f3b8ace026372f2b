// The state of the cluster actor and the pieces its files share. One
// actor owns all of it: links (cluster/links.cpp), routing
// (cluster/routing.cpp), names (cluster/names.cpp).
#pragma once

#include "cluster/cluster_actor.hpp"
#include "messages/sheltered.hpp"
#include "cluster/name_table.hpp"
#include "messages/error.hpp"
#include "messages/in_flight.hpp"
#include "messages/log.hpp"

#include <caf/all.hpp>

#include <map>
#include <optional>

namespace banger::cluster {

using tick_atom = caf::atom_constant<caf::atom("cltick")>;
using dial_atom = caf::atom_constant<caf::atom("cldial")>;
using watch_op_atom = caf::atom_constant<caf::atom("clwatchop")>;
using route_atom = caf::atom_constant<caf::atom("clroute")>;

inline const log::Logger log_{"cluster"};

enum class LinkState { down, up, suspect };

inline const char* to_string(LinkState s) {
  switch (s) {
    case LinkState::up:
      return "up";
    case LinkState::suspect:
      return "suspect";
    case LinkState::down:
      return "down";
  }
  return "down";
}

/// One other member and the link to it.
struct Peer {
  ClusterHost host;
  LinkState state = LinkState::down;
  std::int64_t since_us = 0;
  host_actor actor;        ///< its host actor while the link is up
  std::string their_token; ///< sent in Envelope::credential to it
  std::string my_token;    ///< what it sends to this host
  std::uint64_t epoch = 0;
  std::string version;
  std::string subnet;
  std::int64_t rtt_us = 0;
  HostPong last;
  /// This side dials (lower id): a dial is in progress / the next delay.
  bool dialing = false;
  std::chrono::milliseconds backoff{250};
  int missed_pings = 0;
  bool ping_outstanding = false;
  /// Requests sent over the current link, failed the moment it drops.
  InFlight in_flight;
  bool ever_up = false;
  /// Failed attempts at routing its guest subnet on this link (route_peer),
  /// and whether another attempt is scheduled (one at a time, however often
  /// the link comes up while banger-helper is away).
  int route_failures = 0;
  bool route_retry_pending = false;
};

struct ClusterState {
  ClusterState() = default; // not an aggregate: CAF must not build it from `self`
  ClusterInit init;
  std::uint64_t epoch = 0;
  std::map<std::string, Peer> peers; ///< by id, self excluded
  std::map<std::string, std::string> peer_by_token; ///< my_token -> peer id
  /// Challenges this host handed out and not yet used: nonce -> expiry (µs).
  std::map<std::string, std::int64_t> challenges;
  /// This host's own figures, as a pong would give them (refreshed each tick).
  HostPong self_capacity;
  HostCapacity self_totals;
  NameTable names; ///< the names this host owns
  std::int64_t started_us = 0;
  static inline const char* name = "cluster";
};

using Impl = cluster_actor::extend<caf::reacts_to<tick_atom>, caf::reacts_to<dial_atom, std::string>,
                                   caf::reacts_to<watch_op_atom, std::string, std::string>,
                                   caf::reacts_to<route_atom, std::string>>;
using Self = sheltered_pointer<Impl, ClusterState>;

/// Who sent a request, by its Envelope::credential.
struct Caller {
  enum Kind { nobody, local, peer } kind = nobody;
  std::string peer_id;
};
Caller caller_of(Self self, const Envelope& env);

/// The refusal of a request without a valid credential, logged.
caf::error refuse(const Envelope& env, const char* what);

caf::error unavailable(const std::string& host_id, const std::string& why, const std::string& op_id);

/// Sends `request` to `peer_id` over its link; exactly one of `ok` and
/// `fail` runs: the reply, the peer's error, a timeout (host_unavailable),
/// or the link's loss (host_unavailable, at once).
template <class Reply, class Request, class Ok, class Fail>
void call_peer(Self self, const std::string& peer_id, Request request, std::chrono::milliseconds timeout, Ok ok,
               Fail fail) {
  auto& st = self->state;
  auto it = st.peers.find(peer_id);
  auto op_id = request.env.op_id;
  if (it == st.peers.end() || it->second.state == LinkState::down || !it->second.actor) {
    fail(unavailable(peer_id, "is down", op_id));
    return;
  }
  auto& peer = it->second;
  request.env.credential = peer.their_token;
  request.env.version = protocol_version;
  auto id = peer.in_flight.add([fail, peer_id, op_id](const caf::error&) mutable {
    fail(unavailable(peer_id, "went down while the request was in flight", op_id));
  });
  self->request(peer.actor, timeout, std::move(request))
    .then(
      [self, peer_id, id, ok](Reply& reply) mutable {
        auto p = self->state.peers.find(peer_id);
        if (p != self->state.peers.end() && p->second.in_flight.settle(id))
          ok(reply);
      },
      [self, peer_id, id, fail, op_id](caf::error& err) mutable {
        auto p = self->state.peers.find(peer_id);
        if (p == self->state.peers.end() || !p->second.in_flight.settle(id))
          return;
        auto v = view(err);
        if (v.from_caf)
          fail(unavailable(peer_id, v.peer_lost ? "is not reachable" : "did not answer in time", op_id));
        else
          fail(err);
      });
}

/// Hosts whose links are up (or suspect: still answering, only slowly).
std::vector<std::string> reachable_peers(const ClusterState& st);

// links.cpp
void start_links(Self self);
void on_tick(Self self);
void dial(Self self, const std::string& peer_id);
void on_down(Self self, const caf::down_msg& down);
caf::result<HostChallenge> on_challenge(Self self, const HostChallengeRequest& req);
caf::result<HostWelcome> on_hello(Self self, HostHelloRequest& req);
HostIntro my_intro(Self self, const std::string& to_id, std::string token);
/// Has banger-helper route `peer_id`'s guest subnet via its cluster
/// address while its link is up (again after a failure, every second).
void route_peer(Self self, const std::string& peer_id);
/// The scheduled attempt of route_peer (route_atom).
void retry_route(Self self, const std::string& peer_id);

// routing.cpp
caf::result<VmRecord> route_show(Self self, VmShowRequest& req);
caf::result<VmRecord> route_action(Self self, VmActionRequest& req);
caf::result<VmList> route_list(Self self, VmListRequest& req);
caf::result<OperationStatus> route_op_status(Self self, OpStatusRequest& req);
caf::result<VmLogChunk> route_log_read(Self self, VmLogReadRequest& req);
caf::result<VmRecord> route_create(Self self, VmCreateRequest& req);
/// A clone is made on its source's host: the source resolved cluster-wide,
/// the clone's name reserved at its owner, then the clone asked of that host.
caf::result<VmRecord> route_clone(Self self, VmCloneRequest& req);
caf::result<OpAccepted> route_create_begin(Self self, VmCreateBeginRequest& req);
caf::result<VmRecord> local_show(Self self, VmShowRequest& req);
caf::result<VmRecord> local_action(Self self, VmActionRequest& req);
caf::result<HostListReply> local_list(Self self, HostListRequest& req);
caf::result<OperationStatus> local_op_status(Self self, OpStatusRequest& req);
caf::result<VmLogChunk> local_log_read(Self self, VmLogReadRequest& req);
/// The guest agent's requests (vm exec, vm cp), to the VM's own host.
caf::result<VmSessionStarted> route_exec(Self self, VmExecRequest& req);
caf::result<VmSessionIo> route_session_io(Self self, VmSessionIoRequest& req);
caf::result<VmSessionStarted> route_file_read(Self self, VmFileReadRequest& req);
caf::result<VmFileWritten> route_file_write(Self self, VmFileWriteRequest& req);
caf::result<VmSessionStarted> local_exec(Self self, VmExecRequest& req);
caf::result<VmSessionIo> local_session_io(Self self, VmSessionIoRequest& req);
caf::result<VmSessionStarted> local_file_read(Self self, VmFileReadRequest& req);
caf::result<VmFileWritten> local_file_write(Self self, VmFileWriteRequest& req);
caf::result<VmRecord> create_here(Self self, VmCreateRequest& req);
/// A peer's clone of one of this host's VMs (its name already reserved).
caf::result<VmRecord> clone_here(Self self, VmCloneRequest& req);
caf::result<OpAccepted> create_begin_here(Self self, VmCreateBeginRequest& req);
void on_watch_op(Self self, const std::string& op_id, const std::string& name);
ClusterStatus cluster_status(Self self);

// names.cpp
/// Reserves `name` for env.op_id on `host` at the name's owner (this host
/// or a peer); `done` gets an empty error on success.
void reserve_name(Self self, const Envelope& env, const std::string& name, const std::string& host,
                  std::function<void(const caf::error&)> done);
/// After a create ran here: bind (vm_id non-empty) or release the name at
/// its owner; retried when the owner is back if it is down now.
void settle_name(Self self, const Envelope& env, const std::string& name, const std::string& vm_id);
void name_dropped(Self self, const VmRetired& retired);
void send_names_held(Self self, const std::string& peer_id);
std::vector<NameBinding> owned_bindings_of(Self self, const std::vector<std::string>& hosts);
caf::result<Ack> on_name_reserve(Self self, NameReserveRequest& req);
caf::result<Ack> on_name_bind(Self self, NameBindRequest& req);
caf::result<Ack> on_name_release(Self self, NameReleaseRequest& req);
caf::result<Ack> on_name_drop(Self self, NameDropRequest& req);
caf::result<Ack> on_names_held(Self self, NamesHeldRequest& req);

} // namespace banger::cluster
