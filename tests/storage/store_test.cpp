#include "storage/schema.hpp"
#include "storage/store.hpp"

#include "fixtures.hpp"
#include "tests/support/process.hpp"

#include <doctest/doctest.h>

#include <SQLiteCpp/Database.h>

#include <filesystem>

using namespace banger;
using banger::test::make_image;
using banger::test::make_vm;

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
};

} // namespace

TEST_CASE_FIXTURE(Fixture, "a new database is migrated to the current schema") {
  CHECK(*uut->user_version() == Store::schema_version);
  SQLite::Database raw(path);
  CHECK(raw.execAndGet("PRAGMA journal_mode").getString() == "wal");
  CHECK(raw.tableExists("images"));
  CHECK(raw.tableExists("vms"));
  CHECK(raw.tableExists("operations"));
}

TEST_CASE_FIXTURE(Fixture, "reopening keeps the data and does not migrate again") {
  auto image = make_image();
  REQUIRE(uut->upsert_image(image));
  uut.reset();
  uut = open();
  CHECK(*uut->user_version() == Store::schema_version);
  auto got = uut->get_image(image.id);
  REQUIRE(got.ok());
  CHECK(*got == image);
}

TEST_CASE_FIXTURE(Fixture, "a database from a newer banger is refused, not touched") {
  uut.reset();
  {
    SQLite::Database raw(path, SQLite::OPEN_READWRITE);
    raw.exec("PRAGMA user_version = 99");
  }
  auto reopened = Store::open(path);
  REQUIRE_FALSE(reopened.ok());
  CHECK(reopened.error().code == Errc::storage);
  CHECK(reopened.error().message.find("newer") != std::string::npos);
  SQLite::Database raw(path);
  CHECK(raw.execAndGet("PRAGMA user_version").getInt() == 99);
}

TEST_CASE("a version 1 database keeps its VMs and learns the guest stop") {
  test::TempDir dir;
  auto path = dir.path() + "/banger.db";
  {
    SQLite::Database raw(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    REQUIRE(schema::migrate(raw, 1));
    raw.exec("INSERT INTO images (id, name, kernel_path, rootfs_path, created_at_us) "
             "VALUES ('0123456789abcdef', 'debian', '/k', '/r', 1)");
    raw.exec("INSERT INTO vms (id, name, image_id, cpus, memory_mib, created_at_us, "
             "updated_at_us, state, vsock_cid, guest_ip, mac, last_stop) VALUES "
             "('fedcba9876543210', 'old', '0123456789abcdef', 1, 256, 1, 1, 'stopped', 3, "
             "'10.0.0.2', '06:00:0a:00:00:02', 'graceful')");
  }
  auto store = Store::open(path);
  REQUIRE_MESSAGE(store.ok(), (store.ok() ? "" : store.error().message));
  CHECK(*(*store)->user_version() == Store::schema_version);
  auto old = (*store)->get_vm("fedcba9876543210");
  REQUIRE(old.ok());
  CHECK(old->name == "old");
  CHECK(old->runtime.last_stop == StopRung::graceful);
  old->runtime.last_stop = StopRung::guest;
  REQUIRE((*store)->upsert_vm(*old));
  CHECK((*store)->get_vm("fedcba9876543210")->runtime.last_stop == StopRung::guest);
}

TEST_CASE_FIXTURE(Fixture, "whether an image has SSH round-trips and can be changed") {
  auto image = make_image();
  image.ssh = true;
  REQUIRE(uut->upsert_image(image));
  REQUIRE(uut->get_image(image.id).ok());
  CHECK(uut->get_image(image.id)->ssh);
  image.ssh = false;
  REQUIRE(uut->upsert_image(image));
  CHECK_FALSE(uut->get_image(image.id)->ssh);
}

TEST_CASE_FIXTURE(Fixture, "images of a schema 1 database keep their data and have no SSH") {
  uut.reset();
  for (auto suffix : {"", "-wal", "-shm"})
    std::filesystem::remove(path + suffix);
  {
    // What banger before the ssh column wrote.
    SQLite::Database raw(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    REQUIRE(schema::migrate(raw, 1));
    raw.exec("INSERT INTO images (id, name, kernel_path, rootfs_path, boot_args, created_at_us) "
             "VALUES ('00112233445566aa', 'old', '/k', '/r', 'quiet', 7)");
  }
  uut = open();
  CHECK(*uut->user_version() == Store::schema_version);
  auto old = uut->get_image("00112233445566aa");
  REQUIRE(old.ok());
  CHECK(old->name == "old");
  CHECK(old->boot_args == "quiet");
  CHECK(old->created_at_us == 7);
  CHECK_FALSE(old->ssh);
}

TEST_CASE_FIXTURE(Fixture, "a VM record round-trips through the store unchanged") {
  auto image = make_image();
  REQUIRE(uut->upsert_image(image));
  auto vm = make_vm(image, "web", 1);
  vm.runtime.state = VmState::running;
  vm.runtime.pid = 1234;
  vm.runtime.pid_start_time = 5678;
  vm.runtime.last_stop = StopRung::graceful;
  vm.runtime.last_error = "earlier: \"fault\"";
  vm.runtime.boot = BootTimings{1, 2, 3, 4};
  vm.ports = {{18080, 8080, "tcp"}, {5353, 53, "udp"}};
  REQUIRE(uut->upsert_vm(vm));
  auto got = uut->get_vm(vm.id);
  REQUIRE(got.ok());
  CHECK(*got == vm);

  vm.runtime.state = VmState::stopped;
  vm.runtime.pid = 0;
  REQUIRE(uut->upsert_vm(vm));
  CHECK(uut->get_vm(vm.id)->runtime.state == VmState::stopped);
  CHECK(uut->list_vms()->size() == 1);
}

// Refs (name, id, unique id prefix) are resolved by the daemon over what it
// loaded from here (tests/cli/cli_e2e_test.cpp: by name, by prefix,
// ambiguous, missing): the store answers by id and lists.
TEST_CASE_FIXTURE(Fixture, "VMs are read back by id and listed by name, as the daemon loads them") {
  auto image = make_image();
  REQUIRE(uut->upsert_image(image));
  auto a = make_vm(image, "alpha", 1);
  auto b = make_vm(image, "beta", 2);
  a.id = "abcd000000000001";
  b.id = "abcd100000000002";
  REQUIRE(uut->upsert_vm(b));
  REQUIRE(uut->upsert_vm(a));

  CHECK(uut->get_vm(a.id)->name == "alpha");
  CHECK(uut->get_vm(b.id)->name == "beta");
  auto listed = uut->list_vms();
  REQUIRE(listed.ok());
  REQUIRE(listed->size() == 2);
  CHECK((*listed)[0].name == "alpha");
  CHECK((*listed)[0].id == a.id);
  CHECK((*listed)[1].name == "beta");
  CHECK((*listed)[1].id == b.id);
  // An id is an exact key here: a prefix or a name is not.
  CHECK(uut->get_vm("abcd").error().code == Errc::not_found);
  CHECK(uut->get_vm("alpha").error().code == Errc::not_found);
}

TEST_CASE_FIXTURE(Fixture, "duplicate VM name, guest IP and vsock CID are refused clearly") {
  auto image = make_image();
  REQUIRE(uut->upsert_image(image));
  auto first = make_vm(image, "web", 1);
  REQUIRE(uut->upsert_vm(first));

  auto same_name = make_vm(image, "web", 2);
  auto status = uut->upsert_vm(same_name);
  REQUIRE_FALSE(status.ok());
  CHECK(status.error().code == Errc::already_exists);
  CHECK(status.error().message.find("name") != std::string::npos);

  auto same_ip = make_vm(image, "web2", 3);
  same_ip.runtime.guest_ip = first.runtime.guest_ip;
  status = uut->upsert_vm(same_ip);
  REQUIRE_FALSE(status.ok());
  CHECK(status.error().code == Errc::already_exists);
  CHECK(status.error().message.find("guest IP") != std::string::npos);

  auto same_cid = make_vm(image, "web3", 4);
  same_cid.runtime.vsock_cid = first.runtime.vsock_cid;
  status = uut->upsert_vm(same_cid);
  REQUIRE_FALSE(status.ok());
  CHECK(status.error().code == Errc::already_exists);
  CHECK(status.error().message.find("vsock CID") != std::string::npos);

  // Nothing half-written: the first VM is intact and alone.
  auto all = uut->list_vms();
  REQUIRE(all->size() == 1);
  CHECK(all->front() == first);
}

TEST_CASE_FIXTURE(Fixture, "a VM needs an existing image and keeps it from being deleted") {
  auto image = make_image();
  auto orphan = make_vm(image, "orphan", 1);
  auto status = uut->upsert_vm(orphan);
  REQUIRE_FALSE(status.ok());
  CHECK(status.error().code == Errc::conflict);

  REQUIRE(uut->upsert_image(image));
  REQUIRE(uut->upsert_vm(orphan));
  status = uut->delete_image(image.id);
  REQUIRE_FALSE(status.ok());
  CHECK(status.error().code == Errc::conflict);
  REQUIRE(uut->delete_vm(orphan.id));
  CHECK(uut->delete_image(image.id));
  CHECK(uut->delete_image(image.id).error().code == Errc::not_found);
}

TEST_CASE_FIXTURE(Fixture, "out-of-range values are refused by the schema") {
  auto image = make_image();
  REQUIRE(uut->upsert_image(image));
  auto vm = make_vm(image, "web", 1);
  vm.cpus = 0;
  auto status = uut->upsert_vm(vm);
  REQUIRE_FALSE(status.ok());
  CHECK(status.error().code == Errc::invalid_argument);
  vm.cpus = 1;
  vm.runtime.vsock_cid = 2; // CIDs 0-2 are reserved
  CHECK(uut->upsert_vm(vm).error().code == Errc::invalid_argument);
}

TEST_CASE_FIXTURE(Fixture, "an operation and its stages are stored and read back") {
  OperationStatus op;
  op.op_id = "op-0123456789ab";
  op.kind = "vm.create";
  op.stage = "prepare_rootfs";
  op.stages_total = 3;
  op.started_at_us = 100;
  op.stages = {StageRecord{"validate", 100, 5, true}, StageRecord{"allocate", 105, 7, true}};
  REQUIRE(uut->upsert_operation(op));
  op.outcome = OperationOutcome::failed;
  op.error_code = static_cast<std::uint8_t>(Errc::helper_unavailable);
  op.error_message = "helper down";
  op.stages.push_back(StageRecord{"prepare_rootfs", 112, 9, false});
  op.finished_at_us = 200;
  REQUIRE(uut->upsert_operation(op));
  auto got = uut->get_operation(op.op_id);
  REQUIRE(got.ok());
  CHECK(*got == op);
  CHECK(uut->get_operation("op-ffffffffffff").error().code == Errc::not_found);
}

TEST_CASE_FIXTURE(Fixture, "a batch commits every good write and reports each bad one") {
  auto image = make_image();
  auto a = make_vm(image, "a", 1);
  auto clash = make_vm(image, "a", 2); // same name as a
  auto b = make_vm(image, "b", 3);
  auto results = uut->apply({UpsertImage{image}, UpsertVm{a}, UpsertVm{clash}, UpsertVm{b},
                             DeleteVm{"ffffffffffffffff"}});
  REQUIRE(results.size() == 5);
  CHECK(results[0].ok());
  CHECK(results[1].ok());
  REQUIRE_FALSE(results[2].ok());
  CHECK(results[2].error().code == Errc::already_exists);
  CHECK(results[3].ok());
  CHECK(results[4].error().code == Errc::not_found);
  auto all = uut->list_vms();
  REQUIRE(all->size() == 2);
  CHECK(all->at(0) == a);
  CHECK(all->at(1) == b);
}

TEST_CASE_FIXTURE(Fixture, "a group of writes commits whole or not at all") {
  auto image = make_image();
  REQUIRE(uut->upsert_image(image));
  auto a = make_vm(image, "a", 1);
  auto clash = make_vm(image, "a", 2); // same name as a
  OperationStatus ended;
  ended.op_id = "op-000000000001";
  ended.kind = "vm.create";
  ended.outcome = OperationOutcome::succeeded;
  OperationStatus lost = ended;
  lost.op_id = "op-000000000002";
  auto results = uut->apply_groups({{UpsertVm{a}, UpsertOperation{ended}},
                                    {UpsertOperation{lost}, UpsertVm{clash}}});
  REQUIRE(results.size() == 2);
  CHECK(results[0].ok());
  REQUIRE_FALSE(results[1].ok());
  CHECK(results[1].error().code == Errc::already_exists);
  CHECK(*uut->get_vm(a.id) == a);
  CHECK(uut->get_operation(ended.op_id)->outcome == OperationOutcome::succeeded);
  // The second group's operation went with its failed record.
  CHECK(uut->get_operation(lost.op_id).error().code == Errc::not_found);
  CHECK(uut->list_vms()->size() == 1);
}

// The store keeps its write statements prepared: a failed write must not
// leave its statement unusable for the next one.
TEST_CASE_FIXTURE(Fixture, "a rejected upsert leaves the next upserts working") {
  auto image = make_image();
  REQUIRE(uut->upsert_image(image));
  auto a = make_vm(image, "a", 1);
  REQUIRE(uut->upsert_vm(a));
  auto clash = make_vm(image, "a", 2);
  CHECK(uut->upsert_vm(clash).error().code == Errc::already_exists);
  auto b = make_vm(image, "b", 3);
  REQUIRE(uut->upsert_vm(b));
  b.runtime.state = VmState::running;
  REQUIRE(uut->upsert_vm(b));
  CHECK(uut->get_vm(b.id)->runtime.state == VmState::running);
  REQUIRE(uut->delete_vm(a.id));
  CHECK(uut->delete_vm(a.id).error().code == Errc::not_found);
  REQUIRE(uut->delete_vm(b.id));
}

TEST_CASE_FIXTURE(Fixture, "a suspended VM's saved state and its snapshots survive a reopen") {
  auto image = make_image();
  REQUIRE(uut->upsert_image(image));
  auto vm = make_vm(image, "web", 2);
  vm.runtime.state = VmState::suspended;
  vm.runtime.saved = SavedState{"/h/state/vms/x/suspend.state", "", 268435456,
                                "0123456789abcdef0123456789abcdef", 42, "qemu"};
  SnapshotInfo before_upgrade{"before-upgrade", 10, VmState::running, "/h/disk.img", 4096,
                              SavedState{"/h/s/state", "", 1000, "ab", 9, "qemu"}, "op-1"};
  SnapshotInfo cold{"cold", 11, VmState::stopped, "/h/cold.img", 8192, {}, "op-2"};
  vm.snapshots = {before_upgrade, cold};
  REQUIRE(uut->upsert_vm(vm));
  uut.reset();
  uut = open();
  auto got = uut->get_vm(vm.id);
  REQUIRE(got.ok());
  CHECK(got->runtime.state == VmState::suspended);
  CHECK(got->runtime.saved == vm.runtime.saved);
  REQUIRE(got->snapshots.size() == 2);
  CHECK(got->snapshots[0] == before_upgrade);
  CHECK(got->snapshots[1] == cold);
  auto listed = uut->list_vms();
  REQUIRE(listed.ok());
  REQUIRE(listed->size() == 1);
  CHECK(listed->front().snapshots == vm.snapshots);

  // The record's list is the truth: a snapshot it drops is gone from the
  // table, and the VM's removal takes the rest.
  vm.snapshots = {cold};
  REQUIRE(uut->upsert_vm(vm));
  CHECK(uut->get_vm(vm.id)->snapshots == std::vector<SnapshotInfo>{cold});
  REQUIRE(uut->delete_vm(vm.id));
  SQLite::Database raw(path);
  CHECK(raw.execAndGet("SELECT count(*) FROM vm_snapshots").getInt() == 0);
}

TEST_CASE_FIXTURE(Fixture, "a suspended VM without a saved state cannot be stored") {
  auto image = make_image();
  REQUIRE(uut->upsert_image(image));
  auto vm = make_vm(image, "web", 2);
  vm.runtime.state = VmState::suspended;
  auto stored = uut->upsert_vm(vm);
  REQUIRE_FALSE(stored.ok());
  CHECK(stored.error().code == Errc::invalid_argument);
  CHECK_FALSE(uut->get_vm(vm.id).ok());
}

TEST_CASE("a version 4 database keeps its VMs and can store paused and suspended ones") {
  test::TempDir dir;
  auto path = dir.path() + "/banger.db";
  {
    SQLite::Database raw(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    REQUIRE(schema::migrate(raw, 4));
    raw.exec("INSERT INTO images (id, name, kernel_path, rootfs_path, created_at_us, ssh) "
             "VALUES ('0123456789abcdef', 'debian', '/k', '/r', 1, 1)");
    raw.exec("INSERT INTO vms (id, name, image_id, cpus, memory_mib, created_at_us, "
             "updated_at_us, state, vsock_cid, guest_ip, mac, boot_guest_ready_us) VALUES "
             "('fedcba9876543210', 'old', '0123456789abcdef', 2, 512, 1, 1, 'running', 3, "
             "'10.0.0.2', '06:00:0a:00:00:02', 777)");
  }
  auto store = Store::open(path);
  REQUIRE_MESSAGE(store.ok(), (store.ok() ? "" : store.error().message));
  auto old = (*store)->get_vm("fedcba9876543210");
  REQUIRE(old.ok());
  CHECK(old->runtime.state == VmState::running);
  CHECK(old->runtime.boot.guest_ready_us == 777);
  CHECK(old->runtime.saved.empty());
  CHECK(old->snapshots.empty());
  old->runtime.state = VmState::paused;
  REQUIRE((*store)->upsert_vm(*old));
  CHECK((*store)->get_vm(old->id)->runtime.state == VmState::paused);
}

TEST_CASE("a version 5 database keeps its VMs, which publish no ports, and stores ports") {
  test::TempDir dir;
  auto path = dir.path() + "/banger.db";
  {
    SQLite::Database raw(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    REQUIRE(schema::migrate(raw, 5));
    raw.exec("INSERT INTO images (id, name, kernel_path, rootfs_path, created_at_us, ssh) "
             "VALUES ('0123456789abcdef', 'debian', '/k', '/r', 1, 1)");
    raw.exec("INSERT INTO vms (id, name, image_id, cpus, memory_mib, created_at_us, "
             "updated_at_us, state, vsock_cid, guest_ip, mac) VALUES "
             "('fedcba9876543210', 'old', '0123456789abcdef', 2, 512, 1, 1, 'stopped', 3, "
             "'10.0.0.2', '06:00:0a:00:00:02')");
  }
  auto store = Store::open(path);
  REQUIRE_MESSAGE(store.ok(), (store.ok() ? "" : store.error().message));
  auto old = (*store)->get_vm("fedcba9876543210");
  REQUIRE(old.ok());
  CHECK(old->name == "old");
  CHECK(old->ports.empty());
  old->ports = {{8080, 80, "tcp"}};
  REQUIRE((*store)->upsert_vm(*old));
  CHECK((*store)->get_vm(old->id)->ports == old->ports);
}

TEST_CASE_FIXTURE(Fixture, "a ports column that is not a valid list publishes nothing") {
  auto image = make_image();
  REQUIRE(uut->upsert_image(image));
  auto vm = make_vm(image, "web", 1);
  vm.ports = {{8080, 80, "tcp"}};
  REQUIRE(uut->upsert_vm(vm));
  {
    SQLite::Database raw(path, SQLite::OPEN_READWRITE);
    raw.exec("UPDATE vms SET ports = '0:80/tcp,1:1/sctp'");
  }
  CHECK(uut->get_vm(vm.id)->ports.empty());
}
