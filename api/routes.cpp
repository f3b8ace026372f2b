#include "api/routes.hpp"

#include "api/handlers.hpp"

#include <regex>

namespace banger::api {

const std::vector<Route>& routes() {
  static const std::vector<Route> table = {
    {"GET", "/v1/status", daemon_status},
    {"GET", "/v1/doctor", doctor},
    {"POST", "/v1/doctor/fix", doctor_fix},
    {"GET", "/v1/cluster", cluster_status},
    {"GET", "/v1/vms", vm_list},
    {"POST", "/v1/vms", vm_create},
    {"GET", "/v1/vms/{ref}", vm_show},
    {"DELETE", "/v1/vms/{ref}", vm_remove},
    {"POST", "/v1/vms/{ref}/start", vm_start},
    {"POST", "/v1/vms/{ref}/stop", vm_stop},
    {"POST", "/v1/vms/{ref}/kill", vm_kill},
    {"POST", "/v1/vms/{ref}/restart", vm_restart},
    {"POST", "/v1/vms/{ref}/pause", vm_pause},
    {"POST", "/v1/vms/{ref}/resume", vm_resume},
    {"POST", "/v1/vms/{ref}/suspend", vm_suspend},
    {"GET", "/v1/vms/{ref}/snapshots", vm_snapshots},
    {"POST", "/v1/vms/{ref}/snapshots", vm_snapshot_take},
    {"DELETE", "/v1/vms/{ref}/snapshots/{name}", vm_snapshot_remove},
    {"POST", "/v1/vms/{ref}/snapshots/{name}/restore", vm_snapshot_restore},
    {"POST", "/v1/vms/{ref}/clone", vm_clone},
    {"GET", "/v1/vms/{ref}/logs", vm_logs},
    {"POST", "/v1/vms/{ref}/exec", vm_exec},
    {"GET", "/v1/vms/{ref}/files", vm_file_get},
    {"PUT", "/v1/vms/{ref}/files", vm_file_put},
    {"GET", "/v1/images", image_list},
    {"POST", "/v1/images", image_add},
    {"GET", "/v1/images/imports/{op_id}", image_import_status},
    {"GET", "/v1/images/{ref}", image_show},
    {"DELETE", "/v1/images/{ref}", image_remove},
    {"GET", "/v1/ops/{op_id}", op_show},
    {"GET", "/v1/events", events},
    {"GET", "/metrics", metrics},
    {"GET", "/ui/", ui_root},
    {"GET", "/ui", ui_root},
    {"GET", "/ui/{file}", ui_page},
  };
  return table;
}

std::string route_regex(const std::string& path) {
  static const std::regex param{R"(\{[a-z_]+\})"};
  return std::regex_replace(path, param, "([^/]+)");
}

} // namespace banger::api
