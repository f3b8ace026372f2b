// What a raw client (not the CLI, which checks its own arguments) can send
// the daemon: values outside an enum, flags that need another, control
// characters, huge strings. Each is refused with invalid_argument and the
// op_id, nothing is wedged, and no error repeats more than a bounded excerpt.
#include "tests/integration/helpers.hpp"

#include "messages/excerpt.hpp"

using namespace banger;
using namespace banger::test;
using namespace std::chrono_literals;

namespace {

bool refused_as_invalid(const Result<VmRecord>& reply) {
  return !reply.ok() && reply.error().code == Errc::invalid_argument
         && reply.error().message.find("(op-") != std::string::npos;
}

} // namespace

TEST_CASE("a VM action outside the enum is refused and the VM's queue stays free") {
  BANGER_REQUIRE_ROOT();
  Running env;
  auto& host = env.host;
  REQUIRE(create_vm(host, "q", false).ok());
  VmActionRequest bad;
  bad.ref = "q";
  bad.action = static_cast<VmAction>(42);
  auto refused = host.ask<VmRecord>(bad, 10s);
  REQUIRE_FALSE(refused.ok());
  CHECK_MESSAGE(refused.error().code == Errc::invalid_argument, refused.error().message);
  CHECK(refused.error().message.find("(op-") != std::string::npos);
  // The same VM answers at once, as if nothing had happened.
  VmActionRequest start;
  start.ref = "q";
  start.action = VmAction::start;
  auto started = host.ask<VmRecord>(start, 10s);
  REQUIRE_MESSAGE(started.ok(), (started.ok() ? "" : started.error().message));
  CHECK(started->runtime.state == VmState::running);
  VmActionRequest stop;
  stop.ref = "q";
  stop.action = VmAction::stop;
  auto stopped = host.ask<VmRecord>(stop, 10s);
  REQUIRE_MESSAGE(stopped.ok(), (stopped.ok() ? "" : stopped.error().message));
  CHECK(stopped->runtime.state == VmState::stopped);
}

TEST_CASE("wait without start and flags of other actions are refused by the daemon itself") {
  BANGER_REQUIRE_ROOT();
  Running env;
  auto& host = env.host;
  VmCreateRequest create;
  create.spec.name = "w";
  create.spec.image = "tiny";
  create.spec.wait = true;
  CHECK(refused_as_invalid(host.ask<VmRecord>(create)));
  VmCreateBeginRequest begin;
  begin.spec = create.spec;
  auto accepted = host.ask<OpAccepted>(begin);
  REQUIRE_FALSE(accepted.ok());
  CHECK(accepted.error().code == Errc::invalid_argument);
  auto list = host.ask<VmList>(VmListRequest{});
  REQUIRE(list.ok());
  CHECK(list->vms.empty()); // nothing was created

  REQUIRE(create_vm(host, "w", false).ok());
  VmActionRequest stop;
  stop.ref = "w";
  stop.action = VmAction::stop;
  stop.wait = true;
  CHECK(refused_as_invalid(host.ask<VmRecord>(stop)));
  VmActionRequest start;
  start.ref = "w";
  start.action = VmAction::start;
  start.signal = "KILL";
  CHECK(refused_as_invalid(host.ask<VmRecord>(start)));
  auto shown = show(host, "w");
  REQUIRE(shown.ok());
  CHECK(shown->runtime.state == VmState::created);
}

TEST_CASE("an image whose boot args hold a control character is refused") {
  BANGER_REQUIRE_ROOT();
  Running env;
  auto& host = env.host;
  ImageAddRequest add;
  add.name = "evil";
  add.kernel_path = host.path("images/tiny/vmlinux");
  add.rootfs_path = host.path("images/tiny/rootfs.ext4");
  add.boot_args = "console=ttyS0\ninit=/bin/sh";
  auto refused = host.ask<Image>(add);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code == Errc::invalid_argument);
  CHECK(refused.error().message.find("boot args") != std::string::npos);
  add.boot_args = "console=ttyS0 reboot=k";
  auto added = host.ask<Image>(add);
  REQUIRE_MESSAGE(added.ok(), (added.ok() ? "" : added.error().message));
  auto images = host.ask<ImageList>(ImageListRequest{});
  REQUIRE(images.ok());
  CHECK(images->images.size() == 2);
}

TEST_CASE("error replies quote at most a short excerpt of what the client sent") {
  BANGER_REQUIRE_ROOT();
  Running env;
  auto& host = env.host;
  auto shown = std::string(max_excerpt, 'z') + "...";
  // Within the reference limit: the registry looks it up and quotes it.
  auto missing = show(host, std::string(120, 'z'));
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code == Errc::not_found);
  CHECK(missing.error().message.find(shown) != std::string::npos);
  CHECK(missing.error().message.find(std::string(max_excerpt + 1, 'z')) == std::string::npos);
  // Far beyond any limit: refused at the edge, by length alone.
  std::string huge(1 << 20, 'z');
  auto huge_show = show(host, huge);
  REQUIRE_FALSE(huge_show.ok());
  CHECK(huge_show.error().message.size() < 200);
  auto huge_start = act(host, huge, VmAction::start);
  REQUIRE_FALSE(huge_start.ok());
  CHECK(huge_start.error().message.size() < 200);
  VmCreateRequest create;
  create.spec.name = std::string(100, 'N') + "\x1b[2J";
  create.spec.image = "tiny";
  auto bad_name = host.ask<VmRecord>(create);
  REQUIRE_FALSE(bad_name.ok());
  CHECK(bad_name.error().code == Errc::invalid_argument);
  CHECK(bad_name.error().message.size() < 200);
  CHECK(bad_name.error().message.find('\x1b') == std::string::npos);
  ImageAddRequest add;
  add.name = std::string(100, 'I');
  add.kernel_path = host.path("images/tiny/vmlinux");
  add.rootfs_path = host.path("images/tiny/rootfs.ext4");
  auto bad_image = host.ask<Image>(add);
  REQUIRE_FALSE(bad_image.ok());
  CHECK(bad_image.error().message.size() < 200);
  OpStatusRequest op;
  op.op_id = huge;
  auto bad_op = host.ask<OperationStatus>(op);
  REQUIRE_FALSE(bad_op.ok());
  CHECK(bad_op.error().code == Errc::invalid_argument);
  CHECK(bad_op.error().message.size() < 200);
}
