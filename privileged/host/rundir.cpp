#include "privileged/host/rundir.hpp"

#include "privileged/host/validate.hpp"
#include "privileged/host/vm_dirs.hpp"

namespace banger::host {

Result<std::filesystem::path> create_run_dir(const HomeLayout& layout,
                                             std::string_view vm_id,
                                             Ownership owner) {
  if (auto st = validate_vm_id(vm_id); !st)
    return std::move(st).error();
  auto dir = open_vm_run_dir(layout, vm_id, Create::yes, owner);
  if (!dir)
    return std::move(dir).error();
  return layout.vm_run_dir(vm_id);
}

Status remove_run_dir(const HomeLayout& layout, std::string_view vm_id) {
  if (auto st = validate_vm_id(vm_id); !st)
    return st;
  auto vms = open_vms_parent(layout, "run", Create::no);
  if (!vms)
    return std::move(vms).error();
  return remove_tree_at(vms->get(), vm_id, layout.vm_run_dir(vm_id).string());
}

} // namespace banger::host
