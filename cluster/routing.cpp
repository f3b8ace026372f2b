// Cluster-wide VM requests: resolve a ref on every reachable host, send the
// request to the one host that has the VM, merge listings, place new VMs.
// Requests from a peer are answered from this host's VMs only.
#include "cluster/cluster_state.hpp"

#include "actors/log_read.hpp"
#include "actors/route.hpp"
#include "actors/vm_names.hpp"
#include "messages/excerpt.hpp"

#include <algorithm>
#include <random>
#include <set>

namespace banger::cluster {

namespace {

/// How long a fan-out (resolve, listing, op lookup) waits for a host.
constexpr auto fan_out_timeout = std::chrono::milliseconds(1000);

const std::string& self_id(Self self) {
  return self->state.init.self_id;
}

bool exact(const VmRecord& vm, const std::string& ref) {
  return vm.id == ref || vm.name == ref;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (auto& item : items)
    out += (out.empty() ? "" : ", ") + item;
  return out;
}

std::vector<std::string> down_members(const ClusterState& st) {
  std::vector<std::string> out;
  for (auto& [id, peer] : st.peers)
    if (peer.state == LinkState::down || !peer.actor)
      out.push_back(id);
  return out;
}

using Resolved = std::function<void(VmRecord*, const caf::error&)>;

/// Which VM `ref` names in the cluster, and its host (VmRecord::host):
/// an exact id or name match anywhere wins at once (both are unique in
/// the cluster); a prefix must match exactly one VM on the hosts that
/// answered.
void resolve(Self self, const Envelope& env, const std::string& ref, Resolved done) {
  struct Gather {
    std::size_t waiting = 0;
    std::vector<VmRecord> found;
    std::vector<std::string> silent;
    bool ambiguous = false;
    bool settled = false;
  };
  auto gather = std::make_shared<Gather>();
  auto finish = [self, gather, env, ref, done]() {
    if (gather->settled || gather->waiting > 0)
      return;
    gather->settled = true;
    auto& found = gather->found;
    if (found.size() == 1 && !gather->ambiguous) {
      done(&found.front(), {});
      return;
    }
    if (!found.empty() || gather->ambiguous) {
      std::string names;
      for (auto& vm : found)
        names += (names.empty() ? "" : ", ") + vm.name + " (" + vm.id + " on " + vm.host + ")";
      done(nullptr, make_error(Errc::ambiguous, "VM id prefix " + excerpt(ref) + " matches several VMs"
                                                  + (names.empty() ? "" : ": " + names),
                               env.op_id));
      return;
    }
    auto unreachable = down_members(self->state);
    unreachable.insert(unreachable.end(), gather->silent.begin(), gather->silent.end());
    std::sort(unreachable.begin(), unreachable.end());
    // Not found is only said when every host answered: a VM of a host that
    // cannot be reached is not gone, and a caller that took not_found for
    // "deleted" might make another of that name.
    if (unreachable.empty()) {
      done(nullptr, make_error(Errc::not_found, "no VM named " + excerpt(ref) + " on any host",
                               env.op_id));
      return;
    }
    done(nullptr, make_error(Errc::host_unavailable,
                             "no VM named " + excerpt(ref) + " on the hosts that answered, and "
                               + join(unreachable) + " cannot be reached: it may be there",
                             env.op_id));
  };
  auto on_answer = [self, gather, ref, done, finish](VmRecord vm) {
    if (gather->settled)
      return;
    if (exact(vm, ref)) {
      gather->settled = true;
      done(&vm, {});
      return;
    }
    gather->found.push_back(std::move(vm));
    finish();
  };
  auto on_error = [gather, done, finish](const std::string& host, const caf::error& err) {
    if (gather->settled)
      return;
    auto v = view(err);
    if (v.code == Errc::ambiguous)
      gather->ambiguous = true;
    else if (v.code == Errc::busy) {
      // The VM exists but is still being created there.
      gather->settled = true;
      done(nullptr, err);
      return;
    } else if (v.code != Errc::not_found)
      gather->silent.push_back(host);
  };
  auto peers = reachable_peers(self->state);
  gather->waiting = peers.size() + 1;
  // This host first: its answer needs no network.
  ask_vm<VmRecord>(
    self, self->state.init.directory, VmShowRequest{env, ref},
    [self, gather, on_answer](VmRecord& vm) {
      vm.host = self_id(self);
      --gather->waiting;
      on_answer(std::move(vm));
    },
    [self, gather, on_error, finish](caf::error& err) {
      --gather->waiting;
      on_error(self_id(self), err);
      finish();
    });
  for (auto& id : peers)
    call_peer<VmRecord>(
      self, id, VmShowRequest{env, ref}, fan_out_timeout,
      [gather, on_answer, id](VmRecord& vm) {
        vm.host = id;
        --gather->waiting;
        on_answer(std::move(vm));
      },
      [gather, on_error, finish, id](const caf::error& err) {
        --gather->waiting;
        on_error(id, err);
        finish();
      });
}

/// Best of two random candidates (power of two choices), by free memory,
/// then free CPUs; only `up` hosts whose last figures fit the spec.
std::vector<std::string> placement(Self self, const VmSpec& spec) {
  auto& st = self->state;
  struct Candidate {
    std::string id;
    std::uint64_t memory_free;
    std::uint32_t cpus_free;
  };
  std::vector<Candidate> fits;
  auto consider = [&](const std::string& id, const HostPong& figures) {
    if (spec.memory_mib != 0 && figures.memory_free_mib < spec.memory_mib)
      return;
    fits.push_back({id, figures.memory_free_mib, figures.cpus_free});
  };
  consider(st.init.self_id, st.self_capacity);
  for (auto& [id, peer] : st.peers)
    if (peer.state == LinkState::up)
      consider(id, peer.last);
  if (fits.empty())
    return {st.init.self_id}; // let this host's own limits say why it does not fit
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  std::shuffle(fits.begin(), fits.end(), rng);
  if (fits.size() >= 2) {
    auto better = [](const Candidate& a, const Candidate& b) {
      return a.memory_free != b.memory_free ? a.memory_free > b.memory_free : a.cpus_free > b.cpus_free;
    };
    if (better(fits[1], fits[0]))
      std::swap(fits[0], fits[1]);
  }
  std::vector<std::string> order;
  for (auto& c : fits)
    order.push_back(c.id);
  return order;
}

/// Reserves the VM's name at its owner, drawing readable names for an
/// unnamed VM until one is free.
void with_name(Self self, const Envelope& env, VmSpec spec, const std::string& target, int attempt,
               std::function<void(VmSpec, const caf::error&)> done) {
  bool generated = spec.name.empty() || attempt > 0;
  if (generated)
    spec.name = readable_vm_name(random_draw(), attempt);
  reserve_name(self, env, spec.name, target,
               [self, env, spec, target, attempt, generated, done](const caf::error& err) {
                 if (err && generated && view(err).code == Errc::already_exists
                     && attempt + 1 < vm_name_attempts) {
                   auto unnamed = spec;
                   unnamed.name.clear();
                   with_name(self, env, unnamed, target, attempt + 1, done);
                   return;
                 }
                 done(spec, err);
               });
}

/// Sends a create to `order[i]` (this host or a peer); a `busy` refusal
/// from an automatically placed host moves on to the next candidate.
template <class Reply, class Request>
void create_on(Self self, Request req, std::vector<std::string> order, std::size_t i,
               caf::typed_response_promise<Reply> promise) {
  const auto& target = order[i];
  auto on_error = [self, req, order, i, promise](const caf::error& err) mutable {
    if (req.spec.host.empty() && view(err).code == Errc::busy && i + 1 < order.size()) {
      log_.info("placement: host busy, trying the next", {{"op_id", req.env.op_id}, {"host", order[i]}});
      create_on<Reply>(self, req, order, i + 1, promise);
      return;
    }
    promise.deliver(with_op_id(err, req.env.op_id));
  };
  if (target == self_id(self)) {
    auto env = req.env;
    auto name = req.spec.name;
    auto& node = self->state.init.node;
    self->request(node, caf::infinite, req)
      .then(
        [self, promise, env, name](Reply& reply) mutable {
          if constexpr (std::is_same_v<Reply, VmRecord>) {
            settle_name(self, env, name, reply.id);
            reply.host = self_id(self);
          } else {
            self->send(self, watch_op_atom::value, reply.op_id, name);
          }
          promise.deliver(std::move(reply));
        },
        [self, env, name, on_error](caf::error& err) mutable {
          settle_name(self, env, name, {});
          on_error(err);
        });
    return;
  }
  std::chrono::milliseconds timeout = std::is_same_v<Reply, VmRecord> ? self->state.init.lifecycle_timeout
                                                                      : std::chrono::seconds(10);
  call_peer<Reply>(
    self, target, req, timeout,
    [promise, target](Reply& reply) mutable {
      if constexpr (std::is_same_v<Reply, VmRecord>)
        reply.host = target;
      promise.deliver(std::move(reply));
    },
    on_error);
}

template <class Reply, class Request>
caf::result<Reply> route_create_any(Self self, Request& req) {
  auto& st = self->state;
  std::vector<std::string> order;
  if (!req.spec.host.empty()) {
    if (req.spec.host != st.init.self_id && !st.peers.count(req.spec.host))
      return make_error(Errc::invalid_argument,
                        "no host " + excerpt(req.spec.host) + " in cluster.hosts", req.env.op_id);
    if (req.spec.host != st.init.self_id && st.peers.at(req.spec.host).state == LinkState::down)
      return unavailable(req.spec.host, "is down; cannot create a VM there", req.env.op_id);
    order.push_back(req.spec.host);
  } else {
    order = placement(self, req.spec);
  }
  auto promise = self->make_response_promise<Reply>();
  auto env = req.env;
  with_name(self, env, req.spec, order.front(), 0,
            [self, req, order, promise](VmSpec spec, const caf::error& err) mutable {
              if (err) {
                promise.deliver(with_op_id(err, req.env.op_id));
                return;
              }
              req.spec = std::move(spec);
              create_on<Reply>(self, req, order, 0, promise);
            });
  return promise;
}

/// A request about one of this host's VMs, answered with its host set.
template <class Request>
caf::result<VmRecord> on_this_host(Self self, Request& req) {
  auto promise = self->make_response_promise<VmRecord>();
  ask_vm<VmRecord>(
    self, self->state.init.directory, req,
    [self, promise](VmRecord& vm) mutable {
      vm.host = self_id(self);
      promise.deliver(std::move(vm));
    },
    [promise](caf::error& err) mutable { promise.deliver(err); });
  return promise;
}

} // namespace

caf::result<VmRecord> route_show(Self self, VmShowRequest& req) {
  auto promise = self->make_response_promise<VmRecord>();
  resolve(self, req.env, req.ref, [promise](VmRecord* vm, const caf::error& err) mutable {
    if (vm)
      promise.deliver(std::move(*vm));
    else
      promise.deliver(err);
  });
  return promise;
}

caf::result<VmRecord> route_action(Self self, VmActionRequest& req) {
  auto promise = self->make_response_promise<VmRecord>();
  resolve(self, req.env, req.ref, [self, promise, req](VmRecord* vm, const caf::error& err) mutable {
    if (!vm) {
      promise.deliver(err);
      return;
    }
    auto host = vm->host;
    req.ref = vm->id; // exact from here on: the VM found, not a prefix again
    if (host == self_id(self)) {
      ask_vm<VmRecord>(
        self, self->state.init.directory, req,
        [self, promise](VmRecord& done) mutable {
          done.host = self_id(self);
          promise.deliver(std::move(done));
        },
        [promise](caf::error& e) mutable { promise.deliver(e); });
      return;
    }
    call_peer<VmRecord>(
      self, host, req, self->state.init.lifecycle_timeout,
      [promise, host](VmRecord& done) mutable {
        done.host = host;
        promise.deliver(std::move(done));
      },
      [promise](const caf::error& e) mutable { promise.deliver(e); });
  });
  return promise;
}

caf::result<VmList> route_list(Self self, VmListRequest& req) {
  auto& st = self->state;
  struct Gather {
    std::size_t waiting = 0;
    VmList list;
    std::vector<NameBinding> names;
    std::set<std::string> unreachable;
  };
  auto gather = std::make_shared<Gather>();
  for (auto& id : down_members(st))
    gather->unreachable.insert(id);
  auto promise = self->make_response_promise<VmList>();
  auto finish = [self, gather, promise]() mutable {
    if (--gather->waiting > 0)
      return;
    auto& list = gather->list;
    std::set<std::string> listed;
    for (auto& vm : list.vms)
      listed.insert(vm.id);
    std::vector<std::string> names_of(gather->unreachable.begin(), gather->unreachable.end());
    auto mine = owned_bindings_of(self, names_of);
    gather->names.insert(gather->names.end(), mine.begin(), mine.end());
    for (auto& b : gather->names) {
      if (!b.bound || !gather->unreachable.count(b.host) || !listed.insert(b.vm_id).second)
        continue;
      VmRecord vm;
      vm.id = b.vm_id;
      vm.name = b.name;
      vm.host = b.host;
      vm.runtime.state = VmState::unknown;
      list.vms.push_back(std::move(vm));
    }
    std::sort(list.vms.begin(), list.vms.end(),
              [](const VmRecord& a, const VmRecord& b) { return a.name < b.name; });
    list.unreachable.assign(gather->unreachable.begin(), gather->unreachable.end());
    promise.deliver(std::move(list));
  };
  auto peers = reachable_peers(st);
  gather->waiting = peers.size() + 1;
  std::vector<std::string> names_of(gather->unreachable.begin(), gather->unreachable.end());
  self->request(st.init.directory, caf::infinite, req)
    .then(
      [self, gather, finish](VmList& local) mutable {
        for (auto& vm : local.vms) {
          vm.host = self_id(self);
          gather->list.vms.push_back(std::move(vm));
        }
        finish();
      },
      [finish](caf::error&) mutable { finish(); });
  for (auto& id : peers)
    call_peer<HostListReply>(
      self, id, HostListRequest{req.env, names_of}, fan_out_timeout,
      [gather, finish, id](HostListReply& reply) mutable {
        for (auto& vm : reply.vms) {
          vm.host = id;
          gather->list.vms.push_back(std::move(vm));
        }
        gather->names.insert(gather->names.end(), reply.names.begin(), reply.names.end());
        finish();
      },
      [gather, finish, id](const caf::error&) mutable {
        gather->unreachable.insert(id);
        finish();
      });
  return promise;
}

caf::result<OperationStatus> route_op_status(Self self, OpStatusRequest& req) {
  auto promise = self->make_response_promise<OperationStatus>();
  self->request(self->state.init.operations, caf::infinite, req)
    .then([promise](OperationStatus& status) mutable { promise.deliver(std::move(status)); },
          [self, promise, req](caf::error& local_err) mutable {
            if (view(local_err).code != Errc::not_found) {
              promise.deliver(local_err);
              return;
            }
            auto peers = reachable_peers(self->state);
            if (peers.empty()) {
              promise.deliver(local_err);
              return;
            }
            struct Gather {
              std::size_t waiting;
              bool settled = false;
            };
            auto gather = std::make_shared<Gather>(Gather{peers.size()});
            for (auto& id : peers)
              call_peer<OperationStatus>(
                self, id, req, fan_out_timeout,
                [gather, promise](OperationStatus& status) mutable {
                  --gather->waiting;
                  if (!gather->settled) {
                    gather->settled = true;
                    promise.deliver(std::move(status));
                  }
                },
                [gather, promise, local_err](const caf::error&) mutable {
                  if (--gather->waiting == 0 && !gather->settled) {
                    gather->settled = true;
                    promise.deliver(local_err);
                  }
                });
          });
  return promise;
}

caf::result<VmLogChunk> route_log_read(Self self, VmLogReadRequest& req) {
  auto promise = self->make_response_promise<VmLogChunk>();
  resolve(self, req.env, req.ref, [self, promise, req](VmRecord* vm, const caf::error& err) mutable {
    if (!vm) {
      promise.deliver(err);
      return;
    }
    auto host = vm->host;
    req.ref = vm->id;
    if (host == self_id(self)) {
      read_vm_log(self, self->state.init.directory, req, promise);
      return;
    }
    call_peer<VmLogChunk>(
      self, host, req, std::chrono::seconds(10),
      [promise, req, host](VmLogChunk& chunk) mutable {
        // What the CLI will print and seek to: never more than it asked for.
        if (auto ok = check_log_chunk(chunk, req); !ok) {
          log_.warn("a host answered a log read out of bounds",
                    {{"op_id", req.env.op_id}, {"host", host}, {"error", ok.error().message}});
          promise.deliver(make_error(Errc::internal, "cluster host " + host + " " + ok.error().message,
                                     req.env.op_id));
          return;
        }
        promise.deliver(std::move(chunk));
      },
      [promise](const caf::error& e) mutable { promise.deliver(e); });
  });
  return promise;
}

namespace {

/// A guest-agent request for the VM `req.ref` names, on its own host. The
/// peer call outlives the longest poll a session request may park.
template <class Reply, class Request>
caf::result<Reply> route_to_agent(Self self, Request& req) {
  auto promise = self->make_response_promise<Reply>();
  resolve(self, req.env, req.ref, [self, promise, req](VmRecord* vm, const caf::error& err) mutable {
    if (!vm) {
      promise.deliver(err);
      return;
    }
    auto host = vm->host;
    req.ref = vm->id;
    if (host == self_id(self)) {
      relay_to_vm(self, self->state.init.directory, std::move(req), promise);
      return;
    }
    call_peer<Reply>(
      self, host, req, std::chrono::milliseconds(session_max_wait_ms) + std::chrono::seconds(20),
      [promise](Reply& reply) mutable { promise.deliver(std::move(reply)); },
      [promise](const caf::error& e) mutable { promise.deliver(e); });
  });
  return promise;
}

template <class Reply, class Request>
caf::result<Reply> agent_here(Self self, Request& req) {
  auto promise = self->make_response_promise<Reply>();
  relay_to_vm(self, self->state.init.directory, std::move(req), promise);
  return promise;
}

} // namespace

caf::result<VmSessionStarted> route_exec(Self self, VmExecRequest& req) {
  return route_to_agent<VmSessionStarted>(self, req);
}
caf::result<VmSessionIo> route_session_io(Self self, VmSessionIoRequest& req) {
  return route_to_agent<VmSessionIo>(self, req);
}
caf::result<VmSessionStarted> route_file_read(Self self, VmFileReadRequest& req) {
  return route_to_agent<VmSessionStarted>(self, req);
}
caf::result<VmFileWritten> route_file_write(Self self, VmFileWriteRequest& req) {
  return route_to_agent<VmFileWritten>(self, req);
}
caf::result<VmSessionStarted> local_exec(Self self, VmExecRequest& req) {
  return agent_here<VmSessionStarted>(self, req);
}
caf::result<VmSessionIo> local_session_io(Self self, VmSessionIoRequest& req) {
  return agent_here<VmSessionIo>(self, req);
}
caf::result<VmSessionStarted> local_file_read(Self self, VmFileReadRequest& req) {
  return agent_here<VmSessionStarted>(self, req);
}
caf::result<VmFileWritten> local_file_write(Self self, VmFileWriteRequest& req) {
  return agent_here<VmFileWritten>(self, req);
}

caf::result<VmRecord> route_create(Self self, VmCreateRequest& req) {
  return route_create_any<VmRecord>(self, req);
}

caf::result<OpAccepted> route_create_begin(Self self, VmCreateBeginRequest& req) {
  return route_create_any<OpAccepted>(self, req);
}

namespace {

/// The clone asked of this host's node; the name, reserved before, is bound
/// to the clone or released.
void clone_on_this_host(Self self, VmCloneRequest req, caf::typed_response_promise<VmRecord> promise) {
  auto env = req.env;
  auto name = req.name;
  self->request(self->state.init.node, caf::infinite, std::move(req))
    .then(
      [self, promise, env, name](VmRecord& clone) mutable {
        settle_name(self, env, name, clone.id);
        clone.host = self_id(self);
        promise.deliver(std::move(clone));
      },
      [self, promise, env, name](caf::error& err) mutable {
        settle_name(self, env, name, {});
        promise.deliver(with_op_id(err, env.op_id));
      });
}

} // namespace

caf::result<VmRecord> route_clone(Self self, VmCloneRequest& req) {
  auto promise = self->make_response_promise<VmRecord>();
  resolve(self, req.env, req.source, [self, promise, req](VmRecord* vm, const caf::error& err) mutable {
    if (!vm) {
      promise.deliver(err);
      return;
    }
    auto host = vm->host;
    req.source = vm->id; // exact from here on
    VmSpec spec;
    spec.name = req.name;
    spec.host = host;
    with_name(self, req.env, spec, host, 0,
              [self, promise, req, host](VmSpec named, const caf::error& err) mutable {
                if (err) {
                  promise.deliver(with_op_id(err, req.env.op_id));
                  return;
                }
                req.name = named.name;
                if (host == self_id(self)) {
                  clone_on_this_host(self, std::move(req), promise);
                  return;
                }
                // The copy, a restore and the identity: as long as a start.
                call_peer<VmRecord>(
                  self, host, req, self->state.init.lifecycle_timeout,
                  [promise, host](VmRecord& clone) mutable {
                    clone.host = host;
                    promise.deliver(std::move(clone));
                  },
                  [promise](const caf::error& e) mutable { promise.deliver(e); });
              });
  });
  return promise;
}

caf::result<VmRecord> clone_here(Self self, VmCloneRequest& req) {
  auto promise = self->make_response_promise<VmRecord>();
  clone_on_this_host(self, req, promise);
  return promise;
}

caf::result<VmRecord> local_show(Self self, VmShowRequest& req) {
  return on_this_host(self, req);
}

caf::result<VmRecord> local_action(Self self, VmActionRequest& req) {
  return on_this_host(self, req);
}

caf::result<HostListReply> local_list(Self self, HostListRequest& req) {
  auto promise = self->make_response_promise<HostListReply>();
  auto names = owned_bindings_of(self, req.names_of);
  self->request(self->state.init.directory, caf::infinite, VmListRequest{req.env})
    .then(
      [promise, names](VmList& list) mutable {
        promise.deliver(HostListReply{std::move(list.vms), std::move(names)});
      },
      [promise](caf::error& err) mutable { promise.deliver(err); });
  return promise;
}

caf::result<OperationStatus> local_op_status(Self self, OpStatusRequest& req) {
  auto promise = self->make_response_promise<OperationStatus>();
  relay(self, self->state.init.operations, req, promise);
  return promise;
}

caf::result<VmLogChunk> local_log_read(Self self, VmLogReadRequest& req) {
  auto promise = self->make_response_promise<VmLogChunk>();
  read_vm_log(self, self->state.init.directory, req, promise);
  return promise;
}

caf::result<VmRecord> create_here(Self self, VmCreateRequest& req) {
  auto promise = self->make_response_promise<VmRecord>();
  create_on<VmRecord>(self, req, {self_id(self)}, 0, promise);
  return promise;
}

caf::result<OpAccepted> create_begin_here(Self self, VmCreateBeginRequest& req) {
  auto promise = self->make_response_promise<OpAccepted>();
  create_on<OpAccepted>(self, req, {self_id(self)}, 0, promise);
  return promise;
}

void on_watch_op(Self self, const std::string& op_id, const std::string& name) {
  Envelope env;
  env.op_id = op_id;
  self->request(self->state.init.operations, caf::infinite, OpStatusRequest{env, op_id})
    .then(
      [self, env, op_id, name](OperationStatus& status) {
        if (status.outcome == OperationOutcome::running) {
          self->delayed_send(self, std::chrono::milliseconds(250), watch_op_atom::value, op_id, name);
          return;
        }
        if (status.outcome != OperationOutcome::succeeded) {
          settle_name(self, env, name, {});
          return;
        }
        // The VM may be gone already (a quick rm while this poll waited):
        // its VmRetired then reached this actor before this answer, and
        // the drop it sent found nothing bound; binding now would bind the
        // name to no VM. The directory answers before it passes on any
        // later retirement, so a VM it still has is bound before its drop.
        self->request(self->state.init.directory, caf::infinite, VmLookup{env, status.vm_id})
          .then([self, env, name, vm_id = status.vm_id](VmHandle&) { settle_name(self, env, name, vm_id); },
                [self, env, name](caf::error&) { settle_name(self, env, name, {}); });
      },
      [self, env, name](caf::error&) { settle_name(self, env, name, {}); });
}

ClusterStatus cluster_status(Self self) {
  auto& st = self->state;
  ClusterStatus out;
  out.self = st.init.self_id;
  for (auto& host : st.init.hosts) {
    ClusterHostStatus s;
    s.id = host.id;
    s.address = host.address + ":" + std::to_string(host.port);
    if (host.id == st.init.self_id) {
      s.state = "up"; // this host answers: it is the one asked
      s.since_us = st.started_us;
      s.version = st.init.version;
      s.epoch = st.epoch;
      s.vms = st.self_capacity.vms;
      s.cpus_free = st.self_capacity.cpus_free;
      s.memory_free_mib = st.self_capacity.memory_free_mib;
    } else {
      auto& peer = st.peers.at(host.id);
      s.state = to_string(peer.state);
      s.since_us = peer.since_us;
      s.rtt_us = peer.rtt_us;
      s.version = peer.version;
      s.epoch = peer.epoch;
      s.vms = peer.last.vms;
      s.cpus_free = peer.last.cpus_free;
      s.memory_free_mib = peer.last.memory_free_mib;
    }
    out.hosts.push_back(std::move(s));
  }
  return out;
}

} // namespace banger::cluster
