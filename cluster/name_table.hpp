// The names a host owns (name_owner() in messages/cluster_hosts.hpp), as
// its owner keeps them: the one writer for each of these names, so the
// uniqueness of a VM name across the cluster rests on this table alone.
// A create reserves the name (idempotent by op_id), creates the VM on its
// host, then binds it; a failed create releases it, a deleted VM drops it,
// and a reservation nobody binds expires so a crashed create cannot keep a
// name forever. When a host's link comes up, reconcile() settles what that
// host has against what the table says.
//
// Pure: no actor, no clock, no storage. Every mutating call returns the
// rows to persist; the owner saves them (SaveNames) before it replies, so
// what a reply promises survives a restart (load() reads them back).
#pragma once

#include "messages/host_protocol.hpp"
#include "messages/result.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace banger::cluster {

/// What a call changed, to persist before replying: rows to write and
/// names to erase. Empty when the call changed nothing (a repeated reserve
/// or bind).
struct NameChanges {
  std::vector<NameBinding> upsert;
  std::vector<std::string> erase;

  bool empty() const { return upsert.empty() && erase.empty(); }
  bool operator==(const NameChanges&) const = default;
};

/// A name a host says it has a VM of while the table keeps it bound to a
/// VM on another host. Not resolved here: two VMs of one name is a fault
/// (a cluster.hosts change that moved owners, a lost database) an operator
/// must see, and neither VM is wrong to exist.
struct NameConflict {
  std::string name;
  NameBinding held;   ///< what the reporting host has
  NameBinding holder; ///< what the table keeps
};

struct Reconciled {
  NameChanges changes;
  std::vector<NameConflict> conflicts;
};

class NameTable {
public:
  /// How long a reservation holds its name without a bind: long enough for
  /// a create that copies a large rootfs, short enough that a create whose
  /// host died frees the name the same day.
  static constexpr std::chrono::microseconds default_lifetime = std::chrono::minutes(10);

  explicit NameTable(std::chrono::microseconds reservation_lifetime = default_lifetime);

  /// Replaces the table with the stored rows (Store::list_names).
  void load(std::vector<NameBinding> rows);

  /// Holds `name` for the create `op_id` that makes its VM on `host`.
  /// The same op_id again succeeds, moving the reservation to `host` (a
  /// create placed elsewhere after a capacity error) and renewing it once
  /// past half its lifetime. already_exists, naming the host, when a VM has the
  /// name or another create's reservation is still alive; an expired one
  /// is taken over.
  Result<NameChanges> reserve(const std::string& name, const std::string& host,
                              const std::string& op_id, std::int64_t now_us);

  /// The create `op_id` made VM `vm_id` on `host`: the name is bound to
  /// it. Also when the reservation expired (or was swept) and nobody else
  /// took the name meanwhile; binding again the same VM succeeds and
  /// changes nothing. conflict, naming the host, when another create or
  /// another VM holds the name.
  Result<NameChanges> bind(const std::string& name, const std::string& op_id,
                           const std::string& vm_id, const std::string& host);

  /// The create `op_id` failed: its reservation goes. A binding, or another
  /// create's reservation, stays.
  NameChanges release(const std::string& name, const std::string& op_id);

  /// VM `vm_id` was deleted: its binding goes. Anything else under the
  /// name (another VM's binding, a reservation) stays.
  NameChanges drop(const std::string& name, const std::string& vm_id);

  /// `host` says it has exactly the VMs in `held` among the names this
  /// table owns (NamesHeldRequest). A held name the table lacks, keeps
  /// only reserved (by any create) or binds to another VM of `host` is
  /// bound to the held VM: the VM that exists wins. One bound on another
  /// host is left and reported. Bindings of `host` that are not held were deleted
  /// while it could not say so and go. Reservations still alive are creates
  /// in flight and stay; expired ones of `host` go with its bindings.
  Reconciled reconcile(const std::string& host, const std::vector<NameBinding>& held,
                       std::int64_t now_us);

  /// Erases every reservation expired at `now_us` (bindings never expire).
  NameChanges sweep(std::int64_t now_us);

  /// The bound names whose VMs live on one of `hosts`, ordered by name
  /// (HostListRequest::names_of: VMs of hosts the asker cannot reach).
  std::vector<NameBinding> bindings_of(const std::vector<std::string>& hosts) const;

  /// The entry of `name`, or nullptr.
  const NameBinding* find(const std::string& name) const;

  std::size_t size() const { return names_.size(); }

private:
  bool expired(const NameBinding& entry, std::int64_t now_us) const;
  NameChanges put(NameBinding entry);
  NameChanges erase(const std::string& name);

  std::chrono::microseconds lifetime_;
  std::map<std::string, NameBinding> names_;
};

} // namespace banger::cluster
