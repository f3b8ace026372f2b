// One sample of every wire type, every field set to a non-default value, so
// that a field missing from an inspect() overload or a type missing from
// register_messages() makes the round-trip tests fail.
#pragma once

#include "messages/errc.hpp"
#include "messages/cli_protocol.hpp"
#include "messages/helper_protocol.hpp"
#include "messages/host_protocol.hpp"

#include <tuple>

namespace banger::samples {

inline Envelope envelope() {
  return Envelope{7, "op-0123456789ab", "token-\x01\xff"};
}

inline Image image() {
  return Image{"00112233aabbccdd", "debian-12", "/k/vmlinux", "/k/initrd",
               "/i/rootfs.ext4", "console=ttyS0 quiet", 1'700'000'000'123'456, true};
}

inline BootTimings boot() {
  return BootTimings{11, 22, 33, 44, 55};
}

inline SavedState saved_state() {
  return SavedState{"/vm/suspend.state", "/vm/suspend.mem", 268'439'552,
                    "00112233445566778899aabbccddeeff", 1'700'000'000'000'006,
                    "firecracker"};
}

inline SnapshotInfo snapshot() {
  return SnapshotInfo{"before-upgrade", 1'700'000'000'000'007, VmState::paused,
                      "/vm/snapshots/before-upgrade/disk.img", 4096, saved_state(),
                      "op-0123456789ab"};
}

inline VmRuntime runtime() {
  return VmRuntime{VmState::running, "configure_vmm", 4242, 987654321,
                   "/run/api.sock", "/run/vsock.sock", 17, "172.30.0.17",
                   "06:00:ac:1e:00:11", "tap-fc-00112233", "/vm/rootfs.img",
                   "/vm", "/vm/vmm.log", "boom \"quoted\"", StopRung::timeout,
                   boot(), 1'700'000'000'000'008, saved_state(), "1.0"};
}

inline VmRecord vm() {
  return VmRecord{"aabbccddeeff0011", "web-1", "00112233aabbccdd", 2, 256,
                  1'700'000'000'000'001, 1'700'000'000'000'002, runtime(), "h2",
                  {snapshot()}, {PortMapping{8080, 80, "tcp"}, PortMapping{5353, 53, "udp"}}};
}

inline StageRecord stage() {
  return StageRecord{"spawn_vmm", 1'700'000'000'000'003, 1500, false};
}

inline OperationStatus operation() {
  return OperationStatus{"op-0123456789ab", "vm.create", "aabbccddeeff0011",
                         "prepare_rootfs", 3, 7, OperationOutcome::failed,
                         static_cast<std::uint8_t>(Errc::vmm_failed), "bad",
                         1'700'000'000'000'004, 1'700'000'000'000'005,
                         {stage(), StageRecord{"b", 9, 10, true}}};
}

inline VmSpec spec() {
  return VmSpec{"web-2", "debian-12", 4, 512, true, false, true, 1 << 30, "h3",
                {PortMapping{8080, 80, "tcp"}}};
}

inline HostIntro intro() {
  return HostIntro{"h1", "h2", 0x1122334455667788, protocol_version, "0.1.0", "172.31.1.0/24",
                   2, 8192, "-----BEGIN CERTIFICATE-----", "00112233445566778899aabbccddeeff",
                   "token-aabbcc"};
}

inline NameBinding binding() {
  return NameBinding{"web", "h2", "aabbccddeeff0011", "op-0123456789ab", true, 0};
}

/// Every type that crosses a process boundary, in registration order.
inline auto all() {
  return std::make_tuple(
    envelope(), image(), boot(), saved_state(), snapshot(), runtime(), vm(), stage(),
    operation(), Ack{"op-aaaaaaaaaaaa"}, OpAccepted{"op-bbbbbbbbbbbb"},
    DaemonStatusRequest{envelope()}, StateCount{"running", 3},
    DaemonStatus{"0.1.0", 1, "/home", "qemu", true, {"reflink", "copy"},
                 {StateCount{"running", 2}, StateCount{"stopped", 1}}, 99, "tcg (auto: why)"},
    ImageAddRequest{envelope(), "img", "/k", "/r", "/i", "quiet", true},
    ImageAddBeginRequest{envelope(), "img", "/k", "/r", "/i", "quiet", true},
    ImageAddStatusRequest{envelope(), "op-dddddddddddd"},
    ImageAddStatus{"op-dddddddddddd", true, "rootfs", 1 << 20, 2 << 20, "rootfs: reflink", image()},
    ImageListRequest{envelope()}, ImageList{{image(), image()}},
    ImageShowRequest{envelope(), "img"}, ImageRemoveRequest{envelope(), "img"},
    spec(), VmCreateRequest{envelope(), spec()},
    VmCreateBeginRequest{envelope(), spec()},
    OpStatusRequest{envelope(), "op-cccccccccccc"}, VmListRequest{envelope()},
    VmList{{vm(), vm()}, {"h4"}}, VmShowRequest{envelope(), "web"},
    VmActionRequest{envelope(), "web", VmAction::kill, "KILL", true, true},
    VmLogReadRequest{envelope(), "web", 4096, 65536},
    VmLogChunk{std::string("boot\0log\n", 9), 4096, 4105, 5000, true},
    VmExecRequest{envelope(), "web", {"sh", "-c", "echo hi"}, {"A=1"}, "/root", true, 24, 80},
    VmSessionStarted{"aabbccddeeff0011", 3, 4242, 0, 0},
    VmSessionIoRequest{envelope(), "aabbccddeeff0011", 3, std::string("in\0put", 6), true, 15, 24, 80,
                       1000, false},
    VmSessionIo{"out", "err", true, 3, 0},
    VmFileReadRequest{envelope(), "web", "/etc/hostname"},
    VmFileWriteRequest{envelope(), "web", 0, "/root/f", 0644, 3, "abc", true},
    VmFileWritten{"aabbccddeeff0011", 4, 3, true},
    DoctorRequest{envelope(), true},
    DoctorFinding{"tap", "tap-fc-deadbeef", "no VM owns it", true},
    DoctorReport{{DoctorFinding{"rootfs", "/x", "leak", false}}},
    ClusterStatusRequest{envelope()},
    ClusterHostStatus{"h1", "10.77.0.1:7430", "up", 5, 300, 2, 3, 4096, "0.1.0", 77},
    ClusterStatus{"h1", {ClusterHostStatus{"h2", "10.77.0.2:7430", "down", 6, 0, 0, 0, 0, "", 0}}},
    intro(),
    HostChallengeRequest{envelope()}, HostChallenge{"00112233445566778899aabbccddeeff"},
    HostHelloRequest{envelope(), intro(), "ffeeddccbbaa99887766554433221100", "abcd", caf::actor{}},
    HostWelcome{intro(), "dcba", caf::actor{}},
    HostPing{envelope()}, HostPong{77, 3, 2, 1024},
    binding(),
    HostListRequest{envelope(), {"h3"}}, HostListReply{{vm()}, {binding()}},
    NameReserveRequest{envelope(), "web", "h2"},
    NameBindRequest{envelope(), "web", "aabbccddeeff0011", "h2"},
    NameReleaseRequest{envelope(), "web"},
    NameDropRequest{envelope(), "web", "aabbccddeeff0011"},
    NamesHeldRequest{envelope(), "h2", {binding()}},
    HelperInfoRequest{envelope()},
    HelperInfo{"0.1.0", {"copy"}, "banger0", "firecracker", "kvm (vmm.accel=kvm)"},
    TapDeleteRequest{envelope(), "aabbccddeeff0011", "tap-fc-aabbccdd"},
    RootfsPrepareRequest{envelope(), "aabbccddeeff0011", "/images/r.ext4"},
    RootfsPrepared{"/vm/rootfs.img", "reflink"},
    RootfsReleaseRequest{envelope(), "aabbccddeeff0011"},
    VmmLaunchRequest{envelope(), "aabbccddeeff0011", 2, 256, "/k", "/i",
                     "console=ttyS0", "tap-fc-aabbccdd", "06:00:ac:1e:00:11"},
    VmmLaunched{77, 88, "/run/api.sock", "/vm/vmm.log", "/images/k", "/images/i",
                "/vm/rootfs.img", "/run/vsock.sock"},
    VmmSignalRequest{envelope(), "aabbccddeeff0011", 77, 88, "TERM"},
    RuntimeRemoveRequest{envelope(), "aabbccddeeff0011"},
    HelperInventoryRequest{envelope()},
    VmmProcess{"aabbccddeeff0011", 77, 88},
    HelperInventory{{"tap-fc-aabbccdd"},
                    {VmmProcess{"aabbccddeeff0011", 77, 88}},
                    {"aabbccddeeff0011"},
                    {"1122334455667788"},
                    {"aabbccddeeff0011"}},
    PeerRouteRequest{envelope(), "172.31.3.0/24", "10.77.0.3"},
    PortsPublishRequest{envelope(), "aabbccddeeff0011", "172.30.0.17", {PortMapping{8080, 80, "tcp"}}},
    PortsUnpublishRequest{envelope(), "aabbccddeeff0011"});
}

} // namespace banger::samples
