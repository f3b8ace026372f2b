// The node: guest addresses handed out and returned, the subnet running
// out, a spec's limits, and recovery slicing the helper's inventory across
// the VMs (what no VM owns is left over for doctor).
#include "actors/directory_actor.hpp"
#include "actors/helper_link_actor.hpp"
#include "actors/images_actor.hpp"
#include "actors/node_actor.hpp"
#include "actors/node_host.hpp"
#include "messages/home_layout.hpp"
#include "tests/actors/actor_fakes.hpp"

#include <doctest/doctest.h>

using namespace banger;
using banger::test::ask;
using banger::test::code_of;

TEST_CASE("addresses are handed out in turn, a released one only after the others") {
  AddressPool pool{*parse_ipv4_subnet("10.9.0.0/29")}; // 5 guest addresses
  auto a = pool.allocate(), b = pool.allocate();
  REQUIRE(a);
  REQUIRE(b);
  CHECK(*a == 0);
  CHECK(*b == 1);
  VmRuntime rt;
  pool.assign(*a, rt);
  CHECK(rt.guest_ip == "10.9.0.2");
  CHECK(rt.mac == mac_for(*parse_ipv4("10.9.0.2")));
  CHECK(rt.vsock_cid >= 4);
  pool.release(*a);
  CHECK(pool.in_use() == 1);
  CHECK(*pool.allocate() == 2);
}

TEST_CASE("a full subnet has no address left until one is released") {
  AddressPool pool{*parse_ipv4_subnet("10.9.0.0/29")};
  for (int i = 0; i < 5; ++i)
    REQUIRE(pool.allocate());
  CHECK_FALSE(pool.allocate());
  pool.release(3);
  CHECK(pool.allocate() == std::optional<std::uint32_t>{3});
}

TEST_CASE("a recovered VM's address is taken; one outside the guest range is not") {
  AddressPool pool{*parse_ipv4_subnet("10.9.0.0/29")};
  CHECK(pool.take("10.9.0.2") == std::optional<std::uint32_t>{0});
  CHECK_FALSE(pool.take("10.9.0.1")); // the gateway
  CHECK_FALSE(pool.take("192.168.0.2"));
  CHECK(*pool.allocate() == 1);
}

TEST_CASE("a spec gets defaults and is held to its limits") {
  auto sized = size_of(VmSpec{});
  REQUIRE(sized);
  CHECK(sized->cpus == default_cpus);
  CHECK(sized->memory_mib == default_memory_mib);
  VmSpec spec;
  spec.cpus = max_cpus + 1;
  CHECK(size_of(spec).error().code == Errc::invalid_argument);
  spec.cpus = 2;
  spec.memory_mib = min_memory_mib - 1;
  CHECK(size_of(spec).error().code == Errc::invalid_argument);
  spec.memory_mib = max_memory_mib + 1;
  CHECK(size_of(spec).error().message == "memory must be 64 to 262144 MiB");
}

TEST_CASE("recovery gives every VM its slice of the inventory and keeps what no VM owns") {
  HelperInventory inv;
  std::string a = "aaaaaaaa11112222", b = "bbbbbbbb33334444";
  inv.taps = {tap_name(a), "tap-fc-deadbeef"};
  inv.vmms = {VmmProcess{a, 10, 1}, VmmProcess{"ffffffff00000000", 11, 1}};
  inv.run_dirs = {a, "ffffffff00000000"};
  auto slices = slice_inventory(inv, {a, b});
  REQUIRE(slices.by_vm.size() == 2);
  CHECK(slices.by_vm[a].taps == std::vector<std::string>{tap_name(a)});
  CHECK(slices.by_vm[a].vmms.size() == 1);
  CHECK(slices.by_vm[a].run_dirs == std::vector<std::string>{a});
  CHECK(slices.by_vm[b] == HelperInventory{}); // nothing on the host: an empty slice still
  CHECK(slices.leftover.taps == std::vector<std::string>{"tap-fc-deadbeef"});
  REQUIRE(slices.leftover.vmms.size() == 1);
  CHECK(slices.leftover.vmms[0].pid == 11);
  CHECK(slices.leftover.run_dirs == std::vector<std::string>{"ffffffff00000000"});
}

namespace {

/// A node with fakes around it: no VMs, one image, a subnet of `cidr`.
struct Node {
  explicit Node(const std::string& cidr = "10.9.0.0/24", std::vector<VmRecord> recovered = {}) {
    image.id = "1111222233334444";
    image.name = "base";
    dir = spawn_directory(as.sys);
    images = spawn_images(as.sys, ImagesInit{store, dir, "/nonexistent", {image}});
    NodeInit init;
    init.deps.store = store;
    init.deps.helper = helper;
    init.deps.settings.network_subnet = cidr;
    init.deps.subnet = *parse_ipv4_subnet(cidr);
    init.directory = dir;
    init.images = images;
    init.images_known = {image};
    init.vms = std::move(recovered);
    node = spawn_node(as.sys, std::move(init));
  }
  ~Node() {
    for (auto h : {caf::actor_cast<caf::actor>(node), caf::actor_cast<caf::actor>(dir),
                   caf::actor_cast<caf::actor>(images)})
      caf::anon_send_exit(h, caf::exit_reason::user_shutdown);
  }
  caf::expected<VmRecord> create(VmSpec spec) {
    spec.image = "base";
    return ask<VmRecord>(self, node, VmCreateRequest{{}, spec});
  }

  test::ActorSystem as;
  caf::scoped_actor self{as.sys};
  std::shared_ptr<test::StoreLog> store_log = std::make_shared<test::StoreLog>();
  std::shared_ptr<test::HelperLog> helper_log = std::make_shared<test::HelperLog>();
  store_actor store = test::spawn_fake_store(as.sys, store_log);
  helper_actor helper = test::spawn_fake_helper(as.sys, helper_log);
  Image image;
  directory_actor dir;
  images_actor images;
  node_actor node;
};

} // namespace

TEST_CASE("a create over the limits fails before anything is recorded and frees its name") {
  Node n;
  VmSpec spec;
  spec.name = "big";
  spec.cpus = max_cpus + 1;
  auto created = n.create(spec);
  CHECK(code_of(created) == Errc::invalid_argument);
  CHECK(view(created.error()).message == "cpus must be 1 to 32");
  CHECK(n.store_log->vm_saves == 0);
  CHECK(ask<Ack>(n.self, n.dir, NameReserve{"big", "aaaa1111"}));
}

TEST_CASE("a create with an unknown image or a bad name fails with that error") {
  Node n;
  VmSpec spec;
  spec.image = "missing";
  CHECK(code_of(ask<VmRecord>(n.self, n.node, VmCreateRequest{{}, spec})) == Errc::not_found);
  spec.name = "Bad_Name";
  CHECK(code_of(n.create(spec)) == Errc::invalid_argument);
}

TEST_CASE("a create whose record cannot be persisted releases its name and address") {
  Node n{"10.9.0.0/29"}; // five guest addresses
  n.store_log->fail_saves = true;
  VmSpec spec;
  spec.name = "web";
  // Each failure gives the name and the address back: a sixth try still
  // reaches the store instead of finding the subnet full or the name taken.
  for (int i = 0; i < 6; ++i)
    CHECK(code_of(n.create(spec)) == Errc::storage);
  CHECK(n.store_log->vm_saves == 6);
  CHECK(code_of(ask<VmHandle>(n.self, n.dir, VmLookup{{}, "web"})) == Errc::not_found);
}

TEST_CASE("a create in a full subnet fails with conflict and names the subnet") {
  // Five guest addresses, all held by VMs recovered from the store.
  std::vector<VmRecord> recovered;
  for (int i = 0; i < 5; ++i) {
    VmRecord r;
    r.id = std::string(8, static_cast<char>('a' + i)) + "00000000";
    r.name = "vm" + std::to_string(i);
    r.image_id = "1111222233334444";
    r.runtime.state = VmState::stopped;
    r.runtime.guest_ip = "10.9.0." + std::to_string(2 + i);
    recovered.push_back(r);
  }
  Node n{"10.9.0.0/29", recovered};
  auto created = n.create(VmSpec{});
  CHECK(code_of(created) == Errc::conflict);
  CHECK(view(created.error()).message == "no free guest address left in 10.9.0.0/29");
  // The recovered VMs are in the directory, by name.
  CHECK(ask<VmHandle>(n.self, n.dir, VmLookup{{}, "vm3"}));
}

TEST_CASE("the node asks the helper for an inventory at start and again when the helper is back") {
  Node n;
  CHECK(test::eventually([&] { return n.helper_log->inventories >= 1; }));
  caf::anon_send(caf::actor_cast<caf::actor>(n.node), helper_up_atom::value);
  CHECK(test::eventually([&] { return n.helper_log->inventories >= 2; }));
}
