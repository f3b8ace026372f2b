// The VMM's two controllers, as in Firecracker: requests before boot go to
// the pre-boot controller, afterwards to the runtime one. Queries that answer
// the same in both states are answered once, by query().
#include "tools/fc-stub/vmm.hpp"

#include "tools/fc-stub/options.hpp"
#include "tools/fc-stub/vmm_support.hpp"

namespace banger::fc_stub {

using namespace vmm_support;

Outcome Vmm::handle(const VmmAction& action) {
  // Firecracker hands requests to a different controller once booted.
  return state_ == VmState::NotStarted ? preboot(action) : runtime(action);
}

Outcome Vmm::query(ActionKind kind) const {
  switch (kind) {
  case ActionKind::GetFullVmConfig:
    return Outcome{200, full_config().dump()};
  case ActionKind::GetVmMachineConfig:
    return Outcome{200, machine_config_.dump()};
  case ActionKind::GetVmInstanceInfo:
    return instance_info();
  case ActionKind::GetVmmVersion:
  default: // only the four queries above are routed here
    return Outcome{
        200, OrderedJson{{"firecracker_version", firecracker_version}}.dump()};
  }
}

Outcome Vmm::preboot(const VmmAction& action) {
  switch (action.kind) {
  case ActionKind::ConfigureBootSource:
    boot_path_ = true;
    return reply(set_boot_source(action.body));
  case ActionKind::ConfigureLogger:
    return reply(configure_logger(action.body));
  case ActionKind::ConfigureMetrics:
    return reply(configure_metrics(action.body["metrics_path"]));
  case ActionKind::ConfigureSerial:
    serial_ = action.body;
    return {};
  case ActionKind::GetBalloonConfig:
    if (!balloon_)
      return render({Category::Balloon, "No balloon device found."});
    return Outcome{200, balloon_->dump()};
  case ActionKind::GetMmds:
    mmds_exists_ = true;
    return mmds_contents();
  case ActionKind::GetFullVmConfig:
  case ActionKind::GetVmMachineConfig:
  case ActionKind::GetVmInstanceInfo:
  case ActionKind::GetVmmVersion:
    return query(action.kind);
  case ActionKind::InsertBlockDevice:
    boot_path_ = true;
    return reply(insert_block_device(action.body));
  case ActionKind::InsertNetworkDevice:
    boot_path_ = true;
    return reply(insert_network_device(action.body));
  case ActionKind::InsertPmemDevice:
    boot_path_ = true;
    return reply(insert_pmem_device(action.body));
  case ActionKind::LoadSnapshot:
    return reply(load_snapshot(action.body));
  case ActionKind::PatchMmds:
    mmds_exists_ = true;
    return reply(patch_mmds(action.contents));
  case ActionKind::PutCpuConfiguration:
    cpu_config_ = action.body;
    return {};
  case ActionKind::PutMmds:
    mmds_exists_ = true;
    return reply(put_mmds(action.contents));
  case ActionKind::SetBalloonDevice:
    boot_path_ = true;
    return reply(set_balloon_device(action.body));
  case ActionKind::SetVsockDevice:
    boot_path_ = true;
    return reply(set_vsock_device(action.body));
  case ActionKind::SetMmdsConfiguration:
    boot_path_ = true;
    return reply(set_mmds_config(action.body));
  case ActionKind::StartMicroVm:
    return reply(start_microvm());
  case ActionKind::UpdateMachineConfiguration:
    boot_path_ = true;
    return reply(update_machine_config(action.body));
  case ActionKind::SetEntropyDevice:
    boot_path_ = true;
    entropy_ = action.body;
    return {};
  case ActionKind::SetMemoryHotplugDevice:
    boot_path_ = true;
    return reply(set_memory_hotplug(action.body));
  case ActionKind::CreateSnapshot:
  case ActionKind::FlushMetrics:
  case ActionKind::Pause:
  case ActionKind::Resume:
  case ActionKind::GetBalloonStats:
  case ActionKind::GetMemoryHotplugStatus:
  case ActionKind::UpdateBalloon:
  case ActionKind::UpdateBalloonStatistics:
  case ActionKind::UpdateBlockDevice:
  case ActionKind::UpdateMemoryHotplugSize:
  case ActionKind::UpdateNetworkInterface:
  case ActionKind::UpdatePmemDevice:
  case ActionKind::StartFreePageHinting:
  case ActionKind::GetFreePageHintingStatus:
  case ActionKind::StopFreePageHinting:
  case ActionKind::HotUnplugDevice:
  case ActionKind::SendCtrlAltDel:
    return render({Category::Plain, std::string(not_supported_pre_boot)});
  }
  return render({Category::Plain, std::string(not_supported_pre_boot)});
}

Outcome Vmm::runtime(const VmmAction& action) {
  switch (action.kind) {
  case ActionKind::CreateSnapshot:
    return reply(create_snapshot(action.body));
  case ActionKind::FlushMetrics:
    return reply(flush_metrics());
  case ActionKind::GetBalloonConfig:
    if (!balloon_)
      return render({Category::InternalVmm, "Invalid device type found."});
    return Outcome{200, balloon_->dump()};
  case ActionKind::GetBalloonStats: {
    if (!balloon_)
      return render({Category::InternalVmm, "Invalid device type found."});
    if ((*balloon_)["stats_polling_interval_s"] == 0)
      return render({Category::InternalVmm,
                     "Balloon: Statistics for the balloon device are not "
                     "enabled"});
    std::uint64_t amount = (*balloon_)["amount_mib"];
    return Outcome{200, OrderedJson{{"target_pages", amount * 256},
                                    {"actual_pages", amount * 256},
                                    {"target_mib", amount},
                                    {"actual_mib", amount}}
                            .dump()};
  }
  case ActionKind::GetFullVmConfig:
  case ActionKind::GetVmMachineConfig:
  case ActionKind::GetVmInstanceInfo:
  case ActionKind::GetVmmVersion:
    return query(action.kind);
  case ActionKind::GetMemoryHotplugStatus: {
    if (!memory_hotplug_)
      return render(
          {Category::InternalVmm, "Memory hotplug device is not configured"});
    OrderedJson status = *memory_hotplug_;
    status["plugged_size_mib"] = memory_hotplug_requested_mib_;
    status["requested_size_mib"] = memory_hotplug_requested_mib_;
    return Outcome{200, status.dump()};
  }
  case ActionKind::GetMmds:
  case ActionKind::PatchMmds:
  case ActionKind::PutMmds:
    // After boot the store is only used, never created.
    if (!mmds_exists_)
      return render(
          {Category::Mmds, "The MMDS data store is not initialized."});
    if (action.kind == ActionKind::GetMmds)
      return mmds_contents();
    return reply(action.kind == ActionKind::PatchMmds
                     ? patch_mmds(action.contents)
                     : put_mmds(action.contents));
  case ActionKind::InsertBlockDevice:
  case ActionKind::InsertNetworkDevice:
  case ActionKind::InsertPmemDevice:
    return reply(hotplug(action));
  case ActionKind::HotUnplugDevice:
    return reply(hot_unplug(action));
  // Firecracker pauses a paused guest and resumes a running one without
  // complaint.
  case ActionKind::Pause:
    if (state_ != VmState::Paused) {
      pause_guest();
      events_.paused();
    }
    return {};
  case ActionKind::Resume:
    if (state_ != VmState::Running) {
      run_guest();
      events_.resumed();
    }
    return {};
  case ActionKind::SendCtrlAltDel:
    events_.ctrl_alt_del();
    return {};
  case ActionKind::UpdateBalloon:
    return reply(update_balloon(action.body));
  case ActionKind::UpdateBalloonStatistics:
    return reply(update_balloon_statistics(action.body));
  case ActionKind::StartFreePageHinting:
  case ActionKind::GetFreePageHintingStatus:
  case ActionKind::StopFreePageHinting:
    if (!balloon_ || (*balloon_)["free_page_hinting"] != true)
      return render({Category::BalloonUpdate,
                     "Balloon: Free page hinting was not enabled when the "
                     "device was configured"});
    if (action.kind == ActionKind::GetFreePageHintingStatus)
      return Outcome{
          200, OrderedJson{{"host_cmd", 0}, {"guest_cmd", nullptr}}.dump()};
    return {};
  case ActionKind::UpdateBlockDevice:
    return reply(update_block_device(action.body));
  case ActionKind::UpdateNetworkInterface:
    return reply(update_network_interface(action.body));
  case ActionKind::UpdatePmemDevice:
    return reply(update_pmem_device(action.body));
  case ActionKind::UpdateMemoryHotplugSize: {
    if (!memory_hotplug_)
      return render({Category::MemoryHotplugUpdate,
                     "Memory hotplug device is not configured"});
    std::size_t requested = action.body["requested_size_mib"];
    if (requested > (*memory_hotplug_)["total_size_mib"].get<std::size_t>())
      return render({Category::MemoryHotplugUpdate,
                     "Requested size is larger than the total size"});
    memory_hotplug_requested_mib_ = requested;
    return {};
  }
  case ActionKind::ConfigureBootSource:
  case ActionKind::ConfigureLogger:
  case ActionKind::ConfigureMetrics:
  case ActionKind::ConfigureSerial:
  case ActionKind::LoadSnapshot:
  case ActionKind::PutCpuConfiguration:
  case ActionKind::SetBalloonDevice:
  case ActionKind::SetVsockDevice:
  case ActionKind::SetMmdsConfiguration:
  case ActionKind::SetEntropyDevice:
  case ActionKind::SetMemoryHotplugDevice:
  case ActionKind::StartMicroVm:
  case ActionKind::UpdateMachineConfiguration:
    return render({Category::Plain, std::string(not_supported_post_boot)});
  }
  return render({Category::Plain, std::string(not_supported_post_boot)});
}

} // namespace banger::fc_stub
