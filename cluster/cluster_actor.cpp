#include "cluster/cluster_actor.hpp"

#include "cluster/cluster_state.hpp"

#include <openssl/rand.h>

namespace banger {

namespace {

using namespace cluster;

std::uint64_t random_epoch() {
  std::uint64_t epoch = 0;
  while (epoch == 0)
    if (RAND_bytes(reinterpret_cast<unsigned char*>(&epoch), sizeof epoch) != 1)
      std::abort();
  return epoch;
}

/// Each handler serves one caller kind: `local` for what control sends
/// (cluster-wide), `peer` for what a host link carries (this host only).
/// A request without either credential is refused and logged.
template <class Request>
bool from(Self self, const Request& req, Caller::Kind kind) {
  return caller_of(self, req.env).kind == kind;
}

Impl::behavior_type cluster_behavior(Self self, ClusterInit init) {
  auto& st = self->state;
  st.init = std::move(init);
  st.epoch = random_epoch();
  st.started_us = now_us();
  st.names.load(std::move(st.init.names));
  for (auto& host : st.init.hosts)
    if (host.id != st.init.self_id) {
      Peer peer;
      peer.host = host;
      peer.since_us = st.started_us;
      st.peers.emplace(host.id, std::move(peer));
    }
  self->set_down_handler([self](caf::down_msg& down) { on_down(self, down); });
  self->set_default_handler([](caf::scheduled_actor*, caf::message_view&) -> caf::result<caf::message> {
    return make_error(Errc::unknown_method, "a banger host does not understand this request", {});
  });
  caf::anon_send(st.init.directory, DirectoryWatch{caf::actor_cast<vm_events_actor>(self)});
  on_tick(self); // this host's figures before the first hello; ticks every second from here
  start_links(self);
  log_.info("cluster layer started", {{"host", st.init.self_id},
                                      {"hosts", static_cast<std::int64_t>(st.init.hosts.size())},
                                      {"epoch", std::to_string(st.epoch)}});
  return {
    // -- handshake: anyone holding a cluster TLS certificate may try -----
    [self](HostChallengeRequest& req) { return on_challenge(self, req); },
    [self](HostHelloRequest& req) { return on_hello(self, req); },
    // -- peers --------------------------------------------------------------
    [self](HostPing& req) -> caf::result<HostPong> {
      if (!from(self, req, Caller::peer))
        return refuse(req.env, "ping");
      auto pong = self->state.self_capacity;
      pong.epoch = self->state.epoch;
      return pong;
    },
    [self](HostListRequest& req) -> caf::result<HostListReply> {
      if (!from(self, req, Caller::peer))
        return refuse(req.env, "list");
      return local_list(self, req);
    },
    [self](NameReserveRequest& req) -> caf::result<Ack> {
      if (!from(self, req, Caller::peer))
        return refuse(req.env, "name reserve");
      return on_name_reserve(self, req);
    },
    [self](NameBindRequest& req) -> caf::result<Ack> {
      if (!from(self, req, Caller::peer))
        return refuse(req.env, "name bind");
      return on_name_bind(self, req);
    },
    [self](NameReleaseRequest& req) -> caf::result<Ack> {
      if (!from(self, req, Caller::peer))
        return refuse(req.env, "name release");
      return on_name_release(self, req);
    },
    [self](NameDropRequest& req) -> caf::result<Ack> {
      if (!from(self, req, Caller::peer))
        return refuse(req.env, "name drop");
      return on_name_drop(self, req);
    },
    [self](NamesHeldRequest& req) -> caf::result<Ack> {
      auto caller = caller_of(self, req.env);
      if (caller.kind != Caller::peer || caller.peer_id != req.host)
        return refuse(req.env, "names held");
      return on_names_held(self, req);
    },
    // -- VM requests: cluster-wide from control, this host's from peers ----
    [self](VmShowRequest& req) -> caf::result<VmRecord> {
      switch (caller_of(self, req.env).kind) {
        case Caller::local:
          return route_show(self, req);
        case Caller::peer:
          return local_show(self, req);
        default:
          return refuse(req.env, "vm show");
      }
    },
    [self](VmActionRequest& req) -> caf::result<VmRecord> {
      switch (caller_of(self, req.env).kind) {
        case Caller::local:
          return route_action(self, req);
        case Caller::peer:
          return local_action(self, req);
        default:
          return refuse(req.env, "vm action");
      }
    },
    [self](VmCreateRequest& req) -> caf::result<VmRecord> {
      switch (caller_of(self, req.env).kind) {
        case Caller::local:
          return route_create(self, req);
        case Caller::peer:
          return create_here(self, req);
        default:
          return refuse(req.env, "vm create");
      }
    },
    [self](VmCloneRequest& req) -> caf::result<VmRecord> {
      switch (caller_of(self, req.env).kind) {
        case Caller::local:
          return route_clone(self, req);
        case Caller::peer:
          return clone_here(self, req);
        default:
          return refuse(req.env, "vm clone");
      }
    },
    [self](VmCreateBeginRequest& req) -> caf::result<OpAccepted> {
      switch (caller_of(self, req.env).kind) {
        case Caller::local:
          return route_create_begin(self, req);
        case Caller::peer:
          return create_begin_here(self, req);
        default:
          return refuse(req.env, "vm create");
      }
    },
    [self](OpStatusRequest& req) -> caf::result<OperationStatus> {
      switch (caller_of(self, req.env).kind) {
        case Caller::local:
          return route_op_status(self, req);
        case Caller::peer:
          return local_op_status(self, req);
        default:
          return refuse(req.env, "op status");
      }
    },
    [self](VmLogReadRequest& req) -> caf::result<VmLogChunk> {
      switch (caller_of(self, req.env).kind) {
        case Caller::local:
          return route_log_read(self, req);
        case Caller::peer:
          return local_log_read(self, req);
        default:
          return refuse(req.env, "vm log read");
      }
    },
    [self](VmExecRequest& req) -> caf::result<VmSessionStarted> {
      switch (caller_of(self, req.env).kind) {
        case Caller::local:
          return route_exec(self, req);
        case Caller::peer:
          return local_exec(self, req);
        default:
          return refuse(req.env, "vm exec");
      }
    },
    [self](VmSessionIoRequest& req) -> caf::result<VmSessionIo> {
      switch (caller_of(self, req.env).kind) {
        case Caller::local:
          return route_session_io(self, req);
        case Caller::peer:
          return local_session_io(self, req);
        default:
          return refuse(req.env, "vm exec");
      }
    },
    [self](VmFileReadRequest& req) -> caf::result<VmSessionStarted> {
      switch (caller_of(self, req.env).kind) {
        case Caller::local:
          return route_file_read(self, req);
        case Caller::peer:
          return local_file_read(self, req);
        default:
          return refuse(req.env, "vm cp");
      }
    },
    [self](VmFileWriteRequest& req) -> caf::result<VmFileWritten> {
      switch (caller_of(self, req.env).kind) {
        case Caller::local:
          return route_file_write(self, req);
        case Caller::peer:
          return local_file_write(self, req);
        default:
          return refuse(req.env, "vm cp");
      }
    },
    // -- control only -------------------------------------------------------
    [self](ClusterStatusRequest& req) -> caf::result<ClusterStatus> {
      if (!from(self, req, Caller::local))
        return refuse(req.env, "cluster status");
      return cluster_status(self);
    },
    [self](VmListRequest& req) -> caf::result<VmList> {
      if (!from(self, req, Caller::local))
        return refuse(req.env, "vm list");
      return route_list(self, req);
    },
    // -- this host ---------------------------------------------------------
    [](VmChanged&) {
      // nop: names follow creates and deletions only
    },
    [self](VmRetired& retired) {
      if (self->current_sender() == caf::actor_cast<caf::strong_actor_ptr>(self->state.init.directory))
        name_dropped(self, retired);
    },
    [self](tick_atom) {
      // Only this actor's own timer ticks: a peer cannot speed it up.
      if (self->current_sender() == self->ctrl())
        on_tick(self);
    },
    [self](dial_atom, const std::string& peer_id) {
      if (self->current_sender() == self->ctrl())
        dial(self, peer_id);
    },
    [self](watch_op_atom, const std::string& op_id, const std::string& name) {
      if (self->current_sender() == self->ctrl())
        on_watch_op(self, op_id, name);
    },
    [self](route_atom, const std::string& peer_id) {
      if (self->current_sender() == self->ctrl())
        retry_route(self, peer_id);
    },
  };
}

} // namespace

cluster_actor spawn_cluster(caf::actor_system& sys, ClusterInit init) {
  return caf::actor_cast<cluster_actor>(sys.spawn(cluster_behavior, std::move(init)));
}

} // namespace banger
