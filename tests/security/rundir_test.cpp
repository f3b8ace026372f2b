// Run directories are only ever created and removed beneath <home>/run/vms,
// and removal never follows a symlink out.
#include "privileged/host/rundir.hpp"
#include "tests/security/fixtures.hpp"
#include "tests/support/result.hpp"

#include <doctest/doctest.h>

using namespace banger;
using banger::test::code_of;
using namespace banger::host;
using namespace std::string_literals;
namespace fs = std::filesystem;

namespace {

struct Fixture {
  host_test::TestHome home;
  std::string vm = host_test::random_vm_id();
  Fixture() {
    fs::create_directories(home.outside() / "dir");
    host_test::write_file(home.outside() / "secret", "secret");
    host_test::write_file(home.outside() / "dir" / "keep", "keep");
  }
};

} // namespace

TEST_CASE("a hostile vm id is malformed for create and remove") {
  Fixture f;
  for (std::string vm : {"../../etc"s, ".."s, "0123456789abcdef/x"s,
                         "0123456789abcde\0"s, ""s}) {
    CHECK(
        code_of(create_run_dir(f.home.layout(), vm, host_test::self_owner())) ==
        Errc::invalid_argument);
    CHECK(code_of(remove_run_dir(f.home.layout(), vm)) ==
          Errc::invalid_argument);
  }
  CHECK_FALSE(fs::exists(f.home.layout().run_dir() / "vms"));
}

TEST_CASE("a run dir planted as a symlink to outside is not used") {
  Fixture f;
  fs::create_directories(f.home.layout().run_dir() / "vms");
  fs::create_directory_symlink(f.home.outside() / "dir",
                               f.home.layout().vm_run_dir(f.vm));
  CHECK(
      code_of(create_run_dir(f.home.layout(), f.vm, host_test::self_owner())) ==
      Errc::helper_refused);
  // Removal unlinks the planted link itself and nothing behind it.
  CHECK(remove_run_dir(f.home.layout(), f.vm));
  CHECK_FALSE(fs::is_symlink(f.home.layout().vm_run_dir(f.vm)));
  CHECK(host_test::read_file(f.home.outside() / "dir" / "keep") == "keep");
}

TEST_CASE("run/vms planted as a symlink to outside is refused") {
  Fixture f;
  fs::create_directories(f.home.outside() / "dir" / f.vm);
  fs::create_directory_symlink(f.home.outside() / "dir",
                               f.home.layout().run_dir() / "vms");
  CHECK(
      code_of(create_run_dir(f.home.layout(), f.vm, host_test::self_owner())) ==
      Errc::helper_refused);
  CHECK(code_of(remove_run_dir(f.home.layout(), f.vm)) == Errc::helper_refused);
  CHECK(fs::is_directory(f.home.outside() / "dir" / f.vm));
  CHECK(host_test::read_file(f.home.outside() / "dir" / "keep") == "keep");
}

TEST_CASE("removing a run dir does not follow symlinks inside it") {
  Fixture f;
  REQUIRE(create_run_dir(f.home.layout(), f.vm, host_test::self_owner()));
  auto run = f.home.layout().vm_run_dir(f.vm);
  fs::create_directory_symlink(f.home.outside() / "dir", run / "dir-link");
  fs::create_symlink(f.home.outside() / "secret", run / "file-link");
  fs::create_directories(run / "jail" / "deep");
  fs::create_directory_symlink(f.home.outside(), run / "jail" / "deep" / "up");
  CHECK(remove_run_dir(f.home.layout(), f.vm));
  CHECK_FALSE(fs::exists(run));
  CHECK(host_test::read_file(f.home.outside() / "secret") == "secret");
  CHECK(host_test::read_file(f.home.outside() / "dir" / "keep") == "keep");
}

TEST_CASE("removing a missing run dir is not_found") {
  Fixture f;
  fs::create_directories(f.home.layout().run_dir() / "vms");
  CHECK(code_of(remove_run_dir(f.home.layout(), f.vm)) == Errc::not_found);
}
