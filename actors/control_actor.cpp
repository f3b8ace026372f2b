#include "actors/control_actor.hpp"
#include "messages/sheltered.hpp"

#include "actors/admission.hpp"
#include "actors/doctor.hpp"
#include "actors/log_read.hpp"
#include "actors/route.hpp"
#include "messages/error.hpp"
#include "messages/excerpt.hpp"
#include "messages/log.hpp"
#include "messages/op_id.hpp"

#include <caf/all.hpp>

namespace banger {

namespace {

const log::Logger log_{"control"};

struct ControlState {
  ControlState() = default; // not an aggregate: CAF must not build it from `self`
  ControlDeps deps;
  static inline const char* name = "control";
};

using Self = sheltered_pointer<control_actor, ControlState>;

/// Checks the envelope and fills in the op_id; an error means "reply with it".
std::optional<caf::error> admit(Envelope& env) {
  if (env.op_id.empty())
    env.op_id = mint_op_id();
  else if (!is_valid_op_id(env.op_id))
    return make_error(Errc::invalid_argument,
                      "malformed op id in request (want op- and 12 lowercase hex digits)",
                      mint_op_id());
  if (env.version != protocol_version)
    return make_error(Errc::bad_version,
                      "client speaks protocol " + std::to_string(env.version) + ", this bangerd speaks "
                        + std::to_string(protocol_version) + "; upgrade the older side",
                      env.op_id);
  return std::nullopt;
}

/// The envelope, then the request's own fields (actors/admission.hpp):
/// nothing malformed gets past the front door.
template <class Request>
std::optional<caf::error> admit(Request& request) {
  if (auto refused = admit(request.env))
    return refused;
  if (auto ok = admissible(request); !ok) {
    log_.info("request refused", {{"op_id", request.env.op_id}, {"type", typeid(Request).name()},
                                  {"error", ok.error().message}});
    return to_caf_error(ok.error(), request.env.op_id);
  }
  return std::nullopt;
}

/// Admits the request and relays it to `target`; the reply comes back here
/// and goes on to the caller (actors/route.hpp: no delegation).
template <class Reply, class Request, class Handle>
caf::result<Reply> forward(Self self, const Handle& target, Request& request) {
  if (auto refused = admit(request))
    return *refused;
  log_.debug("request", {{"op_id", request.env.op_id}, {"type", typeid(Request).name()}});
  auto promise = self->make_response_promise<Reply>();
  relay(self, target, std::move(request), promise);
  return promise;
}

/// Admits the request, resolves its ref at the directory and sends it to the
/// VM's actor (actors/route.hpp).
template <class Request>
caf::result<VmRecord> to_vm(Self self, Request& request) {
  if (auto refused = admit(request))
    return *refused;
  log_.debug("request", {{"op_id", request.env.op_id}, {"type", typeid(Request).name()}});
  auto promise = self->make_response_promise<VmRecord>();
  relay_to_vm(self, self->state.deps.directory, std::move(request), promise);
  return promise;
}

/// to_vm for requests whose reply is not a record (the guest agent's).
template <class Reply, class Request>
caf::result<Reply> to_vm_for(Self self, Request& request) {
  if (auto refused = admit(request))
    return *refused;
  auto promise = self->make_response_promise<Reply>();
  relay_to_vm(self, self->state.deps.directory, std::move(request), promise);
  return promise;
}

/// On a cluster member: admits the request and hands it to the cluster
/// layer as this host's front door (the local token), which answers it
/// for the whole cluster.
template <class Reply, class Request>
caf::result<Reply> to_cluster(Self self, Request& request) {
  if (auto refused = admit(request))
    return *refused;
  log_.debug("request", {{"op_id", request.env.op_id}, {"type", typeid(Request).name()}});
  request.env.credential = self->state.deps.cluster_token;
  auto promise = self->make_response_promise<Reply>();
  relay(self, self->state.deps.cluster, std::move(request), promise);
  return promise;
}

bool clustered(Self self) {
  return static_cast<bool>(self->state.deps.cluster);
}

} // namespace

namespace {

control_actor::behavior_type control_behavior(Self self, ControlDeps deps) {
  self->state.deps = std::move(deps);
  self->set_default_handler([](caf::scheduled_actor*, caf::message_view& msg) -> caf::result<caf::message> {
    auto op_id = mint_op_id();
    // Logged as much as an error would quote: the content is the client's.
    log_.warn("unknown request", {{"op_id", op_id}, {"message", excerpt(caf::to_string(msg.content()))}});
    return make_error(Errc::unknown_method, "bangerd does not understand this request", op_id);
  });
  auto& d = self->state.deps;
  return {
    [self](DaemonStatusRequest& req) -> caf::result<DaemonStatus> {
      if (auto refused = admit(req))
        return *refused;
      log_.debug("request", {{"op_id", req.env.op_id}, {"type", "daemon.status"}});
      auto& d = self->state.deps;
      auto promise = self->make_response_promise<DaemonStatus>();
      auto env = req.env;
      self->request(d.node, std::chrono::seconds(10), req)
        .then(
          [self, promise, env](DaemonStatus& status) mutable {
            auto& d = self->state.deps;
            status.version = d.version;
            status.protocol = protocol_version;
            status.home = d.home;
            status.vmm_kind = d.settings.vmm_kind;
            status.started_at_us = d.started_at_us;
            self->request(d.helper, std::chrono::seconds(3), HelperInfoRequest{env})
              .then(
                [promise, status](HelperInfo& info) mutable {
                  status.helper_reachable = true;
                  status.rootfs_strategies = info.rootfs_strategies;
                  status.accel = info.accel;
                  promise.deliver(status);
                },
                [promise, status](caf::error&) mutable {
                  status.helper_reachable = false;
                  promise.deliver(status);
                });
          },
          [promise, env](caf::error& err) mutable { promise.deliver(with_op_id(err, env.op_id)); });
      return promise;
    },
    [self, &d](ImageAddRequest& req) { return forward<Image>(self, d.images, req); },
    [self, &d](ImageAddBeginRequest& req) { return forward<OpAccepted>(self, d.images, req); },
    [self, &d](ImageAddStatusRequest& req) { return forward<ImageAddStatus>(self, d.images, req); },
    [self, &d](ImageListRequest& req) { return forward<ImageList>(self, d.images, req); },
    [self, &d](ImageShowRequest& req) { return forward<Image>(self, d.images, req); },
    [self, &d](ImageRemoveRequest& req) { return forward<Image>(self, d.images, req); },
    [self, &d](VmCreateRequest& req) {
      return clustered(self) ? to_cluster<VmRecord>(self, req) : forward<VmRecord>(self, d.node, req);
    },
    [self, &d](VmCloneRequest& req) {
      // On a cluster member the clone is made on its source's host
      // (cluster/routing.cpp route_clone).
      return clustered(self) ? to_cluster<VmRecord>(self, req) : forward<VmRecord>(self, d.node, req);
    },
    [self, &d](VmCreateBeginRequest& req) {
      return clustered(self) ? to_cluster<OpAccepted>(self, req) : forward<OpAccepted>(self, d.node, req);
    },
    [self, &d](OpStatusRequest& req) {
      return clustered(self) ? to_cluster<OperationStatus>(self, req)
                             : forward<OperationStatus>(self, d.operations, req);
    },
    [self, &d](VmListRequest& req) {
      return clustered(self) ? to_cluster<VmList>(self, req) : forward<VmList>(self, d.directory, req);
    },
    [self](VmShowRequest& req) { return clustered(self) ? to_cluster<VmRecord>(self, req) : to_vm(self, req); },
    [self](VmActionRequest& req) {
      return clustered(self) ? to_cluster<VmRecord>(self, req) : to_vm(self, req);
    },
    [self](VmLogReadRequest& req) -> caf::result<VmLogChunk> {
      if (clustered(self))
        return to_cluster<VmLogChunk>(self, req);
      if (auto refused = admit(req))
        return *refused;
      auto promise = self->make_response_promise<VmLogChunk>();
      read_vm_log(self, self->state.deps.directory, req, promise);
      return promise;
    },
    [self](VmExecRequest& req) {
      return clustered(self) ? to_cluster<VmSessionStarted>(self, req)
                             : to_vm_for<VmSessionStarted>(self, req);
    },
    [self](VmSessionIoRequest& req) {
      return clustered(self) ? to_cluster<VmSessionIo>(self, req) : to_vm_for<VmSessionIo>(self, req);
    },
    [self](VmFileReadRequest& req) {
      return clustered(self) ? to_cluster<VmSessionStarted>(self, req)
                             : to_vm_for<VmSessionStarted>(self, req);
    },
    [self](VmFileWriteRequest& req) {
      return clustered(self) ? to_cluster<VmFileWritten>(self, req)
                             : to_vm_for<VmFileWritten>(self, req);
    },
    [self](DoctorRequest& req) -> caf::result<DoctorReport> {
      // Admitted before the one-shot doctor exists: a refused request must
      // not leave an actor behind that no request will ever end.
      if (auto refused = admit(req))
        return *refused;
      auto& d = self->state.deps;
      auto doctor = spawn_doctor(self->system(), d.directory, d.helper, d.home);
      return forward<DoctorReport>(self, doctor, req);
    },
    [self](EventsRequest& req) -> caf::result<EventBatch> {
      auto& d = self->state.deps;
      if (!d.events) {
        if (auto refused = admit(req))
          return *refused;
        return make_error(Errc::internal, "this bangerd has no events actor", req.env.op_id);
      }
      // No timeout of control's own: the events actor answers every poll
      // by its wait_ms.
      return forward<EventBatch>(self, d.events, req);
    },
    [self](ClusterStatusRequest& req) -> caf::result<ClusterStatus> {
      if (clustered(self))
        return to_cluster<ClusterStatus>(self, req);
      if (auto refused = admit(req))
        return *refused;
      return make_error(Errc::conflict,
                        "this bangerd is not in a cluster (cluster.hosts is empty; docs/cluster.md)",
                        req.env.op_id);
    },
  };
}

} // namespace

control_actor spawn_control_actor(caf::actor_system& sys, ControlDeps deps) {
  return sys.spawn(control_behavior, std::move(deps));
}

} // namespace banger
