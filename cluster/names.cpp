// Name ownership: every VM name has one owner host (rendezvous hashing over
// cluster.hosts, messages/cluster_hosts.hpp) whose table is the single
// writer for that name: reserve -> create on the target -> bind, or
// release on failure; a deleted VM drops its binding; when a link comes up
// each side tells the other which of its VMs' names the other owns, which
// repairs what a host could not say while the link was down.
#include "cluster/cluster_state.hpp"

#include "messages/excerpt.hpp"

namespace banger::cluster {

namespace {

constexpr auto name_call_timeout = std::chrono::seconds(3);

const ClusterHost& owner_of(Self self, const std::string& name) {
  return name_owner(self->state.init.hosts, name);
}

bool is_self(Self self, const std::string& id) {
  return id == self->state.init.self_id;
}

/// Persists a table change (SaveNames, one group commit), then `done`:
/// durable before anyone is told.
void persist(Self self, const Envelope& env, NameChanges changes,
             std::function<void(const caf::error&)> done) {
  if (changes.empty()) {
    done({});
    return;
  }
  SaveNames save{std::move(changes.upsert), std::move(changes.erase)};
  self->request(self->state.init.store, caf::infinite, std::move(save))
    .then([done](Ack&) { done({}); }, [done, env](caf::error& err) { done(with_op_id(err, env.op_id)); });
}

void apply_locally(Self self, const Envelope& env, Result<NameChanges> changes,
                   std::function<void(const caf::error&)> done) {
  if (!changes) {
    done(to_caf_error(changes.error(), env.op_id));
    return;
  }
  persist(self, env, std::move(*changes), std::move(done));
}

/// The same for a peer's request: the reply waits for the commit.
caf::result<Ack> applied(Self self, const Envelope& env, Result<NameChanges> changes) {
  if (!changes)
    return to_caf_error(changes.error(), env.op_id);
  if (changes->empty())
    return Ack{env.op_id};
  auto promise = self->make_response_promise<Ack>();
  persist(self, env, std::move(*changes), [promise, env](const caf::error& err) mutable {
    if (err)
      promise.deliver(err);
    else
      promise.deliver(Ack{env.op_id});
  });
  return promise;
}

caf::error owner_unreachable(const std::string& name, const std::string& owner, const std::string& op_id) {
  return make_error(Errc::host_unavailable,
                    "the name " + excerpt(name) + " is kept unique by its owner, host " + owner
                      + ", which cannot be reached; create it when " + owner
                      + " is back, or pick another name (docs/cluster.md)",
                    op_id);
}

} // namespace

void reserve_name(Self self, const Envelope& env, const std::string& name, const std::string& host,
                  std::function<void(const caf::error&)> done) {
  const auto& owner = owner_of(self, name);
  if (is_self(self, owner.id)) {
    apply_locally(self, env, self->state.names.reserve(name, host, env.op_id, now_us()), done);
    return;
  }
  auto owner_id = owner.id;
  call_peer<Ack>(
    self, owner_id, NameReserveRequest{env, name, host}, name_call_timeout,
    [done](Ack&) { done({}); },
    [done, name, owner_id, env](const caf::error& err) {
      done(view(err).code == Errc::host_unavailable ? owner_unreachable(name, owner_id, env.op_id) : err);
    });
}

void settle_name(Self self, const Envelope& env, const std::string& name, const std::string& vm_id) {
  const auto& owner = owner_of(self, name);
  auto& st = self->state;
  auto report = [env, name, vm_id](const caf::error& err) {
    if (err)
      log_.error(vm_id.empty() ? "cannot release the name of a failed create"
                               : "cannot bind the name of a created VM",
                 {{"op_id", env.op_id}, {"vm", name}, {"vm_id", vm_id}, {"error", view(err).message}});
  };
  if (is_self(self, owner.id)) {
    apply_locally(self, env,
                  vm_id.empty() ? Result<NameChanges>{st.names.release(name, env.op_id)}
                                : st.names.bind(name, env.op_id, vm_id, st.init.self_id),
                  report);
    return;
  }
  auto owner_id = owner.id;
  // Nothing is sent again from here: a binding the owner missed comes with
  // the names this host holds when the link is back (send_names_held), and
  // a reservation it missed the release of expires.
  auto on_failure = [owner_id, env, name, bind = !vm_id.empty()](const caf::error& err) {
    if (view(err).code != Errc::host_unavailable) {
      log_.error("the name's owner refused", {{"op_id", env.op_id}, {"vm", name}, {"host", owner_id},
                                               {"error", view(err).message}});
      return;
    }
    log_.warn(bind ? "name owner unreachable; the binding goes with this host's names when it is back"
                   : "name owner unreachable; the reservation expires there",
              {{"op_id", env.op_id}, {"vm", name}, {"host", owner_id}});
  };
  if (vm_id.empty())
    call_peer<Ack>(self, owner_id, NameReleaseRequest{env, name}, name_call_timeout, [](Ack&) {},
                   on_failure);
  else
    call_peer<Ack>(self, owner_id, NameBindRequest{env, name, vm_id, st.init.self_id},
                   name_call_timeout, [](Ack&) {}, on_failure);
}

void name_dropped(Self self, const VmRetired& retired) {
  if (retired.name.empty())
    return;
  const auto& owner = owner_of(self, retired.name);
  Envelope env;
  if (is_self(self, owner.id)) {
    apply_locally(self, env, self->state.names.drop(retired.name, retired.id), [](const caf::error&) {});
    return;
  }
  call_peer<Ack>(self, owner.id, NameDropRequest{env, retired.name, retired.id}, name_call_timeout,
                 [](Ack&) {}, [](const caf::error&) {}); // repaired by NamesHeld when it is back
}

void send_names_held(Self self, const std::string& peer_id) {
  Envelope env;
  self->request(self->state.init.directory, caf::infinite, VmListRequest{env})
    .then(
      [self, peer_id, env](VmList& list) {
        NamesHeldRequest held{env, self->state.init.self_id, {}};
        for (auto& vm : list.vms)
          if (owner_of(self, vm.name).id == peer_id)
            held.held.push_back(NameBinding{vm.name, self->state.init.self_id, vm.id, {}, true, 0});
        call_peer<Ack>(self, peer_id, std::move(held), std::chrono::seconds(10), [](Ack&) {},
                       [peer_id](const caf::error& err) {
                         log_.warn("cannot send the names this host holds",
                                   {{"host", peer_id}, {"error", view(err).message}});
                       });
      },
      [](caf::error&) {});
}

std::vector<NameBinding> owned_bindings_of(Self self, const std::vector<std::string>& hosts) {
  return self->state.names.bindings_of(hosts);
}

caf::result<Ack> on_name_reserve(Self self, NameReserveRequest& req) {
  return applied(self, req.env, self->state.names.reserve(req.name, req.host, req.env.op_id, now_us()));
}

caf::result<Ack> on_name_bind(Self self, NameBindRequest& req) {
  return applied(self, req.env,
                 self->state.names.bind(req.name, req.env.op_id, req.vm_id, req.host));
}

caf::result<Ack> on_name_release(Self self, NameReleaseRequest& req) {
  return applied(self, req.env, self->state.names.release(req.name, req.env.op_id));
}

caf::result<Ack> on_name_drop(Self self, NameDropRequest& req) {
  return applied(self, req.env, self->state.names.drop(req.name, req.vm_id));
}

caf::result<Ack> on_names_held(Self self, NamesHeldRequest& req) {
  auto reconciled = self->state.names.reconcile(req.host, req.held, now_us());
  for (auto& conflict : reconciled.conflicts)
    log_.error("two hosts hold a VM of one name", {{"vm", conflict.name},
                                                  {"host", req.host},
                                                  {"vm_id", conflict.held.vm_id},
                                                  {"holder", conflict.holder.host},
                                                  {"holder_vm_id", conflict.holder.vm_id}});
  return applied(self, req.env, std::move(reconciled.changes));
}

} // namespace banger::cluster
