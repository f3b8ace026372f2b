// resolve_beneath and friends against traversal, absolute paths outside the
// root and symlinks planted to escape it.
#include "privileged/host/paths.hpp"
#include "tests/security/fixtures.hpp"
#include "tests/support/result.hpp"

#include <doctest/doctest.h>
#include <filesystem>

using namespace banger;
using banger::test::code_of;
using namespace banger::host;
using namespace std::string_literals;
namespace fs = std::filesystem;

namespace {

struct Tree {
  test::TempDir dir;
  fs::path root = fs::path(dir.path()) / "root";
  fs::path outside = fs::path(dir.path()) / "outside";

  Tree() {
    fs::create_directories(root / "images" / "base");
    fs::create_directories(outside);
    host_test::write_file(root / "images" / "base" / "rootfs.ext4", "image");
    host_test::write_file(outside / "secret", "secret");
  }
};

} // namespace

TEST_CASE("a relative path inside the root resolves to its canonical path") {
  Tree tree;
  auto uut = resolve_beneath(tree.root, "images/base/rootfs.ext4");
  REQUIRE(uut);
  CHECK(uut->path == fs::canonical(tree.root / "images/base/rootfs.ext4"));
}

TEST_CASE("an absolute path under the root resolves") {
  Tree tree;
  auto uut = resolve_beneath(tree.root,
                             (tree.root / "images/base/rootfs.ext4").string());
  REQUIRE(uut);
  CHECK(uut->path == fs::canonical(tree.root / "images/base/rootfs.ext4"));
}

TEST_CASE("traversal with .. is refused") {
  Tree tree;
  CHECK(code_of(resolve_beneath(tree.root, "../../etc/passwd")) ==
        Errc::helper_refused);
  CHECK(code_of(resolve_beneath(tree.root, "images/../../outside/secret")) ==
        Errc::helper_refused);
  CHECK(code_of(resolve_beneath(tree.root, "images/base/..")) ==
        Errc::helper_refused);
  CHECK(code_of(resolve_beneath(
            tree.root, (tree.root / ".." / "outside/secret").string())) ==
        Errc::helper_refused);
}

TEST_CASE("absolute paths outside the root are refused") {
  Tree tree;
  CHECK(code_of(resolve_beneath(tree.root, "/etc/passwd")) ==
        Errc::helper_refused);
  CHECK(
      code_of(resolve_beneath(tree.root, (tree.outside / "secret").string())) ==
      Errc::helper_refused);
  // A sibling whose name starts with the root's name is not under it.
  fs::create_directories(fs::path(tree.dir.path()) / "root-sibling");
  host_test::write_file(fs::path(tree.dir.path()) / "root-sibling" / "f", "x");
  CHECK(code_of(resolve_beneath(
            tree.root, (fs::path(tree.dir.path()) / "root-sibling" / "f").string())) ==
        Errc::helper_refused);
}

TEST_CASE("a symlink escaping the root is refused") {
  Tree tree;
  fs::create_symlink(tree.outside / "secret",
                     tree.root / "images" / "abs-link");
  fs::create_symlink("../../outside/secret", tree.root / "images" / "rel-link");
  fs::create_directory_symlink(tree.outside, tree.root / "images" / "dir-link");
  fs::create_symlink("/proc/self/root/etc/passwd",
                     tree.root / "images" / "magic-link");
  CHECK(code_of(resolve_beneath(tree.root, "images/abs-link")) ==
        Errc::helper_refused);
  CHECK(code_of(resolve_beneath(tree.root, "images/rel-link")) ==
        Errc::helper_refused);
  CHECK(code_of(resolve_beneath(tree.root, "images/dir-link/secret")) ==
        Errc::helper_refused);
  CHECK(code_of(resolve_beneath(tree.root, "images/magic-link")) ==
        Errc::helper_refused);
  CHECK(host_test::read_file(tree.outside / "secret") == "secret");
}

TEST_CASE("a symlink staying inside the root is followed unless forbidden") {
  Tree tree;
  fs::create_symlink("base/rootfs.ext4", tree.root / "images" / "inner-link");
  auto followed = resolve_beneath(tree.root, "images/inner-link");
  REQUIRE(followed);
  CHECK(followed->path == fs::canonical(tree.root / "images/base/rootfs.ext4"));
  CHECK(code_of(resolve_beneath(tree.root, "images/inner-link", O_PATH,
                                Symlinks::never)) == Errc::helper_refused);
}

TEST_CASE("NUL, control characters and overlong paths are malformed") {
  Tree tree;
  CHECK(code_of(resolve_beneath(tree.root, "images/base\0/../../x"s)) ==
        Errc::invalid_argument);
  CHECK(code_of(resolve_beneath(tree.root, "images/\nbase")) ==
        Errc::invalid_argument);
  CHECK(code_of(resolve_beneath(tree.root, "")) == Errc::invalid_argument);
  CHECK(code_of(resolve_beneath(tree.root, std::string(5000, 'a'))) ==
        Errc::invalid_argument);
}

TEST_CASE("a missing file is not_found, not refused") {
  Tree tree;
  CHECK(code_of(resolve_beneath(tree.root, "images/missing")) ==
        Errc::not_found);
}

TEST_CASE("creating through an escaping symlink creates nothing outside") {
  Tree tree;
  fs::create_directory_symlink(tree.outside, tree.root / "escape");
  auto root_fd = open_trusted_dir(tree.root);
  REQUIRE(root_fd);
  auto uut = open_beneath(root_fd->get(), "escape/created",
                          O_WRONLY | O_CREAT | O_EXCL, Symlinks::inside_root,
                          "escape/created", 0600);
  REQUIRE_FALSE(uut);
  CHECK(uut.error().code == Errc::helper_refused);
  CHECK_FALSE(fs::exists(tree.outside / "created"));
}

TEST_CASE("make_directory_at refuses a symlink planted in its place") {
  Tree tree;
  fs::create_directory_symlink(tree.outside, tree.root / "planted");
  auto root_fd = open_trusted_dir(tree.root);
  REQUIRE(root_fd);
  auto uut = make_directory_at(root_fd->get(), "planted", 0750, "planted");
  REQUIRE_FALSE(uut);
  CHECK(uut.error().code == Errc::helper_refused);
  CHECK(fs::is_symlink(tree.root / "planted"));
  auto traversal = make_directory_at(root_fd->get(), "../x", 0750, "x");
  REQUIRE_FALSE(traversal);
  CHECK(traversal.error().code == Errc::invalid_argument);
}

TEST_CASE("remove_tree_at unlinks symlinks without following them") {
  Tree tree;
  fs::create_directories(tree.root / "victim" / "sub");
  fs::create_directory_symlink(tree.outside, tree.root / "victim" / "dir-link");
  fs::create_symlink(tree.outside / "secret",
                     tree.root / "victim" / "sub" / "link");
  auto root_fd = open_trusted_dir(tree.root);
  REQUIRE(root_fd);
  REQUIRE(remove_tree_at(root_fd->get(), "victim", "victim"));
  CHECK_FALSE(fs::exists(tree.root / "victim"));
  CHECK(host_test::read_file(tree.outside / "secret") == "secret");
  auto again = remove_tree_at(root_fd->get(), "victim", "victim");
  REQUIRE_FALSE(again);
  CHECK(again.error().code == Errc::not_found);
}
