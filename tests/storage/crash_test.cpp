// Crash safety: a writer SIGKILLed mid-burst loses nothing it reported as
// committed, and the database opens cleanly afterwards.
#include "storage/store.hpp"

#include "tests/support/process.hpp"

#include <doctest/doctest.h>

#include <SQLiteCpp/Database.h>

#include <csignal>
#include <set>

using namespace banger;
using namespace std::chrono_literals;

namespace {

enum class Kind { vms, names };

/// The keys of what is in the store: VM ids, or names.
std::set<std::string> present_in(Store& store, Kind kind) {
  std::set<std::string> present;
  if (kind == Kind::names) {
    auto names = store.list_names();
    REQUIRE(names.ok());
    for (const auto& name : *names)
      present.insert(name.name);
    return present;
  }
  auto vms = store.list_vms();
  REQUIRE(vms.ok());
  for (const auto& vm : *vms)
    present.insert(vm.id);
  return present;
}

void crash_and_check(const std::string& batch, Kind kind = Kind::vms) {
  test::TempDir dir;
  auto db = dir.path() + "/banger.db";
  auto writer = test::Child::spawn(
    {STORE_WRITER_BIN, db, batch, kind == Kind::names ? "names" : "vms"});
  std::set<std::string> committed;
  // Kill after a few hundred acknowledged commits: mid-burst by construction,
  // since the writer never pauses between commits.
  while (committed.size() < 300) {
    auto line = writer.read_line(30s);
    REQUIRE_MESSAGE(line, "writer stopped early");
    committed.insert(*line);
  }
  writer.signal(SIGKILL);
  REQUIRE(writer.wait(10s));
  // Lines the writer printed before dying were committed too.
  while (auto line = writer.read_line(100ms))
    committed.insert(*line);

  {
    SQLite::Database raw(db, SQLite::OPEN_READONLY);
    CHECK(raw.execAndGet("PRAGMA integrity_check").getString() == "ok");
  }
  auto store = Store::open(db);
  REQUIRE(store.ok());
  auto present = present_in(**store, kind);
  for (const auto& key : committed)
    CHECK_MESSAGE(present.count(key) == 1, "lost committed write " << key);
  CHECK(present.size() >= committed.size());
}

} // namespace

TEST_CASE("a writer killed mid-burst loses no acknowledged single commit") {
  crash_and_check("1");
}

TEST_CASE("a writer killed mid-burst loses no acknowledged group commit") {
  crash_and_check("16");
}

TEST_CASE("a writer killed mid-burst loses no acknowledged name binding") {
  crash_and_check("16", Kind::names);
}
