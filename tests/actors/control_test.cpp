// Control, the front door, against real directory, node and image catalog
// actors with a fake helper and store: it admits requests, resolves a VM
// ref at the directory and sends the request to that VM's actor itself, and
// answers what it does not know with unknown_method.
#include "messages/sheltered.hpp"
#include "actors/control_actor.hpp"
#include "actors/directory_actor.hpp"
#include "actors/images_actor.hpp"
#include "actors/node_actor.hpp"
#include "actors/operations_actor.hpp"
#include "tests/actors/actor_fakes.hpp"

#include <doctest/doctest.h>

using namespace banger;
using banger::test::ask;
using banger::test::code_of;

namespace {

struct Daemon {
  Daemon() {
    dir = spawn_directory(as.sys);
    images = spawn_images(as.sys, ImagesInit{store, dir, "/nonexistent", {}});
    auto operations = spawn_operations_actor(as.sys, store);
    NodeInit init;
    init.deps.store = store;
    init.deps.helper = helper;
    init.deps.operations = operations;
    init.deps.settings.network_subnet = "10.9.0.0/24";
    init.deps.subnet = *parse_ipv4_subnet("10.9.0.0/24");
    init.directory = dir;
    init.images = images;
    node = spawn_node(as.sys, std::move(init));
    ControlDeps deps{dir, node, images, operations, helper, {}, "/home/test", "9.9.9", 1, {}, {}, {}};
    deps.settings.vmm_kind = "firecracker";
    control = spawn_control_actor(as.sys, deps);
    handles = {caf::actor_cast<caf::actor>(control), caf::actor_cast<caf::actor>(node),
               caf::actor_cast<caf::actor>(dir), caf::actor_cast<caf::actor>(images),
               caf::actor_cast<caf::actor>(operations)};
  }
  ~Daemon() {
    for (auto& h : handles)
      stop_actor(as.sys, h);
  }
  /// A VM known to the directory, served by a fake VM actor.
  void add_vm(const std::string& id, const std::string& name) {
    VmRecord r;
    r.id = id;
    r.name = name;
    REQUIRE(ask<Ack>(self, dir, NameReserve{name, id}));
    REQUIRE(ask<Ack>(self, dir, NameCommit{name, r, test::spawn_fake_vm(as.sys, r)}));
  }

  test::ActorSystem as;
  caf::scoped_actor self{as.sys};
  store_actor store = test::spawn_fake_store(as.sys, std::make_shared<test::StoreLog>());
  helper_actor helper = test::spawn_fake_helper(as.sys, std::make_shared<test::HelperLog>());
  directory_actor dir;
  images_actor images;
  node_actor node;
  control_actor control;
  std::vector<caf::actor> handles;
};

} // namespace

TEST_CASE("a show through control is answered by the VM's own actor, found by name or prefix") {
  Daemon d;
  d.add_vm("abcd0001", "web");
  for (auto ref : {"web", "abcd"}) {
    auto shown = ask<VmRecord>(d.self, d.control, VmShowRequest{{}, ref});
    REQUIRE(shown);
    CHECK(shown->id == "abcd0001");
  }
  VmActionRequest stop{{}, "web", VmAction::stop, {}, false};
  auto acted = ask<VmRecord>(d.self, d.control, stop);
  REQUIRE(acted);
  CHECK(acted->runtime.stage == "stopped by request");
}

TEST_CASE("a ref control cannot resolve comes back with the directory's error and the op id") {
  Daemon d;
  d.add_vm("abcd0001", "one");
  d.add_vm("abcd0002", "two");
  Envelope env;
  env.op_id = "op-0123456789ab";
  auto missing = ask<VmRecord>(d.self, d.control, VmShowRequest{env, "nope"});
  CHECK(code_of(missing) == Errc::not_found);
  CHECK(view(missing.error()).op_id == "op-0123456789ab");
  CHECK(code_of(ask<VmRecord>(d.self, d.control, VmShowRequest{env, "abcd"})) == Errc::ambiguous);
}

TEST_CASE("daemon status counts the node's VMs and asks the helper what it can do") {
  Daemon d;
  auto status = ask<DaemonStatus>(d.self, d.control, DaemonStatusRequest{});
  REQUIRE(status);
  CHECK(status->version == "9.9.9");
  CHECK(status->vmm_kind == "firecracker");
  CHECK(status->helper_reachable);
  CHECK(status->rootfs_strategies == std::vector<std::string>{"copy"});
  CHECK(status->vms_by_state.empty());
}

TEST_CASE("control refuses an old protocol and a malformed op id before routing") {
  Daemon d;
  VmListRequest old;
  old.env.version = protocol_version + 1;
  CHECK(code_of(ask<VmList>(d.self, d.control, old)) == Errc::bad_version);
  VmListRequest bad;
  bad.env.op_id = "not-an-op";
  CHECK(code_of(ask<VmList>(d.self, d.control, bad)) == Errc::invalid_argument);
  auto list = ask<VmList>(d.self, d.control, VmListRequest{});
  REQUIRE(list);
  CHECK(list->vms.empty());
}

TEST_CASE("control answers a request it does not know with unknown_method") {
  Daemon d;
  caf::expected<caf::message> out{caf::error{}};
  d.self->request(caf::actor_cast<caf::actor>(d.control), std::chrono::seconds(10), std::string("hello"))
    .receive([&](caf::message& m) { out = m; }, [&](caf::error& err) { out = err; });
  REQUIRE_FALSE(out);
  CHECK(view(out.error()).code == Errc::unknown_method);
}
