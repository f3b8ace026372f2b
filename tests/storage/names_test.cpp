// The cluster names a host owns (cluster_names, schema 4).
#include "storage/schema.hpp"
#include "storage/store.hpp"

#include "tests/support/process.hpp"

#include <doctest/doctest.h>

#include <SQLiteCpp/Database.h>

using namespace banger;

namespace {

struct Fixture {
  test::TempDir dir;
  std::string path = dir.path() + "/banger.db";
  std::unique_ptr<Store> uut = open();

  std::unique_ptr<Store> open() {
    auto store = Store::open(path);
    REQUIRE_MESSAGE(store.ok(), (store.ok() ? "" : store.error().message));
    return std::move(*store);
  }

  std::vector<NameBinding> names() {
    auto all = uut->list_names();
    REQUIRE_MESSAGE(all.ok(), (all.ok() ? "" : all.error().message));
    return *all;
  }
};

NameBinding reservation(std::string name, std::string host = "h2") {
  return NameBinding{std::move(name), std::move(host), "", "op-0123456789ab", false,
                     1'700'000'000'000'000};
}

NameBinding binding(std::string name, std::string host = "h3") {
  return NameBinding{std::move(name), std::move(host), "fedcba9876543210", "op-ba9876543210",
                     true, 0};
}

} // namespace

TEST_CASE("a schema 3 database keeps its data and gets an empty name table") {
  test::TempDir dir;
  auto path = dir.path() + "/banger.db";
  {
    SQLite::Database raw(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    REQUIRE(schema::migrate(raw, 3));
    raw.exec("INSERT INTO images (id, name, kernel_path, rootfs_path, created_at_us, ssh) "
             "VALUES ('0123456789abcdef', 'debian', '/k', '/r', 1, 1)");
    raw.exec("INSERT INTO vms (id, name, image_id, cpus, memory_mib, created_at_us, "
             "updated_at_us, state, vsock_cid, guest_ip, mac) VALUES "
             "('fedcba9876543210', 'old', '0123456789abcdef', 2, 512, 1, 1, 'stopped', 3, "
             "'10.0.0.2', '06:00:0a:00:00:02')");
    CHECK_FALSE(raw.tableExists("cluster_names"));
  }
  auto store = Store::open(path);
  REQUIRE_MESSAGE(store.ok(), (store.ok() ? "" : store.error().message));
  CHECK(*(*store)->user_version() == Store::schema_version);
  auto image = (*store)->get_image("0123456789abcdef");
  REQUIRE(image.ok());
  CHECK(image->ssh);
  auto vm = (*store)->get_vm("fedcba9876543210");
  REQUIRE(vm.ok());
  CHECK(vm->name == "old");
  CHECK(vm->memory_mib == 512);
  auto names = (*store)->list_names();
  REQUIRE(names.ok());
  CHECK(names->empty());
}

TEST_CASE_FIXTURE(Fixture, "a reservation and a binding round-trip unchanged, ordered by name") {
  REQUIRE(uut->upsert_name(binding("web")));
  REQUIRE(uut->upsert_name(reservation("api")));
  CHECK(names() == std::vector<NameBinding>{reservation("api"), binding("web")});
}

TEST_CASE_FIXTURE(Fixture, "binding a reserved name replaces the reservation") {
  REQUIRE(uut->upsert_name(reservation("web", "h3")));
  REQUIRE(uut->upsert_name(binding("web", "h3")));
  CHECK(names() == std::vector<NameBinding>{binding("web", "h3")});
}

TEST_CASE_FIXTURE(Fixture, "names survive reopening the database") {
  REQUIRE(uut->upsert_name(binding("web")));
  uut.reset();
  uut = open();
  CHECK(names() == std::vector<NameBinding>{binding("web")});
}

TEST_CASE_FIXTURE(Fixture, "erasing a name removes only it, and erasing a missing one is fine") {
  REQUIRE(uut->upsert_name(binding("web")));
  REQUIRE(uut->upsert_name(binding("db")));
  REQUIRE(uut->erase_name("web"));
  REQUIRE(uut->erase_name("web"));
  REQUIRE(uut->erase_name("never-there"));
  CHECK(names() == std::vector<NameBinding>{binding("db")});
}

TEST_CASE_FIXTURE(Fixture, "name writes commit in a group with the other writes, whole or not") {
  REQUIRE(uut->upsert_name(binding("old")));
  // The second group fails on an operation with an invalid op_id: its name
  // writes must not land either.
  OperationStatus bad;
  bad.op_id = "not-an-op-id";
  bad.kind = "vm.create";
  auto results = uut->apply_groups({
    {UpsertName{reservation("api")}, EraseName{"old"}},
    {UpsertName{binding("lost")}, UpsertOperation{bad}},
  });
  REQUIRE(results.size() == 2);
  CHECK(results[0].ok());
  CHECK_FALSE(results[1].ok());
  CHECK(names() == std::vector<NameBinding>{reservation("api")});
}

TEST_CASE_FIXTURE(Fixture, "a name without a host or op_id is refused by the schema") {
  SQLite::Database raw(path, SQLite::OPEN_READWRITE);
  CHECK_THROWS(raw.exec("INSERT INTO cluster_names (name, op_id, bound, expires_at_us) "
                        "VALUES ('web', 'op-0123456789ab', 0, 0)"));
  CHECK_THROWS(raw.exec("INSERT INTO cluster_names (name, host, bound, expires_at_us) "
                        "VALUES ('web', 'h1', 0, 0)"));
  CHECK_THROWS(raw.exec("INSERT INTO cluster_names (name, host, op_id, bound, expires_at_us) "
                        "VALUES ('web', 'h1', 'op-0123456789ab', 2, 0)"));
}
