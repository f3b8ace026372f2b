// Writable rootfs on real file systems: a sparse copy that keeps holes on the
// test machine's file system, and a reflink clone on a loop-mounted XFS.
#include "privileged/host/rootfs.hpp"
#include "tests/security/fixtures.hpp"

#include <doctest/doctest.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <fstream>
#include <iterator>

using namespace banger;
using namespace banger::host;
namespace fs = std::filesystem;

namespace {

constexpr off_t mib = 1024 * 1024;

/// Writes `size` bytes of a recognisable pattern at `offset`.
void write_pattern(const fs::path& path, off_t offset, std::size_t size,
                   char seed) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT, 0644);
  REQUIRE(fd >= 0);
  std::string data(size, '\0');
  for (std::size_t i = 0; i < size; ++i)
    data[i] = static_cast<char>(seed + static_cast<char>(i % 251));
  REQUIRE(::pwrite(fd, data.data(), data.size(), offset) ==
          static_cast<ssize_t>(size));
  ::close(fd);
}

/// A 64 MiB image with three data regions and holes between them.
void make_sparse_image(const fs::path& path) {
  write_pattern(path, 0, 1 * mib, 'a');
  write_pattern(path, 32 * mib, 4096, 'b');
  write_pattern(path, 63 * mib, 1 * mib, 'c');
  REQUIRE(::truncate(path.c_str(), 64 * mib) == 0);
}

struct stat stat_of(const fs::path& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st;
}

/// Whether the first extent of `path` is shared with another file.
bool first_extent_shared(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  REQUIRE(fd >= 0);
  alignas(fiemap) char buf[sizeof(fiemap) + sizeof(fiemap_extent)] = {};
  auto* map = reinterpret_cast<fiemap*>(buf);
  map->fm_length = ~0ULL;
  map->fm_flags = FIEMAP_FLAG_SYNC;
  map->fm_extent_count = 1;
  bool shared = ::ioctl(fd, FS_IOC_FIEMAP, map) == 0 &&
                map->fm_mapped_extents == 1 &&
                (map->fm_extents[0].fe_flags & FIEMAP_EXTENT_SHARED);
  ::close(fd);
  return shared;
}

/// An XFS file system with reflink, loop-mounted for the test's lifetime.
class XfsMount {
public:
  XfsMount() {
    auto mkfs = host_test::find_program("mkfs.xfs");
    if (mkfs.empty()) {
      why_not_ = "mkfs.xfs not found (Debian package xfsprogs)";
      return;
    }
    fs::create_directories(mount_point_);
    int fd = ::open(image_.c_str(), O_CREAT | O_WRONLY, 0600);
    REQUIRE(fd >= 0);
    REQUIRE(::ftruncate(fd, 512 * mib) == 0);
    ::close(fd);
    if (host_test::run_program(
            {mkfs.string(), "-q", "-m", "reflink=1", image_.string()}) != 0) {
      why_not_ = "mkfs.xfs -m reflink=1 failed";
      return;
    }
    if (host_test::run_program({"mount", "-o", "loop", image_.string(),
                                mount_point_.string()}) != 0) {
      why_not_ = "mount -o loop of the XFS image failed";
      return;
    }
    mounted_ = true;
  }
  ~XfsMount() {
    // mount(8) set up the loop device with autoclear: unmounting frees it.
    if (mounted_ && ::umount2(mount_point_.c_str(), 0) != 0)
      ::umount2(mount_point_.c_str(), MNT_DETACH);
  }
  XfsMount(const XfsMount&) = delete;
  XfsMount& operator=(const XfsMount&) = delete;

  bool mounted() const { return mounted_; }
  const std::string& why_not() const { return why_not_; }
  const fs::path& path() const { return mount_point_; }

private:
  test::TempDir dir_{"banger-xfs-test"};
  fs::path image_ = fs::path(dir_.path()) / "xfs.img";
  fs::path mount_point_ = fs::path(dir_.path()) / "mnt";
  bool mounted_ = false;
  std::string why_not_;
};

} // namespace

TEST_CASE("detection reports sparse copy always and dm-snapshot honestly") {
  test::TempDir dir;
  auto support = detect_rootfs_support(dir.path());
  REQUIRE(support);
  CHECK(support->sparse_copy.supported);
  CHECK_FALSE(support->dm_snapshot.supported);
  CHECK_FALSE(support->dm_snapshot.detail.empty());
  MESSAGE("reflink: " << support->reflink.detail);
  MESSAGE("dm-snapshot: " << support->dm_snapshot.detail);
  // The probe leaves nothing behind.
  CHECK(fs::is_empty(dir.path()));
}

TEST_CASE("a sparse copy keeps the image's content, size and holes") {
  host_test::TestHome home;
  auto image = home.layout().images_dir() / "base.img";
  make_sparse_image(image);
  std::string vm = host_test::random_vm_id();

  auto uut = prepare_rootfs(home.layout(), vm, "base.img",
                            RootfsStrategy::sparse_copy);
  REQUIRE(uut);
  CHECK(uut->strategy == RootfsStrategy::sparse_copy);
  CHECK(uut->path == home.layout().vm_rootfs(vm));
  CHECK(uut->size_bytes == static_cast<std::uint64_t>(64 * mib));
  auto source = stat_of(image);
  auto copy = stat_of(uut->path);
  CHECK(copy.st_size == source.st_size);
  CHECK(host_test::files_equal(uut->path, image));
  // Holes stay holes: the copy allocates no more than the image does.
  CHECK(copy.st_blocks <= source.st_blocks + 64);
  CHECK(copy.st_blocks * 512 < 8 * mib);
  CHECK((copy.st_mode & 07777) == 0600);
  // Only the rootfs is left in the VM directory: no temporary copy.
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(home.layout().vm_dir(vm)))
    names.push_back(entry.path().filename().string());
  CHECK(names == std::vector<std::string>{"rootfs.img"});

  SUBCASE("release removes it, and a second release is not_found") {
    REQUIRE(release_rootfs(home.layout(), vm));
    CHECK_FALSE(fs::exists(uut->path));
    auto again = release_rootfs(home.layout(), vm);
    REQUIRE_FALSE(again);
    CHECK(again.error().code == Errc::not_found);
    REQUIRE(remove_vm_state_dir(home.layout(), vm));
    CHECK_FALSE(fs::exists(home.layout().vm_dir(vm)));
  }
}

TEST_CASE("a disk size grows the copy sparsely and keeps the image's content") {
  host_test::TestHome home;
  auto image = home.layout().images_dir() / "base.img";
  make_sparse_image(image);
  std::string vm = host_test::random_vm_id();

  auto uut = prepare_rootfs(home.layout(), vm, "base.img", RootfsStrategy::automatic, {},
                            2048 * static_cast<std::uint64_t>(mib));
  REQUIRE_MESSAGE(uut, (uut ? "" : uut.error().message));
  CHECK(uut->size_bytes == 2048 * static_cast<std::uint64_t>(mib));
  auto copy = stat_of(uut->path);
  CHECK(copy.st_size == 2048 * mib);
  // The growth is a hole: no more blocks than the image's data.
  CHECK(copy.st_blocks * 512 < 8 * mib);
  // The first 64 MiB are the image, byte for byte.
  int fd = ::open(uut->path.c_str(), O_RDONLY);
  REQUIRE(fd >= 0);
  std::string head(64 * mib, '\0');
  REQUIRE(::pread(fd, head.data(), head.size(), 0) == static_cast<ssize_t>(head.size()));
  ::close(fd);
  std::ifstream in(image, std::ios::binary);
  std::string original((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(head == original);
}

TEST_CASE("a disk size below the image's, or out of bounds, is refused and makes nothing") {
  host_test::TestHome home;
  auto image = home.layout().images_dir() / "base.img";
  make_sparse_image(image); // 64 MiB
  std::string vm = host_test::random_vm_id();
  for (std::uint64_t size : {std::uint64_t{48} * mib, std::uint64_t{1} << 20,
                             (std::uint64_t{2} << 40) + mib, std::uint64_t{64} * mib + 1}) {
    CAPTURE(size);
    auto refused = prepare_rootfs(home.layout(), vm, "base.img", RootfsStrategy::automatic, {},
                                  size);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == Errc::invalid_argument);
    CHECK_FALSE(fs::exists(home.layout().vm_dir(vm)));
  }
  auto shrink = prepare_rootfs(home.layout(), vm, "base.img", RootfsStrategy::automatic, {},
                               48 * static_cast<std::uint64_t>(mib));
  REQUIRE_FALSE(shrink);
  CHECK(shrink.error().message.find("can only be grown") != std::string::npos);
  // The image's own size is no growth, and allowed.
  auto same = prepare_rootfs(home.layout(), vm, "base.img", RootfsStrategy::automatic, {},
                             64 * static_cast<std::uint64_t>(mib));
  REQUIRE(same);
  CHECK(stat_of(same->path).st_size == 64 * mib);
}

TEST_CASE("auto uses reflink exactly where detection says it works") {
  host_test::TestHome home;
  make_sparse_image(home.layout().images_dir() / "base.img");
  auto support = detect_rootfs_support(home.layout().state_dir());
  REQUIRE(support);
  std::string vm = host_test::random_vm_id();
  auto uut =
      prepare_rootfs(home.layout(), vm, "base.img", RootfsStrategy::automatic);
  REQUIRE(uut);
  CHECK(uut->strategy == (support->reflink.supported
                              ? RootfsStrategy::reflink
                              : RootfsStrategy::sparse_copy));
  if (!support->reflink.supported) {
    auto explicit_reflink =
        prepare_rootfs(home.layout(), host_test::random_vm_id(), "base.img",
                       RootfsStrategy::reflink);
    REQUIRE_FALSE(explicit_reflink);
    CHECK(explicit_reflink.error().code == Errc::invalid_argument);
  }
}

TEST_CASE("the VM directory and rootfs belong to the VMM user") {
  BANGER_REQUIRE_ROOT();
  host_test::TestHome home;
  make_sparse_image(home.layout().images_dir() / "base.img");
  std::string vm = host_test::random_vm_id();
  auto uut =
      prepare_rootfs(home.layout(), vm, "base.img", RootfsStrategy::sparse_copy,
                     Ownership{65534, 65534});
  REQUIRE(uut);
  auto dir = stat_of(home.layout().vm_dir(vm));
  CHECK((dir.st_mode & 07777) == 0750);
  CHECK(dir.st_uid == 65534);
  CHECK(dir.st_gid == 65534);
  auto file = stat_of(uut->path);
  CHECK(file.st_uid == 65534);
  CHECK(file.st_gid == 65534);
}

TEST_CASE("on XFS with reflink the rootfs is a clone sharing extents") {
  BANGER_REQUIRE_ROOT();
  XfsMount xfs;
  if (!xfs.mounted())
    BANGER_SKIP(xfs.why_not());
  HomeLayout layout(xfs.path() / "home");
  fs::create_directories(layout.images_dir());
  fs::create_directories(layout.state_dir());
  auto image = layout.images_dir() / "base.img";
  make_sparse_image(image);

  auto support = detect_rootfs_support(layout.state_dir());
  REQUIRE(support);
  CHECK(support->reflink.supported);

  std::string vm = host_test::random_vm_id();
  auto uut = prepare_rootfs(layout, vm, "base.img", RootfsStrategy::automatic);
  REQUIRE(uut);
  CHECK(uut->strategy == RootfsStrategy::reflink);
  CHECK(stat_of(uut->path).st_size == stat_of(image).st_size);
  CHECK(host_test::files_equal(uut->path, image));
  CHECK(first_extent_shared(uut->path));

  auto explicit_reflink = prepare_rootfs(layout, host_test::random_vm_id(),
                                         "base.img", RootfsStrategy::reflink);
  REQUIRE(explicit_reflink);
  CHECK(explicit_reflink->strategy == RootfsStrategy::reflink);
}
