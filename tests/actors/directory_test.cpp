// The directory: refs resolve to the VM actor by exact id, exact name or
// unique id prefix, with the same errors as before the split; names are
// taken by reserve, made resolvable by commit, and freed by release.
#include "messages/sheltered.hpp"
#include "actors/directory_actor.hpp"
#include "tests/actors/actor_fakes.hpp"

#include <doctest/doctest.h>

using namespace banger;
using banger::test::ask;
using banger::test::code_of;

namespace {

VmRecord vm(const std::string& id, const std::string& name) {
  VmRecord r;
  r.id = id;
  r.name = name;
  r.runtime.state = VmState::stopped;
  return r;
}

struct Directory {
  test::ActorSystem as;
  caf::scoped_actor self{as.sys};
  directory_actor dir = spawn_directory(as.sys);

  /// Enters `r` the way the node does: reserve, then commit.
  void add(const VmRecord& r) {
    REQUIRE(ask<Ack>(self, dir, NameReserve{r.name, r.id}));
    REQUIRE(ask<Ack>(self, dir, NameCommit{r.name, r, test::spawn_fake_vm(as.sys, r)}));
  }
  caf::expected<VmHandle> lookup(const std::string& ref) { return ask<VmHandle>(self, dir, VmLookup{{}, ref}); }
  std::vector<std::string> names() {
    auto list = ask<VmList>(self, dir, VmListRequest{});
    REQUIRE(list);
    std::vector<std::string> out;
    for (auto& v : list->vms)
      out.push_back(v.name);
    return out;
  }
};

} // namespace

TEST_CASE("a VM is found by its exact id, its exact name and a unique prefix of its id") {
  Directory d;
  d.add(vm("aaaa1111", "web"));
  d.add(vm("bbbb2222", "db"));
  for (auto ref : {"aaaa1111", "web", "aaa"}) {
    auto found = d.lookup(ref);
    REQUIRE(found);
    CHECK(found->id == "aaaa1111");
  }
  // The handle is the VM's own actor: asking it shows that VM.
  auto shown = ask<VmRecord>(d.self, d.lookup("db")->actor, VmShowRequest{{}, "db"});
  REQUIRE(shown);
  CHECK(shown->name == "db");
}

TEST_CASE("a name is matched before an id prefix") {
  Directory d;
  d.add(vm("1111aaaa", "abc"));
  d.add(vm("abc00001", "other"));
  auto found = d.lookup("abc");
  REQUIRE(found);
  CHECK(found->id == "1111aaaa");
}

TEST_CASE("an id prefix shared by several VMs is ambiguous and names them") {
  Directory d;
  d.add(vm("abc10000", "one"));
  d.add(vm("abc20000", "two"));
  auto found = d.lookup("abc");
  CHECK(code_of(found) == Errc::ambiguous);
  auto message = view(found.error()).message;
  CHECK(message.find("one (abc10000)") != std::string::npos);
  CHECK(message.find("two (abc20000)") != std::string::npos);
}

TEST_CASE("an unknown or empty ref is an error with its code") {
  Directory d;
  d.add(vm("aaaa1111", "web"));
  CHECK(code_of(d.lookup("nope")) == Errc::not_found);
  CHECK(code_of(d.lookup("ffff")) == Errc::not_found);
  CHECK(code_of(d.lookup("")) == Errc::invalid_argument);
}

TEST_CASE("a reserved name is taken, resolves to busy until committed, then to its VM") {
  Directory d;
  auto r = vm("cccc3333", "new");
  REQUIRE(test::ask<Ack>(d.self, d.dir, NameReserve{r.name, r.id}));
  CHECK(code_of(d.lookup("new")) == Errc::busy);
  CHECK(d.names().empty());
  REQUIRE(ask<Ack>(d.self, d.dir, NameCommit{r.name, r, test::spawn_fake_vm(d.as.sys, r)}));
  auto found = d.lookup("new");
  REQUIRE(found);
  CHECK(found->id == "cccc3333");
  CHECK(d.names() == std::vector<std::string>{"new"});
}

TEST_CASE("a second reserve of a taken name fails, whether reserved or committed") {
  Directory d;
  REQUIRE(ask<Ack>(d.self, d.dir, NameReserve{"web", "aaaa1111"}));
  CHECK(code_of(ask<Ack>(d.self, d.dir, NameReserve{"web", "bbbb2222"})) == Errc::already_exists);
  CHECK(code_of(ask<Ack>(d.self, d.dir, NameReserve{"web", "aaaa1111"})) == Errc::already_exists);
  d.add(vm("dddd4444", "db"));
  CHECK(code_of(ask<Ack>(d.self, d.dir, NameReserve{"db", "eeee5555"})) == Errc::already_exists);
}

TEST_CASE("a release after a failed persist frees the name for the next create") {
  Directory d;
  REQUIRE(ask<Ack>(d.self, d.dir, NameReserve{"web", "aaaa1111"}));
  // Persisting the record failed: the creator releases its reservation.
  REQUIRE(ask<Ack>(d.self, d.dir, NameRelease{"web", "aaaa1111"}));
  CHECK(code_of(d.lookup("web")) == Errc::not_found);
  CHECK(ask<Ack>(d.self, d.dir, NameReserve{"web", "bbbb2222"}));
}

TEST_CASE("a release never frees a committed name or another VM's reservation") {
  Directory d;
  d.add(vm("aaaa1111", "web"));
  REQUIRE(ask<Ack>(d.self, d.dir, NameRelease{"web", "aaaa1111"}));
  CHECK(d.lookup("web"));
  REQUIRE(ask<Ack>(d.self, d.dir, NameReserve{"db", "bbbb2222"}));
  REQUIRE(ask<Ack>(d.self, d.dir, NameRelease{"db", "cccc3333"}));
  CHECK(code_of(ask<Ack>(d.self, d.dir, NameReserve{"db", "cccc3333"})) == Errc::already_exists);
}

TEST_CASE("a commit without a reservation is refused") {
  Directory d;
  auto r = vm("aaaa1111", "web");
  CHECK(code_of(ask<Ack>(d.self, d.dir, NameCommit{r.name, r, test::spawn_fake_vm(d.as.sys, r)}))
        == Errc::internal);
  CHECK(code_of(d.lookup("web")) == Errc::not_found);
}

TEST_CASE("the listing follows the VMs' changes and retirements, sorted by name") {
  Directory d;
  d.add(vm("bbbb2222", "zeta"));
  d.add(vm("aaaa1111", "alpha"));
  CHECK(d.names() == std::vector<std::string>{"alpha", "zeta"});
  auto changed = vm("bbbb2222", "zeta");
  changed.runtime.state = VmState::running;
  caf::anon_send(d.dir, VmChanged{changed});
  caf::anon_send(d.dir, VmRetired{"aaaa1111", {}});
  auto list = ask<VmList>(d.self, d.dir, VmListRequest{});
  REQUIRE(list);
  REQUIRE(list->vms.size() == 1);
  CHECK(list->vms[0].runtime.state == VmState::running);
  // A retired VM's name is free again.
  CHECK(ask<Ack>(d.self, d.dir, NameReserve{"alpha", "cccc3333"}));
}

TEST_CASE("the directory applies a VM's report before passing it on to the node") {
  Directory d;
  d.add(vm("aaaa1111", "web"));
  auto seen = std::make_shared<std::atomic<int>>(0);
  auto dir = d.dir;
  // The watcher looks the VM up as it hears of it: already gone on VmRetired.
  auto watcher = d.as.sys.spawn([seen, dir](caf::event_based_actor* self) -> caf::behavior {
    return {
      [=](VmChanged&) { ++*seen; },
      [=](VmRetired&) {
        self->request(dir, std::chrono::seconds(10), VmLookup{{}, "web"})
          .then([](VmHandle&) {}, [seen](caf::error& err) {
            if (view(err).code == Errc::not_found)
              *seen += 10;
          });
      },
    };
  });
  caf::anon_send(d.dir, DirectoryWatch{caf::actor_cast<vm_events_actor>(watcher)});
  caf::anon_send(d.dir, VmChanged{vm("aaaa1111", "web")});
  caf::anon_send(d.dir, VmRetired{"aaaa1111", {}});
  CHECK(test::eventually([&] { return seen->load() == 11; }));
  stop_actor(d.as.sys, watcher);
}
