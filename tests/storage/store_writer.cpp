// Child process of crash_test: writes VM records (or, with "names", cluster
// name bindings) one durable commit at a time (or in batches) and prints
// each key after its commit returned. The parent SIGKILLs it mid-burst.
#include "storage/store.hpp"

#include "fixtures.hpp"

#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

/// The write of entry `n` and the key the parent looks for afterwards.
std::pair<banger::Write, std::string> entry(const banger::Image& image, bool names, unsigned n) {
  auto name = "vm-" + std::to_string(n);
  if (names) {
    banger::NameBinding binding{name, "h2", banger::mint_object_id(), banger::mint_op_id(), true, 0};
    return {banger::UpsertName{binding}, name};
  }
  auto vm = banger::test::make_vm(image, name, n);
  auto id = vm.id;
  return {banger::UpsertVm{std::move(vm)}, id};
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 3)
    return 2;
  auto store = banger::Store::open(argv[1]);
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", store.error().message.c_str());
    return 1;
  }
  auto batch = static_cast<unsigned>(std::atoi(argv[2]));
  bool names = argc > 3 && std::string(argv[3]) == "names";
  auto image = banger::test::make_image("crash");
  if (!(*store)->upsert_image(image))
    return 1;
  for (unsigned n = 0;; n += batch) {
    std::vector<banger::Write> writes;
    std::vector<std::string> keys;
    for (unsigned k = 0; k < batch; ++k) {
      auto [write, key] = entry(image, names, n + k);
      writes.push_back(std::move(write));
      keys.push_back(std::move(key));
    }
    auto results = (*store)->apply(writes);
    for (std::size_t k = 0; k < results.size(); ++k) {
      if (!results[k])
        return 1;
      std::printf("%s\n", keys[k].c_str());
    }
    std::fflush(stdout);
  }
}
