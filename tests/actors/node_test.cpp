// The node: guest addresses handed out and returned, the subnet running
// out, a spec's limits, recovery slicing the helper's inventory across
// the VMs (what no VM owns is left over for doctor), and the capacity it
// reports to the cluster.
#include "messages/sheltered.hpp"
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
  inv.port_vms = {a, "ffffffff00000000"};
  auto slices = slice_inventory(inv, {a, b});
  REQUIRE(slices.by_vm.size() == 2);
  CHECK(slices.by_vm[a].taps == std::vector<std::string>{tap_name(a)});
  CHECK(slices.by_vm[a].vmms.size() == 1);
  CHECK(slices.by_vm[a].run_dirs == std::vector<std::string>{a});
  CHECK(slices.by_vm[a].port_vms == std::vector<std::string>{a});
  CHECK(slices.by_vm[b] == HelperInventory{}); // nothing on the host: an empty slice still
  CHECK(slices.leftover.taps == std::vector<std::string>{"tap-fc-deadbeef"});
  REQUIRE(slices.leftover.vmms.size() == 1);
  CHECK(slices.leftover.vmms[0].pid == 11);
  CHECK(slices.leftover.run_dirs == std::vector<std::string>{"ffffffff00000000"});
  CHECK(slices.leftover.port_vms == std::vector<std::string>{"ffffffff00000000"});
}

namespace {

/// What a node starts with beyond the defaults.
struct Setup {
  std::string cidr = "10.9.0.0/24";
  std::vector<VmRecord> recovered;
  std::optional<HostTotals> totals;
  /// The helper refuses inventories: recovered VMs are never reconciled
  /// and keep their recorded states.
  bool no_inventory = false;
};

/// A helper that refuses every request.
helper_actor spawn_refusing_helper(caf::actor_system& sys) {
  return caf::actor_cast<helper_actor>(sys.spawn([](caf::event_based_actor* self) -> caf::behavior {
    self->set_default_handler([](caf::scheduled_actor*, caf::message_view&) -> caf::result<caf::message> {
      return make_error(Errc::helper_unavailable, "the test's helper refuses", {});
    });
    return {[](HelperInfoRequest&) { return HelperInfo{}; }};
  }));
}

/// A node with fakes around it: one image, a subnet of `cidr`.
struct Node {
  explicit Node(const std::string& cidr = "10.9.0.0/24", std::vector<VmRecord> recovered = {})
    : Node(Setup{cidr, std::move(recovered), std::nullopt, false}) {}

  explicit Node(Setup setup)
    : helper(setup.no_inventory ? spawn_refusing_helper(as.sys)
                                : test::spawn_fake_helper(as.sys, helper_log)) {
    auto cidr = setup.cidr;
    auto recovered = std::move(setup.recovered);
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
    init.totals = setup.totals;
    node = spawn_node(as.sys, std::move(init));
  }
  ~Node() {
    for (auto h : {caf::actor_cast<caf::actor>(node), caf::actor_cast<caf::actor>(dir),
                   caf::actor_cast<caf::actor>(images)})
      stop_actor(as.sys, h);
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
  helper_actor helper;
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

namespace {

VmRecord sized_vm(char tag, VmState state, std::uint32_t cpus, std::uint32_t memory_mib) {
  VmRecord r;
  r.id = std::string(8, tag) + "00000000";
  r.name = std::string("vm-") + tag;
  r.image_id = "1111222233334444";
  r.cpus = cpus;
  r.memory_mib = memory_mib;
  r.runtime.state = state;
  return r;
}

} // namespace

TEST_CASE("free capacity counts only VMs starting, running or stopping") {
  Node n{Setup{"10.9.0.0/24",
               {sized_vm('a', VmState::running, 2, 1024), sized_vm('b', VmState::stopped, 4, 4096),
                sized_vm('c', VmState::starting, 1, 512), sized_vm('d', VmState::stopping, 1, 256),
                sized_vm('e', VmState::created, 8, 8192), sized_vm('f', VmState::error, 8, 8192)},
               HostTotals{16, 32768}, true}};
  auto cap = ask<HostCapacity>(n.self, n.node, HostCapacityRequest{});
  REQUIRE(cap);
  CHECK(*cap == HostCapacity{6, 16, 12, 32768, 32768 - 1792});
}

TEST_CASE("free capacity follows VMs as they start, stop and go away") {
  auto a = sized_vm('a', VmState::stopped, 2, 1024);
  auto b = sized_vm('b', VmState::running, 4, 2048);
  Node n{Setup{"10.9.0.0/24", {a, b}, HostTotals{8, 8192}, true}};
  auto capacity = [&] {
    auto cap = ask<HostCapacity>(n.self, n.node, HostCapacityRequest{});
    REQUIRE(cap);
    return *cap;
  };
  auto changed = [&](VmRecord vm, VmState state) {
    vm.runtime.state = state;
    n.self->send(n.node, VmChanged{vm}); // one sender: ahead of the next request
  };
  CHECK(capacity() == HostCapacity{2, 8, 4, 8192, 6144});
  changed(a, VmState::starting);
  CHECK(capacity() == HostCapacity{2, 8, 2, 8192, 5120});
  changed(a, VmState::running); // still held: counted once
  CHECK(capacity() == HostCapacity{2, 8, 2, 8192, 5120});
  changed(b, VmState::stopping);
  CHECK(capacity() == HostCapacity{2, 8, 2, 8192, 5120});
  changed(b, VmState::stopped);
  CHECK(capacity() == HostCapacity{2, 8, 6, 8192, 7168});
  n.self->send(n.node, VmRetired{a.id, a.name});
  CHECK(capacity() == HostCapacity{1, 8, 8, 8192, 8192});
  // A VM the node does not have changes nothing.
  changed(sized_vm('z', VmState::running, 4, 4096), VmState::running);
  CHECK(capacity() == HostCapacity{1, 8, 8, 8192, 8192});
}

TEST_CASE("free capacity of an overcommitted host is zero, never negative") {
  Node n{Setup{"10.9.0.0/24",
               {sized_vm('a', VmState::running, 4, 3072), sized_vm('b', VmState::running, 4, 3072)},
               HostTotals{4, 4096}, true}};
  auto cap = ask<HostCapacity>(n.self, n.node, HostCapacityRequest{});
  REQUIRE(cap);
  CHECK(*cap == HostCapacity{2, 4, 0, 4096, 0});
}

TEST_CASE("a node not told its totals reports this host's CPUs and memory") {
  Node n;
  auto cap = ask<HostCapacity>(n.self, n.node, HostCapacityRequest{});
  REQUIRE(cap);
  auto host = host_capacity();
  CHECK(cap->vms == 0);
  CHECK(cap->cpus_total == host.cpus);
  CHECK(cap->cpus_free == host.cpus);
  CHECK(cap->memory_total_mib == host.memory_mib);
  CHECK(cap->memory_free_mib == host.memory_mib);
}
