// FIXME: stand-in until the durable owner table lands; same calls.
#pragma once

#include "messages/host_protocol.hpp"
#include "messages/result.hpp"

#include <map>
#include <string>
#include <vector>

namespace banger::cluster {

struct NameChanges {
  std::vector<NameBinding> upsert;
  std::vector<std::string> erase;
  bool empty() const { return upsert.empty() && erase.empty(); }
};

class NameTable {
public:
  Result<NameChanges> reserve(const std::string& name, const std::string& host, const std::string& op_id,
                              std::int64_t now) {
    auto it = names_.find(name);
    if (it != names_.end()) {
      auto& b = it->second;
      if (!b.bound && b.op_id == op_id) {
        b.host = host;
        return NameChanges{{b}, {}};
      }
      if (b.bound || b.expires_at_us > now)
        return Error{Errc::already_exists, "a VM named " + name + (b.bound ? " already exists on host "
                                                                          : " is being created on host ")
                                             + b.host};
    }
    NameBinding b{name, host, {}, op_id, false, now + 600'000'000};
    names_[name] = b;
    return NameChanges{{b}, {}};
  }
  Result<NameChanges> bind(const std::string& name, const std::string& op_id, const std::string& vm_id,
                           const std::string& host, std::int64_t) {
    auto& b = names_[name];
    if (b.bound && b.vm_id != vm_id)
      return Error{Errc::conflict, "name " + name + " is bound to another VM"};
    b = NameBinding{name, host, vm_id, op_id, true, 0};
    return NameChanges{{b}, {}};
  }
  Result<NameChanges> release(const std::string& name, const std::string& op_id) {
    auto it = names_.find(name);
    if (it == names_.end() || it->second.bound || it->second.op_id != op_id)
      return NameChanges{};
    names_.erase(it);
    return NameChanges{{}, {name}};
  }
  Result<NameChanges> drop(const std::string& name, const std::string& vm_id) {
    auto it = names_.find(name);
    if (it == names_.end() || !it->second.bound || it->second.vm_id != vm_id)
      return NameChanges{};
    names_.erase(it);
    return NameChanges{{}, {name}};
  }
  Result<NameChanges> reconcile(const std::string& host, const std::vector<NameBinding>& held,
                                std::int64_t) {
    NameChanges out;
    std::map<std::string, const NameBinding*> by_name;
    for (auto& h : held)
      by_name[h.name] = &h;
    for (auto it = names_.begin(); it != names_.end();) {
      if (it->second.bound && it->second.host == host && !by_name.count(it->first)) {
        out.erase.push_back(it->first);
        it = names_.erase(it);
      } else
        ++it;
    }
    for (auto& h : held) {
      auto& b = names_[h.name];
      if (!b.bound || b.host == host) {
        b = NameBinding{h.name, host, h.vm_id, b.op_id, true, 0};
        out.upsert.push_back(b);
      }
    }
    return out;
  }
  std::vector<NameBinding> bindings_of(const std::vector<std::string>& hosts) const {
    std::vector<NameBinding> out;
    for (auto& [n, b] : names_)
      for (auto& h : hosts)
        if (b.host == h)
          out.push_back(b);
    return out;
  }

private:
  std::map<std::string, NameBinding> names_;
};

} // namespace banger::cluster
