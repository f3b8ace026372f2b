// The files of a saved guest state and of snapshots: sealed only once whole
// (measured, synced, renamed into place), checked before a restore (a
// changed byte, a short file, a missing file are each refused with what
// differs), and snapshot folders that appear at their name only complete.
#include "actors/state_files.hpp"
#include "tests/support/process.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

using namespace banger;
namespace fs = std::filesystem;

namespace {

void write(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

std::string read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

struct Fixture {
  test::TempDir dir;
  fs::path vm_dir = dir.path();
};

} // namespace

TEST_CASE_FIXTURE(Fixture, "a sealed state names whole files with their size and checksum") {
  auto final = suspend_files(vm_dir, true);
  auto partial = partial_of(final);
  CHECK(partial.state_path == final.state_path + ".partial");
  write(partial.state_path, "device state");
  write(partial.memory_path, std::string(1 << 20, 'm'));
  auto sealed = seal_state(partial, final);
  REQUIRE_MESSAGE(sealed.ok(), (sealed.ok() ? "" : sealed.error().message));
  CHECK(sealed->size == 12 + (1 << 20));
  CHECK(sealed->checksum.size() == 32);
  CHECK_FALSE(fs::exists(partial.state_path));
  CHECK_FALSE(fs::exists(partial.memory_path));
  CHECK(read(final.state_path) == "device state");
  CHECK(verify_state(*sealed).ok());

  SUBCASE("a changed byte is refused") {
    auto bytes = read(final.memory_path);
    bytes[4096] = 'x';
    write(final.memory_path, bytes);
    auto checked = verify_state(*sealed);
    REQUIRE_FALSE(checked.ok());
    CHECK(checked.error().code == Errc::conflict);
    CHECK(checked.error().message.find("checksum") != std::string::npos);
  }
  SUBCASE("a short file is refused") {
    write(final.state_path, "device");
    auto checked = verify_state(*sealed);
    REQUIRE_FALSE(checked.ok());
    CHECK(checked.error().message.find("recorded") != std::string::npos);
  }
  SUBCASE("a missing file is refused") {
    fs::remove(final.memory_path);
    auto checked = verify_state(*sealed);
    REQUIRE_FALSE(checked.ok());
    CHECK(checked.error().message.find("cannot be read") != std::string::npos);
  }
  SUBCASE("removal takes the files and any partial ones") {
    write(partial.state_path, "left by a crash");
    remove_state(final);
    CHECK_FALSE(fs::exists(final.state_path));
    CHECK_FALSE(fs::exists(final.memory_path));
    CHECK_FALSE(fs::exists(partial.state_path));
  }
}

TEST_CASE_FIXTURE(Fixture, "a partial state whose file is missing is not sealed") {
  auto final = suspend_files(vm_dir, false);
  CHECK(final.memory_path.empty());
  auto sealed = seal_state(partial_of(final), final);
  REQUIRE_FALSE(sealed.ok());
  CHECK_FALSE(fs::exists(final.state_path));
}

TEST_CASE_FIXTURE(Fixture, "a snapshot folder appears under its name only once committed") {
  auto rootfs = vm_dir / "rootfs.img";
  write(rootfs, std::string(64 << 10, 'd'));
  REQUIRE(begin_snapshot(vm_dir, "one").ok());
  auto partial = snapshot_partial_dir(vm_dir, "one");
  auto size = copy_disk(rootfs, partial);
  REQUIRE_MESSAGE(size.ok(), (size.ok() ? "" : size.error().message));
  CHECK(*size > 0);
  CHECK_FALSE(fs::exists(snapshot_dir(vm_dir, "one")));
  CHECK(snapshot_folders(vm_dir) == std::vector<std::string>{".one.partial"});
  REQUIRE(commit_snapshot(vm_dir, "one").ok());
  CHECK(read(snapshot_dir(vm_dir, "one") / "disk.img") == read(rootfs));
  CHECK(snapshot_folders(vm_dir) == std::vector<std::string>{"one"});

  // The VM's disk moves on; a rollback brings the snapshot's back, and
  // the snapshot stays for the next one.
  write(rootfs, "changed");
  REQUIRE(roll_back_disk(snapshot_dir(vm_dir, "one") / "disk.img", rootfs).ok());
  CHECK(read(rootfs) == std::string(64 << 10, 'd'));
  CHECK(fs::exists(snapshot_dir(vm_dir, "one") / "disk.img"));
  CHECK_FALSE(fs::exists(rootfs.string() + ".partial"));

  REQUIRE(remove_snapshot(vm_dir, "one").ok());
  CHECK(snapshot_folders(vm_dir).empty());
}

TEST_CASE_FIXTURE(Fixture, "a new snapshot replaces the partial folder a crash left") {
  REQUIRE(begin_snapshot(vm_dir, "two").ok());
  write(snapshot_partial_dir(vm_dir, "two") / "disk.img", "half");
  REQUIRE(begin_snapshot(vm_dir, "two").ok());
  CHECK(fs::is_empty(snapshot_partial_dir(vm_dir, "two")));
}
