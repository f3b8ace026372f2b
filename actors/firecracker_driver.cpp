#include "actors/firecracker_driver.hpp"

#include <nlohmann/json.hpp>

namespace banger::firecracker {

namespace {

using nlohmann::json;

HttpCall put(const std::string& socket, std::string path, const json& body) {
  return HttpCall{socket, "PUT", std::move(path), body.dump(), api_timeout.count()};
}

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
  calls.push_back(put(api_socket, "/network-interfaces/eth0",
                      {{"iface_id", "eth0"}, {"host_dev_name", boot.tap}, {"guest_mac", boot.mac}}));
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
