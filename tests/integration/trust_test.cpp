// The helper's trust boundary with a real banger-helper (fc-stub as the
// VMM): requests sent to it directly, as a compromised daemon could, and
// images registered through bangerd as any client can.
#include "tests/integration/helper_client.hpp"
#include "tests/integration/helpers.hpp"
#include "tests/support/result.hpp"

#include "messages/config.hpp"
#include "messages/excerpt.hpp"
#include "messages/op_id.hpp"
#include "messages/remote_call.hpp"
#include "messages/tls.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>

#include <algorithm>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>

using namespace banger;
using namespace banger::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

/// A persistent tap made without banger, as any root process can.
struct ForeignTap {
  std::string name;
  explicit ForeignTap(std::string n) : name(std::move(n)) {
    REQUIRE(tun(true));
  }
  ~ForeignTap() { tun(false); }
  bool tun(bool persist) {
    int fd = ::open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0)
      return false;
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    bool ok = ::ioctl(fd, TUNSETIFF, &ifr) == 0
              && ::ioctl(fd, TUNSETPERSIST, persist ? 1UL : 0UL) == 0;
    ::close(fd);
    return ok;
  }
};

bool link_exists(const std::string& name) {
  return ::if_nametoindex(name.c_str()) != 0;
}

std::string master_of(const std::string& device) {
  std::error_code ec;
  auto target = fs::read_symlink("/sys/class/net/" + device + "/master", ec);
  return ec ? "" : target.filename().string();
}

} // namespace

TEST_CASE("banger-helper answers a request of another protocol version with bad_version") {
  BANGER_REQUIRE_ROOT();
  Running env;
  HelperClient helper(env.host);
  CHECK(helper.ask<HelperInfo>(HelperInfoRequest{}));
  for (auto version : {protocol_version + 1, protocol_version - 1, 0u}) {
    CAPTURE(version);
    HelperInfoRequest info;
    info.env.version = version;
    CHECK(code_of(helper.ask<HelperInfo>(info)) == Errc::bad_version);
    RuntimeRemoveRequest remove;
    remove.env.version = version;
    remove.vm_id = "0123456789abcdef";
    CHECK(code_of(helper.ask<Ack>(remove)) == Errc::bad_version);
  }
}

// Files outside <home>/images are imported with bangerd's own rights (the
// user's), so a refusal may say why; what must never happen is that a
// client turns the daemon's own files (state/, tls/) into a guest's disk.
TEST_CASE("image add refuses what it cannot import, says why, and never imports bangerd's own files") {
  BANGER_REQUIRE_ROOT();
  Running env;
  auto& host = env.host;
  auto rootfs = host.path("images/tiny/rootfs.ext4");
  auto ask = [&](const std::string& kernel, const std::string& initrd = "") {
    ImageAddRequest request;
    request.name = "evil";
    request.kernel_path = kernel;
    request.initrd_path = initrd;
    request.rootfs_path = rootfs;
    return host.ask<Image>(request);
  };
  fs::create_symlink(host.path("state/banger.db"), host.path("images/db-link"));
  std::vector<std::pair<std::string, std::string>> refused = {
    {"/etc/no-such-file-" + mint_op_id(), "no such file"},
    {host.path("images/no-such-kernel"), "no such file"},
    {host.path("images/../state/banger.db"), "bangerd's own"},
    {host.path("images/db-link"), "bangerd's own"},
    {host.path("tls/ca.pem"), "bangerd's own"},
    {host.path("images"), "not a regular file"},
  };
  for (const auto& [path, why] : refused) {
    CAPTURE(path);
    for (bool as_initrd : {false, true}) {
      auto image = as_initrd ? ask(host.path("images/tiny/vmlinux"), path) : ask(path);
      REQUIRE_FALSE(image.ok());
      CHECK(image.error().code == Errc::invalid_argument);
      CHECK(image.error().message.find(why) != std::string::npos);
      CHECK(image.error().message.find(as_initrd ? "initrd: " : "kernel: ") != std::string::npos);
    }
  }
  ImageListRequest list;
  auto images = host.ask<ImageList>(list);
  REQUIRE(images.ok());
  CHECK(images->images.size() == 1); // only tiny
  auto imported = host.path("images/_imported");
  CHECK((!fs::exists(imported) || fs::is_empty(imported)));
}

TEST_CASE("a VMM launch with a kernel outside images/ is refused before anything is spawned") {
  BANGER_REQUIRE_ROOT();
  Running env;
  auto& host = env.host;
  // A VM whose rootfs exists: only the kernel and initrd are wrong.
  auto vm = create_vm(host, "victim", false);
  REQUIRE(vm.ok());
  HelperClient helper(host);
  struct Case {
    std::string kernel, initrd;
  };
  auto good = host.path("images/tiny/vmlinux");
  fs::create_symlink("/etc/shadow", host.path("images/tiny/escape"));
  for (const auto& c : std::vector<Case>{{"/etc/shadow", ""},
                                         {good, "/etc/shadow"},
                                         {"../state/helper.token", ""},
                                         {host.path("images/tiny/escape"), ""},
                                         {"tiny/escape", good}}) {
    CAPTURE(c.kernel);
    CAPTURE(c.initrd);
    VmmLaunchRequest launch;
    launch.vm_id = vm->id;
    launch.cpus = 1;
    launch.memory_mib = 128;
    launch.kernel_path = c.kernel;
    launch.initrd_path = c.initrd;
    auto launched = helper.ask<VmmLaunched>(launch);
    CHECK(code_of(launched) == Errc::helper_refused);
    CHECK(host.vmm_pids().empty());
    CHECK_FALSE(fs::exists(host.path("run/vms/" + vm->id)));
    CHECK_FALSE(link_exists(tap_name(vm->id)));
  }
  VmmLaunchRequest launch;
  launch.vm_id = vm->id;
  launch.kernel_path = "";
  CHECK(code_of(helper.ask<VmmLaunched>(launch)) == Errc::invalid_argument);
  CHECK(host.vmm_pids().empty());

  // And the validated paths are what a launch hands back for the daemon
  // to configure Firecracker with.
  launch.kernel_path = good;
  auto launched = helper.ask<VmmLaunched>(launch);
  REQUIRE_MESSAGE(launched.ok(), (launched.ok() ? "" : launched.error().message));
  CHECK(launched->kernel_path == fs::canonical(good).string());
  CHECK(launched->rootfs_path == host.path("state/vms/" + vm->id + "/rootfs.img"));
  CHECK(launched->vsock_path == host.path("run/vms/" + vm->id + "/vsock.sock"));
  VmmSignalRequest kill;
  kill.vm_id = vm->id;
  kill.pid = launched->pid;
  kill.start_time = launched->start_time;
  kill.signal = "KILL";
  auto killed = helper.ask<Ack>(kill);
  CHECK_MESSAGE(killed.ok(), (killed.ok() ? "" : killed.error().message));
  CHECK(eventually([&] { return host.vmm_pids().empty(); }));
  CHECK(helper.ask<Ack>(RuntimeRemoveRequest{Envelope{}, vm->id}));
}

TEST_CASE("a tap the helper did not make is neither deleted, taken over nor reported") {
  BANGER_REQUIRE_ROOT();
  Running env;
  auto& host = env.host;
  auto vm = create_vm(host, "squatted", false);
  REQUIRE(vm.ok());
  HelperClient helper(host);
  // The bridge exists once a VM has started on it, and stays after it.
  REQUIRE(create_vm(host, "bridged", true).ok());
  REQUIRE(act(host, "bridged", VmAction::kill, "KILL").ok());
  REQUIRE(eventually([&] { return host.vmm_pids().empty(); }));
  // Same name pattern, no alias; once loose, once on this home's bridge.
  for (bool on_bridge : {false, true}) {
    CAPTURE(on_bridge);
    ForeignTap stranger(tap_name(vm->id));
    if (on_bridge)
      REQUIRE(std::system(("ip link set " + stranger.name + " master " + host.bridge()).c_str())
              == 0);
    auto master = master_of(stranger.name);

    CHECK(code_of(helper.ask<Ack>(TapDeleteRequest{Envelope{}, "", stranger.name}))
          == Errc::helper_refused);
    CHECK(code_of(helper.ask<Ack>(TapDeleteRequest{Envelope{}, vm->id, stranger.name}))
          == Errc::helper_refused);
    CHECK(code_of(helper.ask<Ack>(RuntimeRemoveRequest{Envelope{}, vm->id}))
          == Errc::helper_refused);
    // A made-up VM id whose tap name is the stranger's.
    std::string made_up = vm->id.substr(0, 8) + "00000000";
    if (made_up == vm->id)
      made_up = vm->id.substr(0, 8) + "11111111";
    CHECK(code_of(helper.ask<Ack>(RuntimeRemoveRequest{Envelope{}, made_up}))
          == Errc::helper_refused);
    VmmLaunchRequest launch;
    launch.vm_id = vm->id;
    launch.kernel_path = host.path("images/tiny/vmlinux");
    CHECK(code_of(helper.ask<VmmLaunched>(launch)) == Errc::helper_refused);
    CHECK(host.vmm_pids().empty());

    auto inventory = helper.ask<HelperInventory>(HelperInventoryRequest{});
    REQUIRE(inventory.ok());
    CHECK(std::count(inventory->taps.begin(), inventory->taps.end(), stranger.name) == 0);
    CHECK(link_exists(stranger.name));
    CHECK(master_of(stranger.name) == master);
  }
  // Without the stranger the VM starts, and its own tap is the helper's.
  auto started = act(host, "squatted", VmAction::start);
  REQUIRE_MESSAGE(started.ok(), (started.ok() ? "" : started.error().message));
  auto inventory = helper.ask<HelperInventory>(HelperInventoryRequest{});
  REQUIRE(inventory.ok());
  CHECK(std::count(inventory->taps.begin(), inventory->taps.end(), tap_name(vm->id)) == 1);
  REQUIRE(act(host, "squatted", VmAction::kill, "KILL").ok());
}

TEST_CASE("a client's exit and error messages end none of the daemon's actors") {
  BANGER_REQUIRE_ROOT();
  Running env;
  auto& host = env.host;
  auto vm = create_vm(host, "target", true);
  REQUIRE(vm.ok());
  auto& sys = host.system();
  auto control = host.control();
  // Every actor whose address this client has seen: the published control
  // actor, and whoever answered a request (the VM actor answers a show).
  caf::scoped_actor self{sys};
  std::vector<caf::actor> seen{caf::actor_cast<caf::actor>(control)};
  auto answered_by = [&](auto request) {
    self->send(control, std::move(request));
    self->receive(
      [&](VmRecord&) {
        auto sender = caf::actor_cast<caf::actor>(self->current_sender());
        if (std::find(seen.begin(), seen.end(), sender) == seen.end())
          seen.push_back(sender);
      },
      [&](caf::error& err) { FAIL("request: " << sys.render(err)); },
      caf::after(std::chrono::seconds(30)) >> [] { FAIL("no answer"); });
  };
  answered_by(VmShowRequest{{}, "target"});
  VmActionRequest restart;
  restart.ref = "target";
  restart.action = VmAction::restart;
  answered_by(restart);
  MESSAGE(seen.size() << " actors of the daemon seen by this client");
  for (const auto& target : seen) {
    caf::anon_send_exit(target, caf::exit_reason::kill);
    self->send_exit(target, caf::exit_reason::kill);
    self->send_exit(target, caf::exit_reason::user_shutdown);
    caf::anon_send(target, caf::make_error(caf::sec::runtime_error));
  }
  // Still there: the daemon answers, the VM actor runs its requests.
  auto status = host.ask<DaemonStatus>(DaemonStatusRequest{});
  REQUIRE_MESSAGE(status.ok(), (status.ok() ? "" : status.error().message));
  auto stopped = act(host, "target", VmAction::stop);
  REQUIRE_MESSAGE(stopped.ok(), (stopped.ok() ? "" : stopped.error().message));
  CHECK(stopped->runtime.state == VmState::stopped);
  // The daemon said why it ignored them.
  CHECK(eventually([&] {
    for (const auto& line : host.daemon_log())
      if (line.find("dropped a message that would end") != std::string::npos)
        return true;
    return false;
  }));
}
