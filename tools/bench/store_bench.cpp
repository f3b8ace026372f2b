// Durable VM upserts per second: one commit per write, and group commit
// (one transaction per batch). Prints one JSON object per mode.
#include "messages/op_id.hpp"
#include "storage/store.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

using namespace banger;

namespace {

VmRecord make_vm(const Image& image, unsigned n) {
  VmRecord vm;
  vm.id = mint_object_id();
  vm.name = "vm-" + std::to_string(n);
  vm.image_id = image.id;
  vm.created_at_us = vm.updated_at_us = now_us();
  vm.runtime.guest_ip = "10." + std::to_string(n >> 16 & 0xff) + "."
                        + std::to_string(n >> 8 & 0xff) + "." + std::to_string(n & 0xff);
  vm.runtime.mac = "m" + std::to_string(n);
  vm.runtime.vsock_cid = 3 + n;
  return vm;
}

double run(const std::filesystem::path& dir, unsigned count, unsigned batch) {
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto store = std::move(*Store::open(dir / "bench.db"));
  Image image;
  image.id = mint_object_id();
  image.name = "bench";
  if (!store->upsert_image(image))
    std::abort();
  auto start = std::chrono::steady_clock::now();
  for (unsigned n = 0; n < count; n += batch) {
    std::vector<Write> writes;
    for (unsigned k = 0; k < batch; ++k)
      writes.push_back(UpsertVm{make_vm(image, n + k)});
    for (auto& status : store->apply(writes))
      if (!status)
        std::abort();
  }
  std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
  return count / elapsed.count();
}

} // namespace

int main(int argc, char** argv) {
  std::filesystem::path dir = argc > 1 ? argv[1] : "store-bench";
  unsigned count = argc > 2 ? static_cast<unsigned>(std::atoi(argv[2])) : 2000;
  for (unsigned batch : {1u, 16u, 256u}) {
    auto per_second = run(dir, count, batch);
    std::printf("{\"bench\":\"store_upsert\",\"batch\":%u,\"writes\":%u,"
                "\"writes_per_second\":%.0f}\n",
                batch, count, per_second);
  }
  std::filesystem::remove_all(dir);
}
