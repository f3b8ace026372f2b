// The API layer: turns an HTTP request into a typed VMM action or a fault,
// mirroring Firecracker's api_server/parsed_request.rs. It only parses and
// validates; all state lives in the Vmm.
#pragma once

#include "tools/fc-stub/decoder.hpp"
#include "tools/fc-stub/http.hpp"

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <variant>

namespace banger::fc_stub {

// Firecracker's VmmAction variants that the API can produce.
enum class ActionKind : std::uint8_t {
  ConfigureBootSource,
  ConfigureLogger,
  ConfigureMetrics,
  ConfigureSerial,
  CreateSnapshot,
  GetBalloonConfig,
  GetBalloonStats,
  GetFullVmConfig,
  GetMmds,
  GetVmMachineConfig,
  GetVmInstanceInfo,
  GetVmmVersion,
  GetMemoryHotplugStatus,
  GetFreePageHintingStatus,
  FlushMetrics,
  InsertBlockDevice,
  InsertNetworkDevice,
  InsertPmemDevice,
  LoadSnapshot,
  PatchMmds,
  Pause,
  PutMmds,
  PutCpuConfiguration,
  Resume,
  SendCtrlAltDel,
  SetBalloonDevice,
  SetEntropyDevice,
  SetMemoryHotplugDevice,
  SetMmdsConfiguration,
  SetVsockDevice,
  StartFreePageHinting,
  StartMicroVm,
  StopFreePageHinting,
  UpdateBalloon,
  UpdateBalloonStatistics,
  UpdateBlockDevice,
  UpdateMachineConfiguration,
  UpdateMemoryHotplugSize,
  UpdateNetworkInterface,
  UpdatePmemDevice,
  HotUnplugDevice,
};

struct VmmAction {
  ActionKind kind;
  OrderedJson body = nullptr;        // decoded request body, normalized
  nlohmann::json contents = nullptr; // MMDS data for PutMmds/PatchMmds
  std::string device_kind;           // HotUnplugDevice: drives/pmem/...
  std::string device_id;             // HotUnplugDevice
  // Set when the request used a deprecated field: Firecracker still serves
  // it but adds a "Deprecation: true" header and logs this warning.
  std::string deprecation;
};

/// A request the API layer refused before it reached the VMM.
struct ApiFault {
  int status;
  std::string message;
};

struct Routed {
  std::variant<VmmAction, ApiFault> outcome;
  // The PUT /actions action_type or the PATCH /vm state, when the body said
  // so: the request log and endpoint faults refer to it.
  std::string action_name;
};

Routed route(const http::Request& request);

} // namespace banger::fc_stub
