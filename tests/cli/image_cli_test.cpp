// `banger image add/rm/build` through the real binary against a real
// bangerd + banger-helper + fc-stub (tests/support/host_fixture.hpp): files
// from anywhere are imported into <home>/images, keep working once their
// sources are gone, go away with `image rm`, and failed imports leave
// nothing behind. Needs root (the helper's bridge and taps).
#include "messages/home_layout.hpp"
#include "tests/cli/cli_run.hpp"
#include "tests/support/host_fixture.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>

using namespace banger;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

constexpr std::uint64_t mib = 1 << 20;

struct Installation {
  test::Host host;
  test::TempDir sources{"banger-image-src"}; ///< outside the home
  fs::path src = sources.path();

  Installation() {
    host.start_helper();
    host.start_daemon();
    host.wait_ready();
  }
  test::RunResult cli(std::vector<std::string> args) const {
    args.insert(args.begin(), {"--home", host.home()});
    return test::run_banger(args);
  }
  json cli_json(std::vector<std::string> args) const {
    args.insert(args.begin(), {"-o", "json"});
    auto r = cli(args);
    INFO("stdout: " << r.out << " stderr: " << r.err);
    REQUIRE(!r.out.empty());
    return json::parse(r.out);
  }
  HomeLayout layout() const { return HomeLayout{host.home()}; }
  /// Entries of <home>/images/_imported/ (partial or finished imports).
  std::size_t imported_entries() const {
    std::error_code ec;
    std::size_t n = 0;
    for (auto it = fs::directory_iterator(layout().imported_dir(), ec);
         !ec && it != fs::directory_iterator(); ++it)
      ++n;
    return n;
  }
  std::size_t images() const { return cli_json({"image", "ls"})["images"].size(); }
};

/// A `size`-byte file: 64 KiB of data at its start, the rest a hole.
void write_disk(const fs::path& path, std::uint64_t size) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  REQUIRE(fd >= 0);
  REQUIRE(::ftruncate(fd, static_cast<off_t>(size)) == 0);
  std::string data(65536, 'd');
  REQUIRE(::pwrite(fd, data.data(), data.size(), 0) == static_cast<ssize_t>(data.size()));
  ::close(fd);
}

std::uint64_t allocated(const fs::path& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return static_cast<std::uint64_t>(st.st_blocks) * 512;
}

} // namespace

TEST_CASE("image add imports files from outside the home; VMs boot from them after the sources are deleted") {
  BANGER_REQUIRE_ROOT();
  Installation inst;
  std::ofstream(inst.src / "vmlinux") << "not really a kernel";
  write_disk(inst.src / "rootfs.ext4", 64 * mib);
  auto added = inst.cli({"image", "add", "ext", "--kernel", (inst.src / "vmlinux").string(),
                         "--rootfs", (inst.src / "rootfs.ext4").string()});
  REQUIRE_MESSAGE(added.exit_code == 0, added.err);
  CHECK(added.err.empty()); // not a terminal: no progress, output as before
  fs::remove_all(inst.src);

  auto image = inst.cli_json({"image", "show", "ext"});
  std::string id = image["id"];
  auto dir = inst.layout().image_import_dir(id);
  CHECK(image["kernel_path"] == (dir / "kernel").string());
  CHECK(image["rootfs_path"] == (dir / "rootfs").string());
  CHECK(fs::file_size(dir / "rootfs") == 64 * mib);
  CHECK(allocated(dir / "rootfs") < 4 * mib); // the hole stayed a hole

  auto created = inst.cli({"vm", "create", "--image", "ext", "--name", "v1", "--start"});
  REQUIRE_MESSAGE(created.exit_code == 0, created.err);
  CHECK(inst.cli_json({"vm", "show", "v1"})["state"] == "running");
  REQUIRE(inst.cli({"vm", "rm", "v1"}).exit_code == 0);

  auto removed = inst.cli({"image", "rm", "ext"});
  REQUIRE_MESSAGE(removed.exit_code == 0, removed.err);
  CHECK(removed.out.find("removed " + (dir / "kernel").string()) != std::string::npos);
  CHECK(removed.out.find("removed " + (dir / "rootfs").string()) != std::string::npos);
  CHECK_FALSE(fs::exists(dir));
  CHECK(inst.images() == 0);
}

TEST_CASE("image add uses files beneath <home>/images in place and image rm keeps them") {
  BANGER_REQUIRE_ROOT();
  Installation inst;
  auto image = inst.host.add_image("tiny");
  auto json_rm = inst.cli_json({"image", "rm", "tiny"});
  CHECK(json_rm["removed_files"].empty());
  CHECK(fs::exists(image.rootfs_path));
  CHECK(inst.imported_entries() == 0);
}

TEST_CASE("image rm of an image that VMs use names every one of them") {
  BANGER_REQUIRE_ROOT();
  Installation inst;
  inst.host.add_image("tiny");
  for (auto* name : {"alpha", "beta"})
    REQUIRE(inst.cli({"vm", "create", "--image", "tiny", "--name", name}).exit_code == 0);
  auto refused = inst.cli({"image", "rm", "tiny"});
  CHECK(refused.exit_code == 1);
  CHECK(refused.err.find("'alpha'") != std::string::npos);
  CHECK(refused.err.find("'beta'") != std::string::npos);
  // image build --force refuses the same way, before anything is built.
  auto forced = inst.cli({"image", "build", "tiny", "--force"});
  CHECK(forced.exit_code == 1);
  CHECK(forced.err.find("'alpha'") != std::string::npos);
  CHECK(forced.err.find("'beta'") != std::string::npos);
  auto clash = inst.cli({"image", "build", "tiny"});
  CHECK(clash.exit_code == 1);
  CHECK(clash.err.find("--force") != std::string::npos);
  CHECK(inst.cli({"image", "build", "tiny", "--size", "8"}).exit_code == 2);
  CHECK(inst.images() == 1);
}

TEST_CASE("an image add that fails leaves no files and no record") {
  BANGER_REQUIRE_ROOT();
  Installation inst;
  std::ofstream(inst.src / "vmlinux") << "kernel";
  auto kernel = (inst.src / "vmlinux").string();
  auto add = [&](const std::string& rootfs) {
    return inst.cli({"image", "add", "broken", "--kernel", kernel, "--rootfs", rootfs});
  };
  SUBCASE("a source that is gone") {
    auto r = add((inst.src / "deleted").string());
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("no such file") != std::string::npos);
  }
  SUBCASE("a source that is not a regular file, or not readable as one") {
    REQUIRE(::mkfifo((inst.src / "fifo").c_str(), 0644) == 0);
    for (auto path : {inst.src.string(), (inst.src / "fifo").string()}) {
      auto r = add(path);
      CHECK(r.exit_code == 1);
      CHECK(r.err.find("not a regular file") != std::string::npos);
    }
  }
  SUBCASE("one of bangerd's own files") {
    auto r = add(inst.layout().database().string());
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("bangerd's own") != std::string::npos);
  }
  SUBCASE("a copy that runs out of space") {
    // A 1 MiB file system where imports go; the rootfs holds 4 MiB of data.
    fs::create_directories(inst.layout().imported_dir());
    REQUIRE(::mount("tmpfs", inst.layout().imported_dir().c_str(), "tmpfs", 0, "size=1m") == 0);
    {
      std::ofstream disk(inst.src / "rootfs");
      disk << std::string(4 * mib, 'x');
    }
    auto r = add((inst.src / "rootfs").string());
    CHECK(inst.imported_entries() == 0);
    ::umount(inst.layout().imported_dir().c_str());
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("No space left on device") != std::string::npos);
    CHECK(r.err.find("(op-") != std::string::npos);
  }
  CHECK(inst.imported_entries() == 0);
  CHECK(inst.images() == 0);
}

TEST_CASE("an import cut short by a daemon exit is swept away at the next start") {
  BANGER_REQUIRE_ROOT();
  Installation inst;
  auto partial = inst.layout().imported_dir() / ".partial-0123456789abcdef";
  fs::create_directories(partial);
  std::ofstream(partial / "rootfs") << "half";
  // Files committed, record never written.
  fs::create_directories(inst.layout().image_import_dir("fedcba9876543210"));
  inst.host.stop_daemon();
  inst.host.start_daemon();
  inst.host.wait_ready();
  CHECK(inst.imported_entries() == 0);
  CHECK(inst.images() == 0);
}

TEST_CASE("a daemon killed in the middle of an import leaves neither files nor a record") {
  BANGER_REQUIRE_ROOT();
  Installation inst;
  std::ofstream(inst.src / "vmlinux") << "kernel";
  {
    // Data all the way (no holes to skip), so the copy takes a while.
    std::ofstream disk(inst.src / "rootfs", std::ios::binary);
    std::string chunk(mib, 'x');
    for (int i = 0; i < 512; ++i)
      disk << chunk;
  }
  test::RunResult added;
  std::thread adder([&] {
    added = inst.cli({"image", "add", "cut", "--kernel", (inst.src / "vmlinux").string(),
                      "--rootfs", (inst.src / "rootfs").string()});
  });
  bool copying = test::eventually(
    [&] {
      std::error_code ec;
      for (auto it = fs::directory_iterator(inst.layout().imported_dir(), ec);
           !ec && it != fs::directory_iterator(); ++it)
        if (it->path().filename().string().starts_with(".partial-"))
          return true;
      return false;
    },
    std::chrono::seconds(20), std::chrono::milliseconds(1));
  inst.host.stop_daemon(SIGKILL);
  adder.join();
  REQUIRE(copying);
  CHECK(added.exit_code != 0); // the daemon went away mid-request
  CHECK(inst.imported_entries() == 1); // what the killed daemon left
  inst.host.start_daemon();
  inst.host.wait_ready();
  CHECK(inst.imported_entries() == 0);
  CHECK(inst.images() == 0);
}
