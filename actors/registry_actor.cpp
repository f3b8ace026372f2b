#include "actors/registry_actor.hpp"

#include "actors/helper_link_actor.hpp"
#include "actors/vm_ids.hpp"

#include "messages/error.hpp"
#include "messages/excerpt.hpp"
#include "messages/home_layout.hpp"
#include "messages/log.hpp"
#include "messages/op_id.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <filesystem>
#include <map>
#include <unordered_map>

namespace banger {

namespace {

using inventory_atom = caf::atom_constant<caf::atom("inventory")>;

constexpr std::uint32_t max_cpus = 32;
constexpr std::uint32_t default_cpus = 1;
constexpr std::uint32_t default_memory_mib = 256;
constexpr std::uint32_t min_memory_mib = 64;
constexpr std::uint32_t max_memory_mib = 256 * 1024;

struct Entry {
  vm_actor actor;
  VmRecord record; ///< latest state the VM actor published
  std::uint32_t address_index = 0;
};

struct RegistryState {
  RegistryState() = default; // not an aggregate: CAF must not build it from `self`
  std::shared_ptr<VmDeps> deps;
  std::map<std::string, Entry> vms; ///< by id, ordered for prefix lookups
  std::unordered_map<std::string, std::string> names; ///< name -> id
  std::vector<bool> addresses; ///< guest address index -> taken
  std::uint32_t next_address = 0;
  std::map<std::string, Image> images; ///< by id
  std::string recovery_op;
  std::chrono::milliseconds inventory_backoff{100};
  /// An inventory is asked for (or waited for, with backoff) right now;
  /// a helper that comes back meanwhile asks for one more afterwards.
  bool inventory_running = false;
  bool inventory_again = false;
  static inline const char* name = "registry";
};

using registry_impl = registry_actor::extend<caf::reacts_to<inventory_atom>, caf::reacts_to<helper_up_atom>>;
using Self = registry_impl::stateful_pointer<RegistryState>;

/// Whether `path` names a regular file beneath `images` (the installation's
/// <home>/images), after resolving symlinks. Answers only yes or no, and
/// looks at nothing outside `images` for a path that is not lexically in it:
/// an error saying "missing" for one path and "not readable" for another
/// would tell a client which root-only files exist. The helper checks again
/// before any VMM is given the file (privileged/host/vmm_argv.hpp).
bool is_image_file(const std::filesystem::path& images, const std::string& path) {
  namespace fs = std::filesystem;
  auto beneath = [](const fs::path& dir, const fs::path& p) {
    auto [d, q] = std::mismatch(dir.begin(), dir.end(), p.begin(), p.end());
    return d == dir.end() && q != p.end();
  };
  fs::path given(path);
  if (path.empty() || !given.is_absolute() || path.find('\0') != std::string::npos)
    return false;
  auto root = images.lexically_normal();
  if (!beneath(root, given.lexically_normal()))
    return false;
  std::error_code ec;
  auto real_root = fs::canonical(root, ec);
  if (ec)
    return false;
  auto real = fs::canonical(given, ec);
  return !ec && beneath(real_root, real) && fs::is_regular_file(real, ec);
}

bool is_hex(const std::string& s) {
  return !s.empty() && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

std::optional<std::uint32_t> address_index(const Subnet& subnet, const std::string& ip) {
  auto parsed = parse_ipv4(ip);
  if (!parsed || !subnet.contains(*parsed) || *parsed < subnet.guest(0))
    return std::nullopt;
  return *parsed - subnet.guest(0);
}

std::optional<std::uint32_t> allocate_address(RegistryState& st) {
  auto capacity = st.deps->subnet.guest_capacity();
  if (st.addresses.size() < capacity)
    st.addresses.resize(capacity, false);
  for (std::uint32_t tried = 0; tried < capacity; ++tried) {
    auto index = (st.next_address + tried) % capacity;
    if (!st.addresses[index]) {
      st.addresses[index] = true;
      st.next_address = index + 1;
      return index;
    }
  }
  return std::nullopt;
}

void release_address(RegistryState& st, std::uint32_t index) {
  if (index < st.addresses.size())
    st.addresses[index] = false;
}

/// Resolves a VM ref: exact id, exact name, then unique id prefix.
Result<const Entry*> resolve(const RegistryState& st, const std::string& ref) {
  if (ref.empty())
    return Error{Errc::invalid_argument, "empty VM reference"};
  if (auto it = st.vms.find(ref); it != st.vms.end())
    return &it->second;
  if (auto it = st.names.find(ref); it != st.names.end()) {
    // A name is reserved before its record is durable (prepare_vm): no
    // entry yet. (Looking it up with at() threw, and took the registry down.)
    auto entry = st.vms.find(it->second);
    if (entry == st.vms.end())
      return Error{Errc::busy, "VM '" + ref + "' is still being created; try again"};
    return &entry->second;
  }
  if (is_hex(ref)) {
    auto it = st.vms.lower_bound(ref);
    std::vector<const Entry*> matches;
    for (; it != st.vms.end() && it->first.compare(0, ref.size(), ref) == 0; ++it) {
      matches.push_back(&it->second);
      if (matches.size() > 3)
        break;
    }
    if (matches.size() == 1)
      return matches.front();
    if (matches.size() > 1) {
      std::string names;
      for (std::size_t i = 0; i < std::min<std::size_t>(matches.size(), 3); ++i)
        names += (i ? ", " : "") + matches[i]->record.name + " (" + matches[i]->record.id + ")";
      return Error{Errc::ambiguous, "VM id prefix " + excerpt(ref) + " matches several VMs: " + names
                                      + (matches.size() > 3 ? ", ..." : "")};
    }
  }
  return Error{Errc::not_found, "no VM named " + excerpt(ref)};
}

Result<const Image*> resolve_image(const RegistryState& st, const std::string& ref) {
  if (ref.empty())
    return Error{Errc::invalid_argument, "empty image reference"};
  if (auto it = st.images.find(ref); it != st.images.end())
    return &it->second;
  std::vector<const Image*> prefix;
  for (const auto& [id, image] : st.images) {
    if (image.name == ref)
      return &image;
    if (is_hex(ref) && id.compare(0, ref.size(), ref) == 0)
      prefix.push_back(&image);
  }
  if (prefix.size() == 1)
    return prefix.front();
  if (prefix.size() > 1)
    return Error{Errc::ambiguous, "image id prefix " + excerpt(ref) + " matches several images"};
  return Error{Errc::not_found, "no image named " + excerpt(ref)};
}

void add_entry(Self self, VmRecord record, const Image& image) {
  auto& st = self->state;
  auto id = record.id;
  Entry entry;
  entry.address_index = address_index(st.deps->subnet, record.runtime.guest_ip).value_or(UINT32_MAX);
  if (entry.address_index != UINT32_MAX) {
    if (st.addresses.size() <= entry.address_index)
      st.addresses.resize(std::max<std::size_t>(entry.address_index + 1,
                                                 st.deps->subnet.guest_capacity()), false);
    st.addresses[entry.address_index] = true;
  }
  st.names[record.name] = id;
  entry.actor = spawn_vm_actor(self->system(), record, image, st.deps);
  entry.record = std::move(record);
  st.vms.emplace(id, std::move(entry));
}

void remove_entry(RegistryState& st, const std::string& id) {
  auto it = st.vms.find(id);
  if (it == st.vms.end())
    return;
  st.names.erase(it->second.record.name);
  release_address(st, it->second.address_index);
  st.vms.erase(it);
}

std::string op_of(const Envelope& env) {
  return env.op_id;
}

/// Validates a create request and builds the new record; reserves name and
/// address (released again if persisting fails).
Result<std::pair<VmRecord, const Image*>> prepare_vm(Self self, const VmSpec& spec) {
  auto& st = self->state;
  auto image = resolve_image(st, spec.image);
  if (!image)
    return std::move(image).error();
  VmRecord rec;
  rec.id = mint_vm_id(
    mint_object_id, [&](const std::string& short_id) { return has_prefix(st.vms, short_id); },
    device_exists);
  if (rec.id.empty())
    return Error{Errc::conflict, "no free tap name found for a new VM in 64 draws; "
                                 "the host has too many tap-fc-* devices"};
  rec.name = spec.name.empty() ? "vm-" + rec.id.substr(0, 8) : spec.name;
  if (!is_valid_name(rec.name))
    return Error{Errc::invalid_argument,
                 "invalid VM name " + excerpt(rec.name) + ": use [a-z0-9][a-z0-9-]{0,62}"};
  if (st.names.count(rec.name))
    return Error{Errc::already_exists, "a VM named " + excerpt(rec.name) + " already exists"};
  rec.cpus = spec.cpus == 0 ? default_cpus : spec.cpus;
  if (rec.cpus > max_cpus)
    return Error{Errc::invalid_argument, "cpus must be 1 to " + std::to_string(max_cpus)};
  rec.memory_mib = spec.memory_mib == 0 ? default_memory_mib : spec.memory_mib;
  if (rec.memory_mib < min_memory_mib || rec.memory_mib > max_memory_mib)
    return Error{Errc::invalid_argument, "memory must be " + std::to_string(min_memory_mib)
                                           + " to " + std::to_string(max_memory_mib) + " MiB"};
  auto index = allocate_address(st);
  if (!index)
    return Error{Errc::conflict, "no free guest address left in " + st.deps->settings.network_subnet};
  auto ip = st.deps->subnet.guest(*index);
  rec.image_id = (*image)->id;
  rec.created_at_us = rec.updated_at_us = now_us();
  rec.runtime.state = VmState::created;
  rec.runtime.guest_ip = format_ipv4(ip);
  rec.runtime.mac = mac_for(ip);
  rec.runtime.vsock_cid = cid_for(st.deps->subnet, ip);
  st.names[rec.name] = rec.id; // reserved until persisted or released
  return std::make_pair(std::move(rec), *image);
}

/// Persists the new record, spawns its actor and hands it the create work.
/// `done` gets the VM actor's reply (the created, maybe started, record).
void create_vm(Self self, const Envelope& env, const VmSpec& spec,
               std::function<void(Result<VmRecord>)> done) {
  auto prepared = prepare_vm(self, spec);
  if (!prepared) {
    done(std::move(prepared).error());
    return;
  }
  auto [rec, image] = std::move(*prepared);
  auto image_copy = *image;
  self->request(self->state.deps->store, caf::infinite, SaveVm{rec}) // see vm::local_request
    .then(
      [self, rec, image_copy, env, spec, done](Ack) {
        add_entry(self, rec, image_copy);
        auto& entry = self->state.vms.at(rec.id);
        self->request(entry.actor, caf::infinite,
                      VmCreateWork{env, image_copy.rootfs_path, spec.start, spec.wait})
          .then([done](VmRecord& created) { done(std::move(created)); },
                [done](caf::error& err) {
                  auto v = view(err);
                  done(Error{v.code, v.message});
                });
      },
      [self, rec, done](caf::error& err) {
        auto& st = self->state;
        st.names.erase(rec.name);
        if (auto index = address_index(st.deps->subnet, rec.runtime.guest_ip))
          release_address(st, *index);
        auto v = view(err);
        done(Error{v.code, v.message});
      });
}

void request_inventory(Self self) {
  auto& st = self->state;
  st.inventory_running = true;
  Envelope env;
  env.op_id = st.recovery_op;
  self->request(st.deps->helper, std::chrono::seconds(15), HelperInventoryRequest{env})
    .then(
      [self](HelperInventory& inventory) {
        auto& st = self->state;
        std::map<std::string, HelperInventory> slices;
        auto owner = [&](const std::string& vm_id) -> HelperInventory* {
          if (!st.vms.count(vm_id))
            return nullptr;
          return &slices[vm_id];
        };
        for (auto& tap : inventory.taps) {
          bool owned = false;
          for (auto& [id, entry] : st.vms)
            if (tap_name(id) == tap) {
              slices[id].taps.push_back(tap);
              owned = true;
              break;
            }
          if (!owned)
            log::warn("leftover tap with no VM record (banger doctor --fix removes it)",
                      {{"op_id", st.recovery_op}, {"tap", tap}});
        }
        for (auto& vmm : inventory.vmms) {
          if (auto slice = owner(vmm.vm_id))
            slice->vmms.push_back(vmm);
          else
            log::warn("leftover VMM with no VM record (banger doctor --fix kills it)",
                      {{"op_id", st.recovery_op}, {"vm_id", vmm.vm_id}, {"pid", vmm.pid}});
        }
        for (auto& dir : inventory.run_dirs) {
          if (auto slice = owner(dir))
            slice->run_dirs.push_back(dir);
          else
            log::warn("leftover runtime directory with no VM record",
                      {{"op_id", st.recovery_op}, {"vm_id", dir}});
        }
        std::size_t sent = 0;
        for (auto& [id, entry] : st.vms) {
          auto& slice = slices[id];
          Envelope env;
          env.op_id = st.recovery_op;
          caf::anon_send(entry.actor, VmReconcile{env, std::move(slice)});
          ++sent;
        }
        log::info("recovery: reconciling VMs with the host",
                  {{"op_id", st.recovery_op}, {"vms", static_cast<std::int64_t>(sent)}});
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
        log::warn("recovery waits for banger-helper",
                  {{"op_id", st.recovery_op}, {"error", view(err).message}});
        self->delayed_send(self, st.inventory_backoff, inventory_atom::value);
        st.inventory_backoff = std::min(st.inventory_backoff * 2, std::chrono::milliseconds(2000));
      });
}

} // namespace

bool is_valid_name(const std::string& name) {
  if (name.empty() || name.size() > 63)
    return false;
  auto ok = [](char c, bool first) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (!first && c == '-');
  };
  for (std::size_t i = 0; i < name.size(); ++i)
    if (!ok(name[i], i == 0))
      return false;
  return true;
}

namespace {

registry_impl::behavior_type registry_behavior(Self self, RegistryInit init) {
  auto& st = self->state;
  st.deps = std::make_shared<VmDeps>(std::move(init.deps));
  st.deps->events = caf::actor_cast<vm_events_actor>(self);
  for (auto& image : init.images)
    st.images.emplace(image.id, std::move(image));
  for (auto& vm : init.vms) {
    // The stage is the progress of an operation, persisted with the record
    // mid-operation; no operation survives a restart, so none is running.
    vm.runtime.stage.clear();
    auto image = st.images.find(vm.image_id);
    add_entry(self, std::move(vm), image == st.images.end() ? Image{} : image->second);
  }
  st.recovery_op = mint_op_id();
  self->send(self, inventory_atom::value);
  // VM actors are not linked (one failing must not take the registry down),
  // so shutdown reaches them from here.
  self->set_exit_handler([self](const caf::exit_msg& msg) {
    for (auto& [id, entry] : self->state.vms)
      caf::anon_send_exit(entry.actor, caf::exit_reason::user_shutdown);
    self->quit(msg.reason);
  });
  return {
    // -- images -------------------------------------------------------------
    [self](ImageAddRequest& req) -> caf::result<Image> {
      auto& st = self->state;
      auto op = op_of(req.env);
      if (!is_valid_name(req.name))
        return make_error(Errc::invalid_argument,
                          "invalid image name " + excerpt(req.name) + ": use [a-z0-9][a-z0-9-]{0,62}", op);
      for (auto& [id, image] : st.images)
        if (image.name == req.name)
          return make_error(Errc::already_exists, "an image named " + excerpt(req.name) + " already exists", op);
      // One answer for missing, unreadable and outside alike (is_image_file).
      auto images = HomeLayout{st.deps->home}.images_dir();
      for (auto* path : {&req.kernel_path, &req.rootfs_path, &req.initrd_path}) {
        if (path == &req.initrd_path && path->empty())
          continue;
        if (!is_image_file(images, *path))
          return make_error(Errc::invalid_argument,
                            "not a regular file beneath " + images.string() + ": " + excerpt(*path),
                            op);
      }
      Image image{mint_object_id(), req.name, req.kernel_path, req.initrd_path, req.rootfs_path,
                  req.boot_args, now_us()};
      auto promise = self->make_response_promise<Image>();
      self->request(st.deps->store, std::chrono::seconds(60), SaveImage{image})
        .then(
          [self, image, promise](Ack) mutable {
            self->state.images.emplace(image.id, image);
            log::info("image added", {{"image", image.name}, {"image_id", image.id}});
            promise.deliver(image);
          },
          [promise, op](caf::error& err) mutable { promise.deliver(with_op_id(err, op)); });
      return promise;
    },
    [self](ImageListRequest&) {
      ImageList list;
      for (auto& [id, image] : self->state.images)
        list.images.push_back(image);
      std::sort(list.images.begin(), list.images.end(),
                [](const Image& a, const Image& b) { return a.name < b.name; });
      return list;
    },
    [self](ImageShowRequest& req) -> caf::result<Image> {
      auto image = resolve_image(self->state, req.ref);
      if (!image)
        return to_caf_error(image.error(), req.env.op_id);
      return **image;
    },
    [self](ImageRemoveRequest& req) -> caf::result<Image> {
      auto& st = self->state;
      auto op = op_of(req.env);
      auto image = resolve_image(st, req.ref);
      if (!image)
        return to_caf_error(image.error(), op);
      auto victim = **image;
      for (auto& [id, entry] : st.vms)
        if (entry.record.image_id == victim.id)
          return make_error(Errc::conflict, "image " + excerpt(victim.name) + " is used by VM "
                                              + excerpt(entry.record.name), op);
      auto promise = self->make_response_promise<Image>();
      self->request(st.deps->store, std::chrono::seconds(60), EraseImage{victim.id})
        .then(
          [self, victim, promise](Ack) mutable {
            self->state.images.erase(victim.id);
            promise.deliver(victim);
          },
          [promise, op](caf::error& err) mutable { promise.deliver(with_op_id(err, op)); });
      return promise;
    },
    [self](DaemonStatusRequest&) {
      DaemonStatus status;
      std::map<std::string, std::uint32_t> counts;
      for (auto& [id, entry] : self->state.vms)
        ++counts[std::string(to_string(entry.record.runtime.state))];
      for (auto& [state, count] : counts)
        status.vms_by_state.push_back(StateCount{state, count});
      return status;
    },
    // -- VMs ------------------------------------------------------------------
    [self](VmCreateRequest& req) {
      auto promise = self->make_response_promise<VmRecord>();
      auto op = req.env.op_id;
      create_vm(self, req.env, req.spec, [promise, op](Result<VmRecord> result) mutable {
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
      OperationStatus status;
      status.op_id = op;
      status.kind = "vm.create";
      status.stage = "allocate";
      status.started_at_us = now_us();
      self->send(st.deps->operations, OpProgress{status});
      // The one operation whose id a client holds while it runs: recorded
      // as running, so that after a crash the next daemon marks it
      // interrupted (Store::fail_running_operations) instead of `op show`
      // answering not_found. Ahead of the record's own SaveVm from here,
      // so the final status (saved later) always wins.
      self->request(st.deps->store, caf::infinite, SaveOperation{status})
        .then([](Ack) {},
              [op](caf::error& err) {
                log::warn("could not record operation", {{"op_id", op}, {"error", view(err).message}});
              });
      create_vm(self, req.env, req.spec, [self, status](Result<VmRecord> result) mutable {
        // On success the VM actor has reported the outcome itself; failures
        // before it existed are reported here.
        if (result)
          return;
        status.outcome = OperationOutcome::failed;
        status.error_code = static_cast<std::uint8_t>(result.error().code);
        status.error_message = result.error().message;
        status.finished_at_us = now_us();
        self->send(self->state.deps->operations, OpProgress{status});
      });
      return OpAccepted{op};
    },
    [self](VmListRequest&) {
      VmList list;
      list.vms.reserve(self->state.vms.size());
      for (auto& [id, entry] : self->state.vms)
        list.vms.push_back(entry.record);
      std::sort(list.vms.begin(), list.vms.end(),
                [](const VmRecord& a, const VmRecord& b) { return a.name < b.name; });
      return list;
    },
    [self](VmShowRequest& req) -> caf::delegated<VmRecord> {
      auto entry = resolve(self->state, req.ref);
      if (!entry) {
        auto rp = self->make_response_promise<VmRecord>();
        rp.deliver(to_caf_error(entry.error(), req.env.op_id));
        return {};
      }
      return self->delegate((*entry)->actor, std::move(req));
    },
    [self](VmActionRequest& req) -> caf::delegated<VmRecord> {
      auto entry = resolve(self->state, req.ref);
      if (!entry) {
        auto rp = self->make_response_promise<VmRecord>();
        rp.deliver(to_caf_error(entry.error(), req.env.op_id));
        return {};
      }
      return self->delegate((*entry)->actor, std::move(req));
    },
    [self](VmChanged& changed) {
      auto it = self->state.vms.find(changed.vm.id);
      if (it != self->state.vms.end())
        it->second.record = std::move(changed.vm);
    },
    [self](VmRetired& retired) { remove_entry(self->state, retired.id); },
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
      log::info("banger-helper is back: reconciling VMs with the host", {{"op_id", st.recovery_op}});
      request_inventory(self);
    },
  };
}

} // namespace

registry_actor spawn_registry(caf::actor_system& sys, RegistryInit init) {
  return caf::actor_cast<registry_actor>(sys.spawn(registry_behavior, std::move(init)));
}

} // namespace banger
