// The file work of `image add`: sparse copies keep holes, reflink where the
// file system can and a copy where it cannot, sources that are refused
// with the reason, and imports that fail or are abandoned leave nothing.
#include "actors/image_import.hpp"
#include "tests/support/process.hpp"
#include "tests/support/skip.hpp"

#include <doctest/doctest.h>

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <sys/wait.h>
#include <filesystem>
#include <fstream>

using namespace banger;
namespace fs = std::filesystem;

namespace {

constexpr std::uint64_t mib = 1 << 20;

/// Runs a shell command (paths here are from TempDir: no quoting needed).
int sh(const std::string& command) {
  int status = std::system((command + " >/dev/null 2>&1").c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/// A `size`-byte file with 4 KiB of data at each of `offsets`, holes between.
void write_sparse(const fs::path& path, std::uint64_t size, std::vector<std::uint64_t> offsets) {
  Fd fd{::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)};
  REQUIRE(fd);
  REQUIRE(::ftruncate(fd.get(), static_cast<off_t>(size)) == 0);
  std::string block(4096, 'x');
  for (auto offset : offsets) {
    block[0] = static_cast<char>('a' + offset % 26); // tell the blocks apart
    REQUIRE(::pwrite(fd.get(), block.data(), block.size(), static_cast<off_t>(offset)) == 4096);
  }
}

std::string contents(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

std::uint64_t allocated(const fs::path& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return static_cast<std::uint64_t>(st.st_blocks) * 512;
}

/// Whether FICLONE works between two files of `dir` (independently of the
/// code under test).
bool reflink_works(const fs::path& dir) {
  std::ofstream(dir / "probe-src") << "probe";
  Fd src{::open((dir / "probe-src").c_str(), O_RDONLY | O_CLOEXEC)};
  Fd dst{::open((dir / "probe-dst").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644)};
  bool ok = src && dst && ::ioctl(dst.get(), FICLONE, src.get()) == 0;
  fs::remove(dir / "probe-src");
  fs::remove(dir / "probe-dst");
  return ok;
}

Result<CopyMethod> copy_path(const fs::path& from, const fs::path& to) {
  Fd src{::open(from.c_str(), O_RDONLY | O_CLOEXEC)};
  Fd dst{::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)};
  REQUIRE(src);
  REQUIRE(dst);
  return copy_file(src.get(), dst.get(), fs::file_size(from), from.string());
}

std::vector<ImportItem> items_of(const HomeLayout& layout, const std::vector<std::pair<std::string, fs::path>>& files) {
  std::vector<ImportItem> items;
  for (auto& [role, path] : files) {
    auto source = open_import_source(path.string(), layout);
    REQUIRE_MESSAGE(source.ok(), (source.ok() ? "" : source.error().message));
    items.push_back({role, std::move(*source)});
  }
  return items;
}

struct Home {
  test::TempDir dir{"banger-import"};
  HomeLayout layout{fs::path(dir.path()) / "home"};
  fs::path outside = fs::path(dir.path()) / "outside";
  Home() {
    fs::create_directories(layout.images_dir());
    fs::create_directories(layout.state_dir());
    fs::create_directories(outside);
  }
  std::size_t imported_entries() const {
    std::error_code ec;
    std::size_t n = 0;
    for (auto it = fs::directory_iterator(layout.imported_dir(), ec); !ec && it != fs::directory_iterator(); ++it)
      ++n;
    return n;
  }
};

} // namespace

TEST_CASE("a sparse copy writes only the data: the copy keeps the holes and the bytes") {
  test::TempDir dir{"banger-sparse"};
  fs::path src = fs::path(dir.path()) / "src", dst = fs::path(dir.path()) / "dst";
  auto size = 64 * mib;
  write_sparse(src, size, {0, 20 * mib, size - 4096});
  auto method = copy_path(src, dst);
  REQUIRE_MESSAGE(method.ok(), (method.ok() ? "" : method.error().message));
  CHECK(fs::file_size(dst) == size);
  CHECK(contents(dst) == contents(src));
  // Three 4 KiB blocks of data in 64 MiB: a dense copy would allocate it all.
  CHECK(allocated(dst) < 1 * mib);
  CHECK(allocated(dst) < size / 16);
}

TEST_CASE("a file system without reflinks gets a sparse copy, one with them a reflink") {
  test::TempDir dir{"banger-reflink"};
  fs::path src = fs::path(dir.path()) / "src", dst = fs::path(dir.path()) / "dst";
  write_sparse(src, 8 * mib, {4096, 5 * mib});
  auto method = copy_path(src, dst);
  REQUIRE(method.ok());
  CHECK(*method == (reflink_works(dir.path()) ? CopyMethod::reflink : CopyMethod::sparse));
  CHECK(contents(dst) == contents(src));
}

TEST_CASE("on XFS with reflink the import shares the extents instead of copying") {
  BANGER_REQUIRE_ROOT();
  if (sh("command -v mkfs.xfs") != 0)
    BANGER_SKIP("mkfs.xfs is not installed");
  test::TempDir dir{"banger-xfs"};
  auto img = fs::path(dir.path()) / "xfs.img", mnt = fs::path(dir.path()) / "mnt";
  fs::create_directories(mnt);
  { std::ofstream(img).close(); }
  fs::resize_file(img, 320 * mib);
  REQUIRE(sh("mkfs.xfs -q -m reflink=1 " + img.string()) == 0);
  if (sh("mount -o loop " + img.string() + " " + mnt.string()) != 0)
    BANGER_SKIP("cannot loop-mount an XFS image here");
  write_sparse(mnt / "src", 16 * mib, {0, 8 * mib});
  auto method = copy_path(mnt / "src", mnt / "dst");
  bool same = method.ok() && contents(mnt / "dst") == contents(mnt / "src");
  sh("umount " + mnt.string());
  REQUIRE(method.ok());
  CHECK(*method == CopyMethod::reflink);
  CHECK(same);
}

TEST_CASE("sources that cannot be images are refused with the reason") {
  Home home;
  auto refusal = [&](const fs::path& path) {
    auto source = open_import_source(path.string(), home.layout);
    REQUIRE_FALSE(source.ok());
    CHECK(source.error().code == Errc::invalid_argument);
    return source.error().message;
  };
  CHECK(refusal(home.outside / "missing").find("no such file") != std::string::npos);
  CHECK(refusal(home.outside).find("not a regular file") != std::string::npos);
  REQUIRE(::mkfifo((home.outside / "fifo").c_str(), 0644) == 0);
  CHECK(refusal(home.outside / "fifo").find("not a regular file") != std::string::npos);
  std::ofstream(home.outside / "empty").close();
  CHECK(refusal(home.outside / "empty").find("empty") != std::string::npos);
  CHECK(refusal("relative/rootfs").find("absolute") != std::string::npos);
  // bangerd's own files, directly, by "..", or through a symlink elsewhere.
  std::ofstream(home.layout.database()) << "secret";
  CHECK(refusal(home.layout.database()).find("bangerd's own") != std::string::npos);
  CHECK(refusal(home.layout.images_dir() / ".." / "state" / "banger.db").find("bangerd's own")
        != std::string::npos);
  fs::create_symlink(home.layout.database(), home.outside / "link");
  CHECK(refusal(home.outside / "link").find("bangerd's own") != std::string::npos);
  // What is beneath images/ is not the daemon's secret.
  std::ofstream(home.layout.images_dir() / "rootfs") << "disk";
  CHECK(open_import_source((home.layout.images_dir() / "rootfs").string(), home.layout).ok());
}

TEST_CASE("an import moves its files into place only once every file is copied") {
  Home home;
  write_sparse(home.outside / "rootfs", 4 * mib, {0});
  std::ofstream(home.outside / "vmlinux") << "kernel";
  auto job = ImageImport::begin(home.layout, "00000000000000aa",
                                items_of(home.layout, {{"kernel", home.outside / "vmlinux"},
                                                       {"rootfs", home.outside / "rootfs"}}));
  REQUIRE(job.ok());
  CHECK((*job)->bytes_total() == 4 * mib + 6);
  auto final_dir = home.layout.image_import_dir("00000000000000aa");
  Result<bool> step = false;
  do {
    CHECK_FALSE(fs::exists(final_dir)); // nothing at the final path before the end
    step = (*job)->step(4096);
    REQUIRE(step.ok());
  } while (!*step);
  CHECK((*job)->bytes_done() == (*job)->bytes_total());
  CHECK(contents(final_dir / "rootfs") == contents(home.outside / "rootfs"));
  CHECK(contents(final_dir / "kernel") == "kernel");
  job->reset();
  CHECK(fs::exists(final_dir / "rootfs")); // committed: kept
  CHECK(home.imported_entries() == 1);
}

TEST_CASE("an import that fails or is abandoned leaves no folder behind") {
  Home home;
  write_sparse(home.outside / "rootfs", 4 * mib, {0, 2 * mib});
  SUBCASE("abandoned half way") {
    auto job = ImageImport::begin(home.layout, "00000000000000bb",
                                  items_of(home.layout, {{"rootfs", home.outside / "rootfs"}}));
    REQUIRE(job.ok());
    REQUIRE((*job)->step(4096).ok());
    CHECK(home.imported_entries() == 1); // the partial folder
    job->reset();
  }
  SUBCASE("the destination cannot grow (a full disk, a size limit)") {
    auto job = ImageImport::begin(home.layout, "00000000000000cc",
                                  items_of(home.layout, {{"rootfs", home.outside / "rootfs"}}));
    REQUIRE(job.ok());
    rlimit old{}, small{1 * mib, 1 * mib};
    ::getrlimit(RLIMIT_FSIZE, &old);
    auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
    ::setrlimit(RLIMIT_FSIZE, &small);
    auto step = (*job)->step(UINT64_MAX);
    ::setrlimit(RLIMIT_FSIZE, &old);
    std::signal(SIGXFSZ, old_handler);
    REQUIRE_FALSE(step.ok());
    CHECK(step.error().message.find("File too large") != std::string::npos);
    job->reset();
  }
  CHECK(home.imported_entries() == 0);
}

TEST_CASE("the start-up sweep removes partial imports and folders without a record") {
  Home home;
  fs::create_directories(home.layout.imported_dir() / ".partial-00000000000000dd");
  fs::create_directories(home.layout.image_import_dir("00000000000000ee"));
  fs::create_directories(home.layout.image_import_dir("00000000000000ff"));
  std::ofstream(home.layout.image_import_dir("00000000000000ff") / "rootfs") << "kept";
  auto removed = sweep_imports(home.layout, {"00000000000000ff"});
  CHECK(removed.size() == 2);
  CHECK(home.imported_entries() == 1);
  CHECK(contents(home.layout.image_import_dir("00000000000000ff") / "rootfs") == "kept");
}
