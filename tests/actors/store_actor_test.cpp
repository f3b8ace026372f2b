// The store actor over a real SQLite file: what it acknowledges is on disk.
#include "messages/sheltered.hpp"
#include "actors/store_actor.hpp"
#include "storage/store.hpp"
#include "tests/actors/actor_fakes.hpp"

#include <doctest/doctest.h>

using namespace banger;
using banger::test::ask;

namespace {

struct StoreActor {
  test::TempDir dir;
  std::string path = dir.path() + "/banger.db";
  test::ActorSystem as;
  caf::scoped_actor self{as.sys};
  store_actor uut = spawn_store_actor(as.sys, open());

  ~StoreActor() { stop_actor(as.sys, uut); }

  std::unique_ptr<Store> open() {
    auto store = Store::open(path);
    REQUIRE_MESSAGE(store.ok(), (store.ok() ? "" : store.error().message));
    return std::move(*store);
  }

  /// The names as a second connection reads them: committed, not cached.
  std::vector<NameBinding> on_disk() {
    auto names = open()->list_names();
    REQUIRE(names.ok());
    return *names;
  }
};

NameBinding bound(std::string name, std::string vm_id) {
  return NameBinding{std::move(name), "h2", std::move(vm_id), "op-0123456789ab", true, 0};
}

} // namespace

TEST_CASE_FIXTURE(StoreActor, "saved names are committed when the store acknowledges them") {
  REQUIRE(ask<Ack>(self, uut, SaveNames{{bound("api", "1111111111111111"),
                                         bound("web", "2222222222222222")}, {}}));
  CHECK(on_disk() == std::vector<NameBinding>{bound("api", "1111111111111111"),
                                              bound("web", "2222222222222222")});
  REQUIRE(ask<Ack>(self, uut, SaveNames{{bound("db", "3333333333333333")}, {"api", "gone"}}));
  CHECK(on_disk() == std::vector<NameBinding>{bound("db", "3333333333333333"),
                                              bound("web", "2222222222222222")});
}

TEST_CASE_FIXTURE(StoreActor, "an empty change of names is acknowledged and changes nothing") {
  REQUIRE(ask<Ack>(self, uut, SaveNames{{bound("web", "2222222222222222")}, {}}));
  REQUIRE(ask<Ack>(self, uut, SaveNames{}));
  CHECK(on_disk().size() == 1);
}
