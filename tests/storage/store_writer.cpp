// Child process of crash_test: writes VM records one durable commit at a
// time (or in batches) and prints each id after its commit returned. The
// parent SIGKILLs it mid-burst.
#include "storage/store.hpp"

#include "fixtures.hpp"

#include <cstdio>
#include <cstdlib>
#include <string>

int main(int argc, char** argv) {
  if (argc < 3)
    return 2;
  auto store = banger::Store::open(argv[1]);
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", store.error().message.c_str());
    return 1;
  }
  auto batch = static_cast<unsigned>(std::atoi(argv[2]));
  auto image = banger::test::make_image("crash");
  if (!(*store)->upsert_image(image))
    return 1;
  for (unsigned n = 0;; n += batch) {
    std::vector<banger::Write> writes;
    for (unsigned k = 0; k < batch; ++k)
      writes.push_back(banger::UpsertVm{
        banger::test::make_vm(image, "vm-" + std::to_string(n + k), n + k)});
    auto results = (*store)->apply(writes);
    for (std::size_t k = 0; k < results.size(); ++k) {
      if (!results[k])
        return 1;
      std::printf("%s\n", std::get<banger::UpsertVm>(writes[k]).vm.id.c_str());
    }
    std::fflush(stdout);
  }
}
