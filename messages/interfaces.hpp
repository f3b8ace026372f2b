// The typed interfaces of banger's actors: what each actor accepts and what it
// answers. Everything crossing a process boundary is listed in requests.hpp
// and registered by register_messages().
#pragma once

#include "messages/daemon_messages.hpp"
#include "messages/requests.hpp"

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

namespace banger {

/// One VM: serializes lifecycle requests, answers show at once.
using vm_actor = caf::typed_actor<
  caf::replies_to<VmShowRequest>::with<VmRecord>,
  caf::replies_to<VmActionRequest>::with<VmRecord>,
  caf::replies_to<VmCreateWork>::with<VmRecord>,
  caf::replies_to<VmReconcile>::with<VmRecord>,
  caf::reacts_to<VmmExited>>;

/// Asks the registry for the actor of the VM a ref names.
struct VmResolveRequest {
  Envelope env;
  std::string ref;

  bool operator==(const VmResolveRequest&) const = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, VmResolveRequest& x) {
  return f(caf::meta::type_name("banger.VmResolveRequest"), x.env, x.ref);
}

/// Names, ids and prefixes -> VM actors; allocation of names, IPs, MACs and
/// CIDs; spawns and retires VM actors; the image catalog (an image in use
/// cannot be removed). DaemonStatusRequest answers the VM counts by state. Show and lifecycle requests are
/// delegated to the VM's actor, which replies to the original caller.
using registry_actor = caf::typed_actor<
  caf::replies_to<ImageAddRequest>::with<Image>,
  caf::replies_to<ImageListRequest>::with<ImageList>,
  caf::replies_to<ImageShowRequest>::with<Image>,
  caf::replies_to<ImageRemoveRequest>::with<Image>,
  caf::replies_to<DaemonStatusRequest>::with<DaemonStatus>,
  caf::replies_to<VmResolveRequest>::with<vm_actor>,
  caf::replies_to<VmCreateRequest>::with<VmRecord>,
  caf::replies_to<VmCreateBeginRequest>::with<OpAccepted>,
  caf::replies_to<VmListRequest>::with<VmList>,
  caf::replies_to<VmShowRequest>::with<VmRecord>,
  caf::replies_to<VmActionRequest>::with<VmRecord>,
  caf::reacts_to<VmChanged>,
  caf::reacts_to<VmRetired>>;

/// The daemon's front door, published over mutual TLS.
using control_actor = caf::typed_actor<
  caf::replies_to<DaemonStatusRequest>::with<DaemonStatus>,
  caf::replies_to<ImageAddRequest>::with<Image>,
  caf::replies_to<ImageListRequest>::with<ImageList>,
  caf::replies_to<ImageShowRequest>::with<Image>,
  caf::replies_to<ImageRemoveRequest>::with<Image>,
  caf::replies_to<VmCreateRequest>::with<VmRecord>,
  caf::replies_to<VmCreateBeginRequest>::with<OpAccepted>,
  caf::replies_to<OpStatusRequest>::with<OperationStatus>,
  caf::replies_to<VmListRequest>::with<VmList>,
  caf::replies_to<VmShowRequest>::with<VmRecord>,
  caf::replies_to<VmActionRequest>::with<VmRecord>,
  caf::replies_to<DoctorRequest>::with<DoctorReport>>;

/// banger-helper: the closed list of privileged operations.
using helper_actor = caf::typed_actor<
  caf::replies_to<HelperInfoRequest>::with<HelperInfo>,
  caf::replies_to<BridgeEnsureRequest>::with<Ack>,
  caf::replies_to<TapCreateRequest>::with<Ack>,
  caf::replies_to<TapDeleteRequest>::with<Ack>,
  caf::replies_to<RootfsPrepareRequest>::with<RootfsPrepared>,
  caf::replies_to<RootfsReleaseRequest>::with<Ack>,
  caf::replies_to<VmmLaunchRequest>::with<VmmLaunched>,
  caf::replies_to<VmmSignalRequest>::with<Ack>,
  caf::replies_to<RuntimeRemoveRequest>::with<Ack>,
  caf::replies_to<HelperInventoryRequest>::with<HelperInventory>>;

} // namespace banger
