// Every file a VMM is given is checked by banger-helper for every VMM kind,
// before anything is launched: kernel and initrd beneath <home>/images, the
// rootfs in the VM's own directory. Firecracker opens these itself (as root
// when no VMM user is configured), so a kernel of /etc/shadow must never get
// as far as a VmmSpec.
#include "privileged/host/vmm_argv.hpp"
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
  VmmConfig config;

  Fixture() {
    config.firecracker_bin = "/usr/bin/true";
    config.jailer_bin = "/usr/bin/true";
    config.qemu_bin = "/usr/bin/true";
    config.vmm_user = Ownership{65534, 65534};
    fs::create_directories(home.outside());
    host_test::write_file(home.outside() / "vmlinux", "kernel");
    fs::create_symlink(home.outside() / "vmlinux", home.layout().images_dir() / "escape");
  }

  LaunchRequest request(VmmKind kind) const {
    LaunchRequest r;
    r.kind = kind;
    r.vm_id = vm;
    r.kernel = host_test::write_vm_files(home.layout(), vm);
    r.tap = tap_name(vm);
    r.mac = "02:fc:00:00:00:02";
    return r;
  }
};

constexpr VmmKind every_kind[] = {VmmKind::firecracker, VmmKind::jailer, VmmKind::qemu};

} // namespace

TEST_CASE("a kernel or initrd outside images/ is refused for every VMM kind") {
  Fixture f;
  for (auto kind : every_kind) {
    CAPTURE(to_string(kind));
    REQUIRE(code_of(validate_launch(f.request(kind), f.home.layout(), f.config)) == Errc::none);
    for (std::string path : {"/etc/shadow"s, "../outside/vmlinux"s, "escape"s,
                             (f.home.outside() / "vmlinux").string(),
                             (f.home.layout().images_dir() / ".." / "state").string()}) {
      CAPTURE(path);
      auto r = f.request(kind);
      r.kernel = path;
      CHECK(code_of(validate_launch(r, f.home.layout(), f.config)) == Errc::helper_refused);
      r = f.request(kind);
      r.initrd = path;
      CHECK(code_of(validate_launch(r, f.home.layout(), f.config)) == Errc::helper_refused);
    }
  }
}

TEST_CASE("a firecracker launch without a kernel is malformed") {
  Fixture f;
  auto r = f.request(VmmKind::firecracker);
  r.kernel.clear();
  CHECK(code_of(validate_launch(r, f.home.layout(), f.config)) == Errc::invalid_argument);
}

TEST_CASE("a rootfs planted as a symlink is refused for every VMM kind") {
  Fixture f;
  for (auto kind : every_kind) {
    CAPTURE(to_string(kind));
    auto r = f.request(kind);
    fs::remove(f.home.layout().vm_rootfs(f.vm));
    fs::create_symlink("/etc/shadow", f.home.layout().vm_rootfs(f.vm));
    CHECK(code_of(validate_launch(r, f.home.layout(), f.config)) == Errc::helper_refused);
    fs::remove(f.home.layout().vm_rootfs(f.vm));
    CHECK(code_of(validate_launch(r, f.home.layout(), f.config)) == Errc::not_found);
  }
}

TEST_CASE("a VM directory planted as a symlink does not lend its rootfs") {
  Fixture f;
  auto r = f.request(VmmKind::firecracker);
  fs::remove_all(f.home.layout().vm_dir(f.vm));
  fs::create_directories(f.home.outside() / "vm");
  host_test::write_file(f.home.outside() / "vm" / "rootfs.img", "disk");
  fs::create_directory_symlink(f.home.outside() / "vm", f.home.layout().vm_dir(f.vm));
  CHECK(code_of(validate_launch(r, f.home.layout(), f.config)) == Errc::helper_refused);
}

TEST_CASE("a validated launch names only files inside banger's directories") {
  Fixture f;
  fs::create_directories(f.home.layout().images_dir() / "deb");
  host_test::write_file(f.home.layout().images_dir() / "deb" / "vmlinux-6.1", "kernel");
  host_test::write_file(f.home.layout().images_dir() / "deb" / "initrd.img", "initrd");
  // A symlink that stays inside images/ is followed; the VMM gets its target.
  fs::create_symlink("vmlinux-6.1", f.home.layout().images_dir() / "deb" / "vmlinuz");
  for (auto kind : every_kind) {
    CAPTURE(to_string(kind));
    auto r = f.request(kind);
    r.kernel = (f.home.layout().images_dir() / "deb" / "vmlinuz").string();
    r.initrd = "deb/initrd.img";
    auto spec = validate_launch(r, f.home.layout(), f.config);
    REQUIRE(spec);
    auto images = fs::canonical(f.home.layout().images_dir());
    CHECK(spec->kernel == images / "deb" / "vmlinux-6.1");
    CHECK(spec->initrd == images / "deb" / "initrd.img");
    CHECK(spec->rootfs == f.home.layout().vm_rootfs(f.vm));
    CHECK(spec->vsock_socket == f.home.layout().vm_vsock(f.vm));
  }
}
