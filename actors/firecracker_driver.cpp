#include "actors/firecracker_driver.hpp"

#include <nlohmann/json.hpp>

namespace banger::firecracker {

namespace {

using nlohmann::json;

HttpCall put(const std::string& socket, std::string path, const json& body) {
  return HttpCall{socket, "PUT", std::move(path), body.dump(), api_timeout.count()};
}

HttpCall patch(const std::string& socket, std::string path, const json& body) {
  return HttpCall{socket, "PATCH", std::move(path), body.dump(), api_timeout.count()};
}

/// Writing guest memory out is bounded by the disk: allow it 20 ms per MiB
/// (50 MiB/s, a slow disk) on top of the usual answer time.
constexpr std::int64_t snapshot_ms_per_mib = 20;

} // namespace

std::vector<HttpCall> configure_calls(const std::string& api_socket, const BootConfig& boot) {
  std::vector<HttpCall> calls;
  calls.push_back(put(api_socket, "/machine-config",
                      {{"vcpu_count", boot.cpus}, {"mem_size_mib", boot.memory_mib}, {"smt", false}}));
  json source = {{"kernel_image_path", boot.kernel_path}, {"boot_args", boot.boot_args}};
  if (!boot.initrd_path.empty())
    source["initrd_path"] = boot.initrd_path;
  calls.push_back(put(api_socket, "/boot-source", source));
  calls.push_back(put(api_socket, "/drives/rootfs",
                      {{"drive_id", "rootfs"},
                       {"path_on_host", boot.rootfs_path},
                       {"is_root_device", true},
                       {"is_read_only", false}}));
  calls.push_back(put(api_socket, std::string("/network-interfaces/") + guest_iface,
                      {{"iface_id", guest_iface}, {"host_dev_name", boot.tap}, {"guest_mac", boot.mac}}));
  calls.push_back(put(api_socket, "/vsock",
                      {{"guest_cid", boot.vsock_cid}, {"uds_path", boot.vsock_path}}));
  return calls;
}

HttpCall instance_start(const std::string& api_socket) {
  return put(api_socket, "/actions", {{"action_type", "InstanceStart"}});
}

HttpCall send_ctrl_alt_del(const std::string& api_socket) {
  return put(api_socket, "/actions", {{"action_type", "SendCtrlAltDel"}});
}

HttpCall pause_vm(const std::string& api_socket) {
  return patch(api_socket, "/vm", {{"state", "Paused"}});
}

HttpCall resume_vm(const std::string& api_socket) {
  return patch(api_socket, "/vm", {{"state", "Resumed"}});
}

HttpCall create_snapshot(const std::string& api_socket, const SavedState& to,
                         std::uint32_t memory_mib) {
  auto call = put(api_socket, "/snapshot/create",
                  {{"snapshot_type", "Full"},
                   {"snapshot_path", to.state_path},
                   {"mem_file_path", to.memory_path}});
  call.timeout_ms += snapshot_ms_per_mib * memory_mib;
  return call;
}

HttpCall load_snapshot(const std::string& api_socket, const RestoreConfig& restore) {
  // The memory file is mapped, not read, so the load is quick whatever the
  // guest's size. clock_realtime: without it the guest's clock would resume
  // from the instant of the suspend, as far behind the host as it was away
  // (x86_64 only: Firecracker refuses it on aarch64, where banger does not
  // run).
  return put(api_socket, "/snapshot/load",
             {{"snapshot_path", restore.state_path},
              {"mem_backend", {{"backend_type", "File"}, {"backend_path", restore.memory_path}}},
              {"resume_vm", false},
              {"network_overrides",
               json::array({{{"iface_id", guest_iface}, {"host_dev_name", restore.tap}}})},
              {"vsock_override", {{"uds_path", restore.vsock_path}}},
              {"clock_realtime", true}});
}

Status judge(const HttpCall& call, const HttpReply& reply) {
  if (reply.status >= 200 && reply.status < 300)
    return {};
  std::string fault = reply.body;
  auto parsed = json::parse(reply.body, nullptr, false);
  if (parsed.is_object() && parsed.contains("fault_message") && parsed["fault_message"].is_string())
    fault = parsed["fault_message"].get<std::string>();
  return Error{Errc::vmm_failed, "firecracker rejected " + call.method + " " + call.path + " ("
                                   + std::to_string(reply.status) + "): " + fault};
}

} // namespace banger::firecracker
