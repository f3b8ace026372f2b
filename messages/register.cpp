#include "messages/register.hpp"

#include "messages/error.hpp"
#include "messages/cli_protocol.hpp"
#include "messages/helper_protocol.hpp"
#include "messages/host_protocol.hpp"

#include <caf/actor_system_config.hpp>

namespace banger {

void register_messages(caf::actor_system_config& cfg) {
  cfg.add_error_category(error_category, render_error);
  // Records (enums travel inside them, never alone).
  cfg.add_message_type<Envelope>("banger.Envelope");
  cfg.add_message_type<Image>("banger.Image");
  cfg.add_message_type<BootTimings>("banger.BootTimings");
  cfg.add_message_type<SavedState>("banger.SavedState");
  cfg.add_message_type<SnapshotInfo>("banger.SnapshotInfo");
  cfg.add_message_type<VmRuntime>("banger.VmRuntime");
  cfg.add_message_type<PortMapping>("banger.PortMapping");
  cfg.add_message_type<VmRecord>("banger.VmRecord");
  cfg.add_message_type<StageRecord>("banger.StageRecord");
  cfg.add_message_type<OperationStatus>("banger.OperationStatus");
  // Generic replies.
  cfg.add_message_type<Ack>("banger.Ack");
  cfg.add_message_type<OpAccepted>("banger.OpAccepted");
  // Control interface.
  cfg.add_message_type<DaemonStatusRequest>("banger.DaemonStatusRequest");
  cfg.add_message_type<StateCount>("banger.StateCount");
  cfg.add_message_type<DaemonStatus>("banger.DaemonStatus");
  cfg.add_message_type<ImageAddRequest>("banger.ImageAddRequest");
  cfg.add_message_type<ImageAddBeginRequest>("banger.ImageAddBeginRequest");
  cfg.add_message_type<ImageAddStatusRequest>("banger.ImageAddStatusRequest");
  cfg.add_message_type<ImageAddStatus>("banger.ImageAddStatus");
  cfg.add_message_type<ImageListRequest>("banger.ImageListRequest");
  cfg.add_message_type<ImageList>("banger.ImageList");
  cfg.add_message_type<ImageShowRequest>("banger.ImageShowRequest");
  cfg.add_message_type<ImageRemoveRequest>("banger.ImageRemoveRequest");
  cfg.add_message_type<VmSpec>("banger.VmSpec");
  cfg.add_message_type<VmCreateRequest>("banger.VmCreateRequest");
  cfg.add_message_type<VmCreateBeginRequest>("banger.VmCreateBeginRequest");
  cfg.add_message_type<OpStatusRequest>("banger.OpStatusRequest");
  cfg.add_message_type<VmListRequest>("banger.VmListRequest");
  cfg.add_message_type<VmList>("banger.VmList");
  cfg.add_message_type<VmShowRequest>("banger.VmShowRequest");
  cfg.add_message_type<VmActionRequest>("banger.VmActionRequest");
  cfg.add_message_type<VmCloneRequest>("banger.VmCloneRequest");
  cfg.add_message_type<VmLogReadRequest>("banger.VmLogReadRequest");
  cfg.add_message_type<VmLogChunk>("banger.VmLogChunk");
  cfg.add_message_type<VmExecRequest>("banger.VmExecRequest");
  cfg.add_message_type<VmSessionStarted>("banger.VmSessionStarted");
  cfg.add_message_type<VmSessionIoRequest>("banger.VmSessionIoRequest");
  cfg.add_message_type<VmSessionIo>("banger.VmSessionIo");
  cfg.add_message_type<VmFileReadRequest>("banger.VmFileReadRequest");
  cfg.add_message_type<VmFileWriteRequest>("banger.VmFileWriteRequest");
  cfg.add_message_type<VmFileWritten>("banger.VmFileWritten");
  cfg.add_message_type<DoctorRequest>("banger.DoctorRequest");
  cfg.add_message_type<DoctorFinding>("banger.DoctorFinding");
  cfg.add_message_type<DoctorReport>("banger.DoctorReport");
  cfg.add_message_type<ClusterStatusRequest>("banger.ClusterStatusRequest");
  cfg.add_message_type<ClusterHostStatus>("banger.ClusterHostStatus");
  cfg.add_message_type<ClusterStatus>("banger.ClusterStatus");
  cfg.add_message_type<Event>("banger.Event");
  cfg.add_message_type<EventsRequest>("banger.EventsRequest");
  cfg.add_message_type<EventBatch>("banger.EventBatch");
  // Host interface (cluster links).
  cfg.add_message_type<HostIntro>("banger.HostIntro");
  cfg.add_message_type<HostChallengeRequest>("banger.HostChallengeRequest");
  cfg.add_message_type<HostChallenge>("banger.HostChallenge");
  cfg.add_message_type<HostHelloRequest>("banger.HostHelloRequest");
  cfg.add_message_type<HostWelcome>("banger.HostWelcome");
  cfg.add_message_type<HostPing>("banger.HostPing");
  cfg.add_message_type<HostPong>("banger.HostPong");
  cfg.add_message_type<NameBinding>("banger.NameBinding");
  cfg.add_message_type<HostListRequest>("banger.HostListRequest");
  cfg.add_message_type<HostListReply>("banger.HostListReply");
  cfg.add_message_type<NameReserveRequest>("banger.NameReserveRequest");
  cfg.add_message_type<NameBindRequest>("banger.NameBindRequest");
  cfg.add_message_type<NameReleaseRequest>("banger.NameReleaseRequest");
  cfg.add_message_type<NameDropRequest>("banger.NameDropRequest");
  cfg.add_message_type<NamesHeldRequest>("banger.NamesHeldRequest");
  // Helper interface.
  cfg.add_message_type<HelperInfoRequest>("banger.HelperInfoRequest");
  cfg.add_message_type<HelperInfo>("banger.HelperInfo");
  cfg.add_message_type<TapDeleteRequest>("banger.TapDeleteRequest");
  cfg.add_message_type<RootfsPrepareRequest>("banger.RootfsPrepareRequest");
  cfg.add_message_type<RootfsPrepared>("banger.RootfsPrepared");
  cfg.add_message_type<RootfsReleaseRequest>("banger.RootfsReleaseRequest");
  cfg.add_message_type<VmmLaunchRequest>("banger.VmmLaunchRequest");
  cfg.add_message_type<VmmLaunched>("banger.VmmLaunched");
  cfg.add_message_type<VmmSignalRequest>("banger.VmmSignalRequest");
  cfg.add_message_type<RuntimeRemoveRequest>("banger.RuntimeRemoveRequest");
  cfg.add_message_type<HelperInventoryRequest>("banger.HelperInventoryRequest");
  cfg.add_message_type<VmmProcess>("banger.VmmProcess");
  cfg.add_message_type<HelperInventory>("banger.HelperInventory");
  cfg.add_message_type<PeerRouteRequest>("banger.PeerRouteRequest");
  cfg.add_message_type<PortsPublishRequest>("banger.PortsPublishRequest");
  cfg.add_message_type<PortsUnpublishRequest>("banger.PortsUnpublishRequest");
}

} // namespace banger
