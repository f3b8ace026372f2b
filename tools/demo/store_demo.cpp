// The foundation demo: a store in a temporary home, one image and one VM
// recorded under one operation, the records printed, and that operation's
// JSON log lines shown. Replaced by the real VM lifecycle as banger grows.
#include "messages/home_layout.hpp"
#include "messages/log.hpp"
#include "messages/op_id.hpp"
#include "messages/oplog.hpp"
#include "storage/store.hpp"

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>

using namespace banger;

namespace {
const log::Logger demo_log{"demo"};
} // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: store_demo HOME\n";
    return 2;
  }
  HomeLayout home{argv[1]};
  std::filesystem::create_directories(home.state_dir());
  std::ostringstream lines;
  log::init_stream("banger-demo", lines);

  auto store = Store::open(home.database());
  if (!store) {
    std::cerr << "error: " << store.error().message << "\n";
    return 1;
  }
  auto op = OpLog::begin(demo_log, "demo.record", mint_op_id());
  op.stage("record_image");
  Image image{mint_object_id(), "demo-image", "/images/demo/vmlinux", "",
              "/images/demo/rootfs.ext4", "console=ttyS0", now_us()};
  VmRecord vm;
  vm.id = mint_object_id();
  vm.name = "demo-vm";
  vm.image_id = image.id;
  vm.cpus = 1;
  vm.memory_mib = 128;
  vm.created_at_us = vm.updated_at_us = now_us();
  vm.runtime.guest_ip = "172.30.0.2";
  vm.runtime.mac = "06:00:ac:1e:00:02";
  vm.runtime.vsock_cid = 3;
  vm.runtime.tap = tap_name(vm.id);
  op.add({"vm_id", vm.id});
  op.stage("record_vm");
  auto results = (*store)->apply({UpsertImage{image}, UpsertVm{vm}});
  for (const auto& status : results) {
    if (!status) {
      op.fail(status.error());
      std::cerr << "error: " << status.error().message << " (" << op.op_id() << ")\n";
      return 1;
    }
  }
  op.done();

  auto stored = (*store)->get_vm(vm.id);
  std::printf("database:  %s\n", home.database().c_str());
  std::printf("image:     %s  id=%s  kernel=%s\n", image.name.c_str(), image.id.c_str(),
              image.kernel_path.c_str());
  std::printf("vm:        %s  id=%s  state=%s  ip=%s  tap=%s\n", stored->name.c_str(),
              stored->id.c_str(), std::string(to_string(stored->runtime.state)).c_str(),
              stored->runtime.guest_ip.c_str(), stored->runtime.tap.c_str());
  std::printf("\nlog lines of %s:\n%s", op.op_id().c_str(), lines.str().c_str());
  return 0;
}
