#include "actors/directory_actor.hpp"
#include "messages/sheltered.hpp"

#include "messages/error.hpp"
#include "messages/excerpt.hpp"
#include "messages/log.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <map>
#include <unordered_map>

namespace banger {

namespace {

const log::Logger log_{"directory"};

struct Entry {
  vm_actor actor;
  VmRecord record; ///< latest state the VM actor published
};

struct DirectoryState {
  DirectoryState() = default; // not an aggregate: CAF must not build it from `self`
  std::map<std::string, Entry> vms; ///< by id, ordered for prefix lookups
  /// name -> id, for committed VMs and reservations alike (a name is taken
  /// from its reservation on); `reserved` tells the two apart.
  std::unordered_map<std::string, std::string> names;
  std::unordered_map<std::string, std::string> reserved; ///< name -> id, not yet committed
  std::vector<vm_events_actor> watchers; ///< told every change after the directory applied it
  static inline const char* name = "directory";
};

using Self = sheltered_pointer<directory_actor, DirectoryState>;

bool is_hex(const std::string& s) {
  return !s.empty() && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

/// Resolves a VM ref: exact id, exact name, then unique id prefix.
Result<const Entry*> resolve(const DirectoryState& st, const std::string& ref) {
  if (ref.empty())
    return Error{Errc::invalid_argument, "empty VM reference"};
  if (auto it = st.vms.find(ref); it != st.vms.end())
    return &it->second;
  if (auto it = st.names.find(ref); it != st.names.end()) {
    // Reserved but not yet durable: there is no VM actor to hand out.
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

directory_actor::behavior_type directory_behavior(Self self) {
  return {
    [self](VmLookup& req) -> caf::result<VmHandle> {
      auto entry = resolve(self->state, req.ref);
      if (!entry)
        return to_caf_error(entry.error(), req.env.op_id);
      return VmHandle{(*entry)->record.id, (*entry)->actor};
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
    [self](NameReserve& req) -> caf::result<Ack> {
      auto& st = self->state;
      if (st.names.count(req.name))
        return make_error(Errc::already_exists, "a VM named " + excerpt(req.name) + " already exists",
                          {});
      st.names.emplace(req.name, req.id);
      st.reserved.emplace(req.name, req.id);
      return Ack{};
    },
    [self](NameCommit& req) -> caf::result<Ack> {
      auto& st = self->state;
      auto it = st.reserved.find(req.name);
      if (it == st.reserved.end() || it->second != req.vm.id) {
        log_.error("commit of a name that was not reserved for this VM",
                   {{"vm", req.name}, {"vm_id", req.vm.id}});
        return make_error(Errc::internal, "name " + excerpt(req.name) + " was not reserved for VM "
                                            + req.vm.id, {});
      }
      st.reserved.erase(it);
      auto id = req.vm.id;
      st.vms.emplace(std::move(id), Entry{std::move(req.actor), std::move(req.vm)});
      return Ack{};
    },
    [self](NameRelease& req) -> caf::result<Ack> {
      // Only a reservation is released: a committed name goes with its VM
      // (VmRetired), never because a late or repeated release arrives.
      auto& st = self->state;
      if (auto it = st.reserved.find(req.name); it != st.reserved.end() && it->second == req.id) {
        st.reserved.erase(it);
        st.names.erase(req.name);
      }
      return Ack{};
    },
    [self](DirectoryWatch& watch) { self->state.watchers.push_back(std::move(watch.node)); },
    [self](VmChanged& changed) {
      auto& st = self->state;
      auto it = st.vms.find(changed.vm.id);
      if (it != st.vms.end())
        it->second.record = changed.vm;
      for (auto& watcher : st.watchers)
        self->send(watcher, changed);
    },
    [self](VmRetired& retired) {
      auto& st = self->state;
      if (auto it = st.vms.find(retired.id); it != st.vms.end()) {
        retired.name = it->second.record.name;
        st.names.erase(it->second.record.name);
        st.vms.erase(it);
      }
      for (auto& watcher : st.watchers)
        self->send(watcher, retired);
    },
  };
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

directory_actor spawn_directory(caf::actor_system& sys) {
  return sys.spawn(directory_behavior);
}

} // namespace banger
