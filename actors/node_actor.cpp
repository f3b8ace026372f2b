#include "actors/node_actor.hpp"
#include "messages/sheltered.hpp"

#include "actors/clone_source.hpp"
#include "actors/directory_actor.hpp"
#include "actors/helper_link_actor.hpp"
#include "actors/host_capacity.hpp"
#include "actors/node_host.hpp"
#include "actors/op_stages.hpp"
#include "actors/vm_ids.hpp"
#include "actors/vm_names.hpp"

#include "messages/error.hpp"
#include "messages/excerpt.hpp"
#include "messages/log.hpp"
#include "messages/op_id.hpp"

#include <caf/all.hpp>

#include <map>

namespace banger {

namespace {

const log::Logger log_{"node"};

using inventory_atom = caf::atom_constant<caf::atom("inventory")>;

struct Entry {
  vm_actor actor;
  VmState state = VmState::created;
  std::optional<std::uint32_t> address;
  std::uint32_t cpus = 0;
  std::uint32_t memory_mib = 0;
};

/// Whether a VM in `state` has its CPUs and memory: a VMM exists or is
/// being made or taken down (a paused guest keeps its memory; a suspended
/// one has none).
bool holds_resources(VmState state) {
  return state == VmState::starting || state == VmState::running
         || state == VmState::paused || state == VmState::stopping;
}

/// What the VMs holding resources were given, summed as their states
/// change, so a capacity request (every second per peer) costs no walk
/// over the VMs.
struct Usage {
  std::uint64_t cpus = 0;
  std::uint64_t memory_mib = 0;

  void add(const Entry& e) {
    if (holds_resources(e.state)) {
      cpus += e.cpus;
      memory_mib += e.memory_mib;
    }
  }
  void remove(const Entry& e) {
    if (holds_resources(e.state)) {
      cpus -= e.cpus;
      memory_mib -= e.memory_mib;
    }
  }
};

std::uint64_t remaining(std::uint64_t total, std::uint64_t used) {
  return used >= total ? 0 : total - used;
}

struct NodeState {
  NodeState() = default; // not an aggregate: CAF must not build it from `self`
  std::shared_ptr<VmDeps> deps;
  directory_actor directory;
  images_actor images;
  std::map<std::string, Entry> vms; ///< by id, ordered for short-id checks
  std::optional<AddressPool> addresses;
  HostTotals totals;
  Usage used;
  std::string recovery_op;
  std::chrono::milliseconds inventory_backoff{100};
  /// An inventory is asked for (or waited for, with backoff) right now;
  /// a helper that comes back meanwhile asks for one more afterwards.
  bool inventory_running = false;
  bool inventory_again = false;
  static inline const char* name = "node";
};

using node_impl = node_actor::extend<caf::reacts_to<inventory_atom>, caf::reacts_to<helper_up_atom>>;
using Self = sheltered_pointer<node_impl, NodeState>;
using Done = std::function<void(Result<VmRecord>)>;

/// A create as the node runs it, up to the hand-over to the VM's actor:
/// its stages are reported as they happen, and a failure before the
/// hand-over ends the operation here. From the hand-over on the VM's actor
/// reports (with these stages first) and ends it.
struct CreateOp {
  OperationStatus status;
  bool handed_over = false;
};
using Track = std::shared_ptr<CreateOp>;

void track_stage(Self self, const Track& track, const std::string& name) {
  if (track->status.stage == name)
    return; // already in it (an async create records it before it is accepted)
  enter_stage(track->status, name, now_us());
  self->send(self->state.deps->operations, OpProgress{track->status});
}

Track begin_create(const Envelope& env, const char* kind = "vm.create") {
  auto track = std::make_shared<CreateOp>();
  track->status.op_id = env.op_id;
  track->status.kind = kind;
  track->status.started_at_us = now_us();
  return track;
}

/// `done`, with a failure the VM's actor did not report ended here.
Done tracked(Self self, Track track, Done done) {
  return [self, track, done = std::move(done)](Result<VmRecord> result) {
    if (!result && !track->handed_over) {
      end_status(track->status, result.error(), now_us());
      self->send(self->state.deps->operations, OpProgress{track->status});
    }
    done(std::move(result));
  };
}

Error error_of(const caf::error& err) {
  auto v = view(err);
  return Error{v.code, v.message};
}

/// Spawns the VM's actor and enters it here and, by reserve -> commit, in
/// the directory (sends only: one sender's messages arrive in order).
vm_actor add_entry(Self self, const VmRecord& record, const Image& image, bool reserve) {
  auto& st = self->state;
  Entry entry;
  entry.state = record.runtime.state;
  entry.address = st.addresses->take(record.runtime.guest_ip);
  entry.cpus = record.cpus;
  entry.memory_mib = record.memory_mib;
  st.used.add(entry);
  entry.actor = spawn_vm_actor(self->system(), record, image, st.deps);
  if (reserve)
    caf::anon_send(st.directory, NameReserve{record.name, record.id});
  caf::anon_send(st.directory, NameCommit{record.name, record, entry.actor});
  auto actor = entry.actor;
  st.vms.emplace(record.id, std::move(entry));
  return actor;
}

/// The name is reserved and the address taken: both go back.
void abandon(Self self, const VmRecord& rec, std::optional<std::uint32_t> address) {
  auto& st = self->state;
  caf::anon_send(st.directory, NameRelease{rec.name, rec.id});
  if (address)
    st.addresses->release(*address);
}

/// Hands the new VM's actor its first operation (a create's or a clone's
/// work); `done` gets the VM actor's reply.
using Handover = std::function<void(Self, vm_actor, const Image&, Track, Done)>;

template <class Work>
void hand_over(Self self, vm_actor actor, Work work, Track track, Done done) {
  self->request(actor, caf::infinite, std::move(work))
    .then([done](VmRecord& created) { done(std::move(created)); },
          [track, done](caf::error& err) {
            // An actor that went away never ended the operation.
            if (err == caf::sec::request_receiver_down)
              track->handed_over = false;
            done(error_of(err));
          });
}

Handover create_work(const Envelope& env, const VmSpec& spec) {
  return [env, spec](Self self, vm_actor actor, const Image& image, Track track, Done done) {
    hand_over(self, actor,
              VmCreateWork{env, image.rootfs_path, spec.start, spec.wait, spec.no_wait,
                           spec.disk_bytes, track->status},
              track, done);
  };
}

/// Limits and an address for the reserved record, then persist, spawn and
/// hand the VM actor its first operation.
void finish_create(Self self, const VmSpec& spec, VmRecord rec, Image image, Track track,
                   Done done, Handover handover) {
  auto& st = self->state;
  track_stage(self, track, "allocate");
  auto sizing = size_of(spec);
  if (!sizing) {
    abandon(self, rec, std::nullopt);
    return done(std::move(sizing).error());
  }
  // Before anything exists on the host: a size the host cannot give.
  if (auto fits = fits_host(sizing->cpus, sizing->memory_mib, host_capacity(),
                            st.deps->settings.vmm_cpu_overcommit);
      !fits) {
    abandon(self, rec, std::nullopt);
    return done(std::move(fits).error());
  }
  auto index = st.addresses->allocate();
  if (!index) {
    abandon(self, rec, std::nullopt);
    return done(Error{Errc::conflict, "no free guest address left in " + st.deps->settings.network_subnet});
  }
  rec.cpus = sizing->cpus;
  rec.memory_mib = sizing->memory_mib;
  rec.image_id = image.id;
  rec.created_at_us = rec.updated_at_us = now_us();
  rec.runtime.state = VmState::created;
  st.addresses->assign(*index, rec.runtime);
  track_stage(self, track, "save_record");
  self->request(st.deps->store, caf::infinite, SaveVm{rec}) // see vm::local_request
    .then(
      [self, rec, image, track, done, handover](Ack) {
        auto actor = add_entry(self, rec, image, false);
        track->handed_over = true;
        handover(self, actor, image, track, done);
      },
      [self, rec, index, done](caf::error& err) {
        abandon(self, rec, index);
        done(error_of(err));
      });
}

/// Reserves the record's name in the directory: the spec's, or with
/// `generated` a drawn readable one, drawn again while taken.
void reserve_name(Self self, VmRecord rec, bool generated, int attempt, Done then) {
  if (generated)
    rec.name = readable_vm_name(random_draw(), attempt);
  // The rule for every name, drawn or given.
  if (!is_valid_name(rec.name))
    return then(Error{Errc::invalid_argument,
                      "invalid VM name " + excerpt(rec.name) + ": use [a-z0-9][a-z0-9-]{0,62}"});
  self->request(self->state.directory, caf::infinite, NameReserve{rec.name, rec.id})
    .then([rec, then](Ack) { then(rec); },
          [self, rec, generated, attempt, then](caf::error& err) {
            auto error = error_of(err);
            if (generated && error.code == Errc::already_exists && attempt + 1 < vm_name_attempts)
              return reserve_name(self, rec, generated, attempt + 1, then);
            then(std::move(error));
          });
}

/// Creates a VM: image (catalog), id, name (reserved in the directory),
/// limits, address; a failure after the reservation releases it.
void create_vm(Self self, const Envelope& env, const VmSpec& spec, Track track, Done done,
               Handover handover) {
  auto& st = self->state;
  done = tracked(self, track, std::move(done));
  track_stage(self, track, "resolve_image");
  self->request(st.images, caf::infinite, ImageShowRequest{env, spec.image})
    .then(
      [self, env, spec, track, done, handover](Image& image) {
        auto& st = self->state;
        track_stage(self, track, "reserve_name");
        VmRecord rec;
        rec.id = mint_vm_id(
          mint_object_id, [&](const std::string& short_id) { return has_prefix(st.vms, short_id); },
          device_exists);
        if (rec.id.empty())
          return done(Error{Errc::conflict, "no free tap name found for a new VM in 64 draws; "
                                            "the host has too many tap-fc-* devices"});
        rec.name = spec.name;
        rec.ports = spec.ports;
        track->status.vm_id = rec.id;
        reserve_name(self, rec, spec.name.empty(), 0,
                     [self, env, spec, image, track, done,
                      handover](Result<VmRecord>&& reserved) {
                       if (!reserved)
                         return done(std::move(reserved).error());
                       finish_create(self, spec, std::move(*reserved), image, track, done,
                                     handover);
                     });
      },
      [done](caf::error& err) { done(error_of(err)); });
}

/// A clone: the source found and checked (for a clear error before anything
/// is made; the source checks again when it copies), then a create with the
/// source's image, vCPUs and memory whose first operation is the clone's.
void clone_vm(Self self, const VmCloneRequest& req, Track track, Done done) {
  done = tracked(self, track, std::move(done));
  track_stage(self, track, "resolve_source");
  self->request(self->state.directory, caf::infinite, VmLookup{req.env, req.source})
    .then(
      [self, req, track, done](VmHandle& handle) {
        auto source = handle.actor;
        self->request(source, caf::infinite, VmShowRequest{req.env, handle.id})
          .then(
            [self, req, source, track, done](VmRecord& src) {
              if (auto refused = clone_refusal(src, req.snapshot))
                return done(std::move(*refused));
              VmSpec spec;
              spec.name = req.name;
              spec.image = src.image_id;
              spec.cpus = src.cpus;
              spec.memory_mib = src.memory_mib;
              auto env = req.env;
              auto snapshot = req.snapshot;
              auto source_name = src.name;
              create_vm(self, env, spec, track, done,
                        [env, snapshot, source, source_name](Self self, vm_actor actor,
                                                             const Image& image, Track track,
                                                             Done done) {
                          hand_over(self, actor,
                                    VmCloneWork{env, caf::actor_cast<caf::actor>(source),
                                                source_name, snapshot, image.rootfs_path,
                                                track->status},
                                    track, done);
                        });
            },
            [done](caf::error& err) { done(error_of(err)); });
      },
      [done](caf::error& err) { done(error_of(err)); });
}

void request_inventory(Self self) {
  auto& st = self->state;
  st.inventory_running = true;
  Envelope env;
  env.op_id = st.recovery_op;
  auto asked_at = operation_tick();
  self->request(st.deps->helper, std::chrono::seconds(15), HelperInventoryRequest{env})
    .then(
      [self, asked_at](HelperInventory& inventory) {
        auto& st = self->state;
        std::set<std::string> ids;
        for (auto& [id, entry] : st.vms)
          ids.insert(id);
        auto slices = slice_inventory(inventory, ids);
        for (auto& tap : slices.leftover.taps)
          log_.warn("leftover tap with no VM record (banger doctor --fix removes it)",
                    {{"op_id", st.recovery_op}, {"tap", tap}});
        for (auto& vmm : slices.leftover.vmms)
          log_.warn("leftover VMM with no VM record (banger doctor --fix kills it)",
                    {{"op_id", st.recovery_op}, {"vm_id", vmm.vm_id}, {"pid", vmm.pid}});
        for (auto& dir : slices.leftover.run_dirs)
          log_.warn("leftover runtime directory with no VM record",
                    {{"op_id", st.recovery_op}, {"vm_id", dir}});
        for (auto& id : slices.leftover.port_vms)
          log_.warn("leftover published-port rules with no VM record (banger doctor --fix "
                    "removes them)",
                    {{"op_id", st.recovery_op}, {"vm_id", id}});
        for (auto& [id, entry] : st.vms) {
          Envelope env;
          env.op_id = st.recovery_op;
          caf::anon_send(entry.actor, VmReconcile{env, std::move(slices.by_vm[id]), asked_at});
        }
        log_.info("recovery: reconciling VMs with the host",
                  {{"op_id", st.recovery_op}, {"vms", static_cast<std::int64_t>(st.vms.size())}});
        st.inventory_running = false;
        st.inventory_backoff = std::chrono::milliseconds(100);
        if (st.inventory_again) {
          st.inventory_again = false;
          st.recovery_op = mint_op_id();
          request_inventory(self);
        }
      },
      [self](caf::error& err) {
        auto& st = self->state;
        log_.warn("recovery waits for banger-helper",
                  {{"op_id", st.recovery_op}, {"error", view(err).message}});
        self->delayed_send(self, st.inventory_backoff, inventory_atom::value);
        st.inventory_backoff = std::min(st.inventory_backoff * 2, std::chrono::milliseconds(2000));
      });
}

node_impl::behavior_type node_behavior(Self self, NodeInit init) {
  auto& st = self->state;
  st.deps = std::make_shared<VmDeps>(std::move(init.deps));
  st.directory = std::move(init.directory);
  // VM actors report to the directory, which passes each report on here
  // once it is visible to lookups and listings (internal_protocol.hpp).
  st.deps->events = caf::actor_cast<vm_events_actor>(st.directory);
  caf::anon_send(st.directory, DirectoryWatch{caf::actor_cast<vm_events_actor>(self)});
  st.images = std::move(init.images);
  st.addresses.emplace(st.deps->subnet);
  st.totals = init.totals ? *init.totals : host_capacity();
  std::map<std::string, Image> images;
  for (auto& image : init.images_known)
    images.emplace(image.id, std::move(image));
  for (auto& vm : init.vms) {
    // The stage is the progress of an operation, persisted with the record
    // mid-operation; no operation survives a restart, so none is running.
    vm.runtime.stage.clear();
    auto image = images.find(vm.image_id);
    add_entry(self, vm, image == images.end() ? Image{} : image->second, true);
  }
  st.recovery_op = mint_op_id();
  self->send(self, inventory_atom::value);
  // VM actors are not linked (one failing must not take the node down), so
  // shutdown reaches them from here.
  self->set_exit_handler([self](const caf::exit_msg& msg) {
    for (auto& [id, entry] : self->state.vms)
      self->send_exit(entry.actor, caf::exit_reason::user_shutdown);
    self->quit(msg.reason);
  });
  return {
    [self](VmCreateRequest& req) {
      auto promise = self->make_response_promise<VmRecord>();
      auto op = req.env.op_id;
      create_vm(self, req.env, req.spec, begin_create(req.env),
                [promise, op](Result<VmRecord> result) mutable {
        if (result)
          promise.deliver(std::move(*result));
        else
          promise.deliver(to_caf_error(result.error(), op));
      }, create_work(req.env, req.spec));
      return promise;
    },
    [self](VmCloneRequest& req) {
      auto promise = self->make_response_promise<VmRecord>();
      auto op = req.env.op_id;
      clone_vm(self, req, begin_create(req.env, "vm.clone"),
               [promise, op](Result<VmRecord> result) mutable {
                 if (result)
                   promise.deliver(std::move(*result));
                 else
                   promise.deliver(to_caf_error(result.error(), op));
               });
      return promise;
    },
    [self](VmCreateBeginRequest& req) -> caf::result<OpAccepted> {
      auto& st = self->state;
      auto op = req.env.op_id;
      auto track = begin_create(req.env);
      track_stage(self, track, "resolve_image");
      const auto& status = track->status;
      // The one operation whose id a client holds while it runs: recorded
      // as running, so that after a crash the next daemon marks it
      // interrupted (Store::fail_running_operations) instead of `op show`
      // answering not_found. Ahead of the record's own SaveVm from here,
      // so the final status (saved later) always wins.
      self->request(st.deps->store, caf::infinite, SaveOperation{status})
        .then([](Ack) {},
              [op](caf::error& err) {
                log_.warn("could not record operation", {{"op_id", op}, {"error", view(err).message}});
              });
      // Whoever ends the operation reports its outcome (tracked()).
      create_vm(self, req.env, req.spec, track, [](Result<VmRecord>) {},
                create_work(req.env, req.spec));
      return OpAccepted{op};
    },
    [self](DaemonStatusRequest&) {
      DaemonStatus status;
      std::map<std::string, std::uint32_t> counts;
      for (auto& [id, entry] : self->state.vms)
        ++counts[std::string(to_string(entry.state))];
      for (auto& [state, count] : counts)
        status.vms_by_state.push_back(StateCount{state, count});
      return status;
    },
    [self](HostCapacityRequest&) {
      auto& st = self->state;
      HostCapacity cap;
      cap.vms = static_cast<std::uint32_t>(st.vms.size());
      cap.cpus_total = st.totals.cpus;
      cap.cpus_free = static_cast<std::uint32_t>(remaining(st.totals.cpus, st.used.cpus));
      cap.memory_total_mib = st.totals.memory_mib;
      cap.memory_free_mib = remaining(st.totals.memory_mib, st.used.memory_mib);
      return cap;
    },
    [self](VmChanged& changed) {
      auto& st = self->state;
      if (auto it = st.vms.find(changed.vm.id); it != st.vms.end()) {
        auto& entry = it->second;
        st.used.remove(entry);
        entry.state = changed.vm.runtime.state;
        entry.cpus = changed.vm.cpus;
        entry.memory_mib = changed.vm.memory_mib;
        st.used.add(entry);
      }
    },
    [self](VmRetired& retired) {
      auto& st = self->state;
      if (auto it = st.vms.find(retired.id); it != st.vms.end()) {
        st.used.remove(it->second);
        if (it->second.address)
          st.addresses->release(*it->second.address);
        st.vms.erase(it);
      }
    },
    [self](inventory_atom) { request_inventory(self); },
    [self](helper_up_atom) {
      // Requests in flight when the link was lost failed with an unknown
      // outcome (a launch may have happened, a release may not): the same
      // reconciliation as after a daemon restart settles every VM.
      auto& st = self->state;
      if (st.inventory_running) {
        st.inventory_again = true;
        return;
      }
      st.recovery_op = mint_op_id();
      log_.info("banger-helper is back: reconciling VMs with the host", {{"op_id", st.recovery_op}});
      request_inventory(self);
    },
  };
}

} // namespace

node_actor spawn_node(caf::actor_system& sys, NodeInit init) {
  auto node = caf::actor_cast<node_actor>(sys.spawn(node_behavior, std::move(init)));
  // The behavior above runs before the node handles its first message:
  // once this status request is answered, the recovered VMs' reserve and
  // commit are queued at the directory ahead of anything sent later.
  caf::scoped_actor self{sys};
  self->request(node, caf::infinite, DaemonStatusRequest{}).receive([](DaemonStatus&) {}, [](caf::error&) {});
  return node;
}

} // namespace banger
