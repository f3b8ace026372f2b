// Runtime directories: created with the VMM user's ownership, removed with
// everything in them, never through a symlink.
#include "privileged/host/rundir.hpp"
#include "tests/security/fixtures.hpp"

#include <cstring>
#include <doctest/doctest.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

using namespace banger;
using namespace banger::host;
namespace fs = std::filesystem;

namespace {

struct stat stat_of(const fs::path& path) {
  struct stat st {};
  REQUIRE(::lstat(path.c_str(), &st) == 0);
  return st;
}

} // namespace

TEST_CASE("a run dir is created 0750 and owned by the VMM user") {
  BANGER_REQUIRE_ROOT();
  host_test::TestHome home;
  std::string vm = host_test::random_vm_id();
  auto uut = create_run_dir(home.layout(), vm, Ownership{65534, 65534});
  REQUIRE(uut);
  CHECK(*uut == home.layout().vm_run_dir(vm));
  auto st = stat_of(*uut);
  CHECK(S_ISDIR(st.st_mode));
  CHECK((st.st_mode & 07777) == 0750);
  CHECK(st.st_uid == 65534);
  CHECK(st.st_gid == 65534);

  SUBCASE("creating it again restores owner and mode") {
    fs::permissions(*uut, fs::perms(0777));
    REQUIRE(::chown(uut->c_str(), 0, 0) == 0);
    REQUIRE(create_run_dir(home.layout(), vm, Ownership{65534, 65534}));
    auto again = stat_of(*uut);
    CHECK((again.st_mode & 07777) == 0750);
    CHECK(again.st_uid == 65534);
  }
}

TEST_CASE("a run dir is removed with its content; symlinks are not followed") {
  host_test::TestHome home;
  std::string vm = host_test::random_vm_id();
  REQUIRE(create_run_dir(home.layout(), vm, host_test::self_owner()));
  auto run = home.layout().vm_run_dir(vm);
  fs::create_directories(home.outside() / "dir");
  host_test::write_file(home.outside() / "secret", "secret");
  host_test::write_file(home.outside() / "dir" / "keep", "keep");

  fs::create_directories(run / "jail" / "firecracker" / vm / "root");
  host_test::write_file(run / "jail" / "firecracker" / vm / "root" / "vmlinux",
                        "k");
  host_test::write_file(run / "vsock.sock_52", "");
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, (run / "api.sock").c_str(),
               sizeof addr.sun_path - 1);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  ::close(fd);
  REQUIRE(::mkfifo((run / "fifo").c_str(), 0600) == 0);
  fs::create_symlink(home.outside() / "secret", run / "file-link");
  fs::create_directory_symlink(home.outside() / "dir", run / "dir-link");
  fs::create_directory_symlink(home.outside(),
                               run / "jail" / "firecracker" / "up");

  REQUIRE(remove_run_dir(home.layout(), vm));
  CHECK_FALSE(fs::exists(fs::symlink_status(run)));
  CHECK(fs::is_directory(home.layout().run_dir() / "vms"));
  CHECK(host_test::read_file(home.outside() / "secret") == "secret");
  CHECK(host_test::read_file(home.outside() / "dir" / "keep") == "keep");
}

TEST_CASE("a mount point inside a run dir stops the removal") {
  BANGER_REQUIRE_ROOT();
  host_test::TestHome home;
  std::string vm = host_test::random_vm_id();
  REQUIRE(create_run_dir(home.layout(), vm, host_test::self_owner()));
  auto mount_point = home.layout().vm_run_dir(vm) / "mnt";
  fs::create_directories(mount_point);
  if (host_test::run_program(
          {"mount", "-t", "tmpfs", "tmpfs", mount_point.string()}) != 0) {
    BANGER_SKIP("cannot mount a tmpfs");
  }
  struct Unmount {
    fs::path path;
    ~Unmount() { ::umount2(path.c_str(), MNT_DETACH); }
  } unmount{mount_point};
  host_test::write_file(mount_point / "kept", "kept");
  auto uut = remove_run_dir(home.layout(), vm);
  REQUIRE_FALSE(uut);
  CHECK(uut.error().code == Errc::conflict);
  CHECK(host_test::read_file(mount_point / "kept") == "kept");
}

// The helper keeps its home's descriptor; a home removed and made again at
// the same path is opened afresh, not reached through the old descriptor.
TEST_CASE("a run dir lands in a home made again at the same path") {
  BANGER_REQUIRE_ROOT();
  host_test::TestHome home;
  std::string vm = host_test::random_vm_id();
  REQUIRE(create_run_dir(home.layout(), vm, Ownership{0, 0}));
  REQUIRE(remove_run_dir(home.layout(), vm));
  fs::remove_all(home.layout().home());
  fs::create_directories(home.layout().run_dir());
  auto again = create_run_dir(home.layout(), vm, Ownership{0, 0});
  REQUIRE_MESSAGE(again, (again ? "" : again.error().message));
  CHECK(fs::is_directory(home.layout().vm_run_dir(vm)));
  CHECK(remove_run_dir(home.layout(), vm));
  CHECK_FALSE(fs::exists(home.layout().vm_run_dir(vm)));
}
