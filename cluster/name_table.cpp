#include "cluster/name_table.hpp"

#include <algorithm>
#include <set>

namespace banger::cluster {

namespace {

/// Who holds a name, for the error a loser of the race reads.
std::string holder_of(const NameBinding& entry) {
  if (entry.bound)
    return "VM " + entry.vm_id + " on host " + entry.host;
  return "a create on host " + entry.host + " (" + entry.op_id + ")";
}

Error missing(const char* field) {
  return Error{Errc::invalid_argument, std::string("a name request needs ") + field};
}

} // namespace

NameTable::NameTable(std::chrono::microseconds reservation_lifetime)
  : lifetime_(reservation_lifetime) {}

void NameTable::load(std::vector<NameBinding> rows) {
  names_.clear();
  for (auto& row : rows) {
    auto name = row.name;
    names_.insert_or_assign(std::move(name), std::move(row));
  }
}

bool NameTable::expired(const NameBinding& entry, std::int64_t now_us) const {
  return !entry.bound && entry.expires_at_us <= now_us;
}

NameChanges NameTable::put(NameBinding entry) {
  NameChanges changes;
  changes.upsert.push_back(entry);
  auto name = entry.name;
  names_.insert_or_assign(std::move(name), std::move(entry));
  return changes;
}

NameChanges NameTable::erase(const std::string& name) {
  NameChanges changes;
  if (names_.erase(name) != 0)
    changes.erase.push_back(name);
  return changes;
}

Result<NameChanges> NameTable::reserve(const std::string& name, const std::string& host,
                                       const std::string& op_id, std::int64_t now_us) {
  if (name.empty())
    return missing("a name");
  if (host.empty())
    return missing("a host");
  if (op_id.empty())
    return missing("an op_id");
  NameBinding wanted{name, host, "", op_id, false, now_us + lifetime_.count()};
  auto it = names_.find(name);
  if (it == names_.end())
    return put(std::move(wanted));
  const auto& entry = it->second;
  // A bound name is taken even by the create that bound it: a reserve
  // after the bind is a second create, which must not make a second VM.
  if (!entry.bound && entry.op_id == op_id) {
    // Renewed only past half its life, so a retried reserve (a lost
    // reply) usually costs no write.
    if (entry.host == host && entry.expires_at_us - now_us > lifetime_.count() / 2)
      return NameChanges{};
    return put(std::move(wanted));
  }
  if (!entry.bound && expired(entry, now_us))
    return put(std::move(wanted));
  return Error{Errc::already_exists,
               "VM name " + name + " is already taken: " + holder_of(entry) + " has it"};
}

Result<NameChanges> NameTable::bind(const std::string& name, const std::string& op_id,
                                    const std::string& vm_id, const std::string& host) {
  if (name.empty())
    return missing("a name");
  if (host.empty())
    return missing("a host");
  if (vm_id.empty())
    return missing("a VM id");
  NameBinding bound{name, host, vm_id, op_id, true, 0};
  auto it = names_.find(name);
  // Gone (released by mistake, or swept after it expired): nobody else took
  // it, and the VM exists, so the name is its.
  if (it == names_.end())
    return put(std::move(bound));
  const auto& entry = it->second;
  if (entry.bound) {
    // The same VM again: a retried bind, or a reconcile that got here first.
    if (entry.vm_id == vm_id && entry.host == host)
      return NameChanges{};
    return Error{Errc::conflict,
                 "VM name " + name + " is bound to " + holder_of(entry) + ", not to VM " + vm_id};
  }
  // Expired or not: the reservation is this create's until someone else's
  // replaces it (reserve() takes over only expired ones).
  if (entry.op_id == op_id)
    return put(std::move(bound));
  return Error{Errc::conflict,
               "VM name " + name + " is held by " + holder_of(entry) + ", not by " + op_id};
}

NameChanges NameTable::release(const std::string& name, const std::string& op_id) {
  auto it = names_.find(name);
  if (it == names_.end() || it->second.bound || it->second.op_id != op_id)
    return {};
  return erase(name);
}

NameChanges NameTable::drop(const std::string& name, const std::string& vm_id) {
  auto it = names_.find(name);
  if (it == names_.end() || !it->second.bound || it->second.vm_id != vm_id)
    return {};
  return erase(name);
}

Reconciled NameTable::reconcile(const std::string& host, const std::vector<NameBinding>& held,
                                std::int64_t now_us) {
  Reconciled out;
  auto add = [&](NameChanges changes) {
    for (auto& row : changes.upsert)
      out.changes.upsert.push_back(std::move(row));
    for (auto& name : changes.erase)
      out.changes.erase.push_back(std::move(name));
  };
  std::set<std::string> held_names;
  for (const auto& vm : held) {
    if (vm.name.empty() || vm.vm_id.empty())
      continue; // not a VM: nothing to bind
    held_names.insert(vm.name);
    // The link says which host this is; the list only what it has.
    NameBinding bound{vm.name, host, vm.vm_id, vm.op_id, true, 0};
    auto it = names_.find(vm.name);
    if (it == names_.end()) {
      add(put(std::move(bound)));
      continue;
    }
    const auto& entry = it->second;
    if (entry.bound && entry.host != host) {
      out.conflicts.push_back(NameConflict{vm.name, bound, entry});
      continue;
    }
    if (entry.bound && entry.vm_id == vm.vm_id)
      continue;
    // A reservation, or a binding of this host to a VM it no longer has:
    // the VM that exists wins. A create still holding the reservation
    // fails at its bind (conflict) instead of making a second VM visible.
    add(put(std::move(bound)));
  }
  std::vector<std::string> gone;
  for (const auto& [name, entry] : names_) {
    if (entry.host != host || held_names.count(name) != 0)
      continue;
    if (entry.bound || expired(entry, now_us))
      gone.push_back(name);
  }
  for (const auto& name : gone)
    add(erase(name));
  return out;
}

NameChanges NameTable::sweep(std::int64_t now_us) {
  NameChanges changes;
  for (auto it = names_.begin(); it != names_.end();) {
    if (expired(it->second, now_us)) {
      changes.erase.push_back(it->first);
      it = names_.erase(it);
    } else {
      ++it;
    }
  }
  return changes;
}

std::vector<NameBinding> NameTable::bindings_of(const std::vector<std::string>& hosts) const {
  std::vector<NameBinding> out;
  if (hosts.empty())
    return out;
  for (const auto& [name, entry] : names_)
    if (entry.bound && std::find(hosts.begin(), hosts.end(), entry.host) != hosts.end())
      out.push_back(entry);
  return out;
}

const NameBinding* NameTable::find(const std::string& name) const {
  auto it = names_.find(name);
  return it == names_.end() ? nullptr : &it->second;
}

} // namespace banger::cluster
