// prepare_rootfs / release_rootfs against images outside <home>/images and
// VM directories redirected by planted symlinks.
#include "privileged/host/rootfs.hpp"
#include "tests/security/fixtures.hpp"
#include "tests/support/result.hpp"

#include <chrono>
#include <doctest/doctest.h>
#include <sys/stat.h>

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
    fs::create_directories(home.outside());
    host_test::write_file(home.outside() / "secret.img", "secret");
    host_test::write_file(home.layout().images_dir() / "base.img", "image");
  }
  bool vm_dir_exists() const { return fs::exists(home.layout().vm_dir(vm)); }
};

} // namespace

TEST_CASE("an image path with traversal is refused and nothing is created") {
  Fixture f;
  for (std::string image :
       {"../../etc/passwd"s, "../outside/secret.img"s, "x/../../secret.img"s}) {
    auto uut = prepare_rootfs(f.home.layout(), f.vm, image,
                              RootfsStrategy::sparse_copy);
    CHECK(code_of(uut) == Errc::helper_refused);
  }
  CHECK_FALSE(f.vm_dir_exists());
}

TEST_CASE("an absolute image path outside images/ is refused") {
  Fixture f;
  for (auto image : {fs::path("/etc/passwd"), f.home.outside() / "secret.img",
                     f.home.layout().state_dir() / "banger.db"}) {
    auto uut = prepare_rootfs(f.home.layout(), f.vm, image.string(),
                              RootfsStrategy::sparse_copy);
    CHECK(code_of(uut) == Errc::helper_refused);
  }
  CHECK_FALSE(f.vm_dir_exists());
}

TEST_CASE("an image symlink escaping images/ is refused") {
  Fixture f;
  fs::create_symlink(f.home.outside() / "secret.img",
                     f.home.layout().images_dir() / "escape.img");
  fs::create_symlink("../../outside/secret.img",
                     f.home.layout().images_dir() / "relative.img");
  CHECK(code_of(prepare_rootfs(f.home.layout(), f.vm, "escape.img",
                               RootfsStrategy::automatic)) ==
        Errc::helper_refused);
  CHECK(code_of(prepare_rootfs(f.home.layout(), f.vm, "relative.img",
                               RootfsStrategy::automatic)) ==
        Errc::helper_refused);
  CHECK_FALSE(f.vm_dir_exists());
}

TEST_CASE("images/ itself replaced by a symlink is refused") {
  Fixture f;
  fs::remove_all(f.home.layout().images_dir());
  fs::create_directory_symlink(f.home.outside(), f.home.layout().images_dir());
  CHECK(code_of(prepare_rootfs(f.home.layout(), f.vm, "secret.img",
                               RootfsStrategy::sparse_copy)) ==
        Errc::helper_refused);
  CHECK_FALSE(f.vm_dir_exists());
}

TEST_CASE("a FIFO posing as an image is refused without blocking") {
  Fixture f;
  REQUIRE(::mkfifo((f.home.layout().images_dir() / "fifo.img").c_str(), 0600) ==
          0);
  auto started = std::chrono::steady_clock::now();
  CHECK(code_of(prepare_rootfs(f.home.layout(), f.vm, "fifo.img",
                               RootfsStrategy::sparse_copy)) ==
        Errc::helper_refused);
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(5));
  CHECK_FALSE(f.vm_dir_exists());
}

TEST_CASE("a vm directory redirected by a symlink is not written through") {
  Fixture f;
  fs::create_directories(f.home.layout().state_dir() / "vms");
  fs::create_directory_symlink(f.home.outside(), f.home.layout().vm_dir(f.vm));
  CHECK(code_of(prepare_rootfs(f.home.layout(), f.vm, "base.img",
                               RootfsStrategy::sparse_copy)) ==
        Errc::helper_refused);
  CHECK_FALSE(fs::exists(f.home.outside() / "rootfs.img"));
  CHECK(code_of(release_rootfs(f.home.layout(), f.vm)) == Errc::helper_refused);
  CHECK(host_test::read_file(f.home.outside() / "secret.img") == "secret");
}

TEST_CASE("state/vms redirected by a symlink is not written through") {
  Fixture f;
  fs::create_directory_symlink(f.home.outside(),
                               f.home.layout().state_dir() / "vms");
  CHECK(code_of(prepare_rootfs(f.home.layout(), f.vm, "base.img",
                               RootfsStrategy::sparse_copy)) ==
        Errc::helper_refused);
  CHECK_FALSE(fs::exists(f.home.outside() / f.vm));
}

TEST_CASE("release removes a planted rootfs symlink, not its target") {
  Fixture f;
  fs::create_directories(f.home.layout().vm_dir(f.vm));
  fs::create_symlink(f.home.outside() / "secret.img",
                     f.home.layout().vm_rootfs(f.vm));
  CHECK(release_rootfs(f.home.layout(), f.vm));
  CHECK_FALSE(fs::is_symlink(f.home.layout().vm_rootfs(f.vm)));
  CHECK(host_test::read_file(f.home.outside() / "secret.img") == "secret");
}

TEST_CASE("an existing rootfs is never overwritten") {
  Fixture f;
  fs::create_directories(f.home.layout().vm_dir(f.vm));
  host_test::write_file(f.home.layout().vm_rootfs(f.vm), "guest data");
  CHECK(code_of(prepare_rootfs(f.home.layout(), f.vm, "base.img",
                               RootfsStrategy::sparse_copy)) ==
        Errc::already_exists);
  CHECK(host_test::read_file(f.home.layout().vm_rootfs(f.vm)) == "guest data");
}

TEST_CASE("a hostile vm id or strategy is malformed") {
  Fixture f;
  for (std::string vm :
       {"../../../tmp/x"s, "0123456789ABCDEF"s, ""s, "0123456789abcdef/.."s})
    CHECK(code_of(prepare_rootfs(f.home.layout(), vm, "base.img",
                                 RootfsStrategy::sparse_copy)) ==
          Errc::invalid_argument);
  CHECK(code_of(release_rootfs(f.home.layout(), "../../etc")) ==
        Errc::invalid_argument);
  CHECK(code_of(remove_vm_state_dir(f.home.layout(), "..")) ==
        Errc::invalid_argument);
  CHECK(code_of(parse_rootfs_strategy("reflink;rm")) == Errc::invalid_argument);
}

TEST_CASE("dm-snapshot requested where unsupported fails clearly") {
  Fixture f;
  auto uut = prepare_rootfs(f.home.layout(), f.vm, "base.img",
                            RootfsStrategy::dm_snapshot);
  REQUIRE_FALSE(uut);
  CHECK(uut.error().code == Errc::invalid_argument);
  CHECK(uut.error().message.find("dm-snapshot") != std::string::npos);
  CHECK_FALSE(f.vm_dir_exists());
}
