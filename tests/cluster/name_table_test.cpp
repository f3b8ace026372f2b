#include "cluster/name_table.hpp"

#include <doctest/doctest.h>

using namespace banger;
using namespace banger::cluster;
using namespace std::chrono_literals;

namespace {

constexpr std::int64_t t0 = 1'700'000'000'000'000;
constexpr std::int64_t minute = 60'000'000;

const std::string op_a = "op-aaaaaaaaaaaa";
const std::string op_b = "op-bbbbbbbbbbbb";
const std::string vm_1 = "1111111111111111";
const std::string vm_2 = "2222222222222222";

NameBinding reserved(const std::string& name, const std::string& host, const std::string& op,
                     std::int64_t expires) {
  return NameBinding{name, host, "", op, false, expires};
}

NameBinding bound(const std::string& name, const std::string& host, const std::string& vm,
                  const std::string& op) {
  return NameBinding{name, host, vm, op, true, 0};
}

Errc code_of(const Result<NameChanges>& r) {
  return r ? Errc::none : r.error().code;
}

/// A table holding `rows`, with the default lifetime of 10 minutes.
NameTable loaded(std::vector<NameBinding> rows) {
  NameTable uut;
  uut.load(std::move(rows));
  return uut;
}

} // namespace

// -- reserve ------------------------------------------------------------------------

TEST_CASE("a free name is reserved for ten minutes, and the row to save says so") {
  NameTable uut;
  auto changes = uut.reserve("web", "h2", op_a, t0);
  REQUIRE(changes);
  CHECK(*changes == NameChanges{{reserved("web", "h2", op_a, t0 + 10 * minute)}, {}});
  REQUIRE(uut.find("web"));
  CHECK(*uut.find("web") == reserved("web", "h2", op_a, t0 + 10 * minute));
}

TEST_CASE("reserving again for the same create succeeds without another write") {
  NameTable uut;
  REQUIRE(uut.reserve("web", "h2", op_a, t0));
  auto again = uut.reserve("web", "h2", op_a, t0 + minute);
  REQUIRE(again);
  CHECK(again->empty());
  CHECK(uut.find("web")->expires_at_us == t0 + 10 * minute);
}

TEST_CASE("the same create reserving late in its reservation's life renews it") {
  NameTable uut;
  REQUIRE(uut.reserve("web", "h2", op_a, t0));
  auto again = uut.reserve("web", "h2", op_a, t0 + 6 * minute);
  REQUIRE(again);
  CHECK(*again == NameChanges{{reserved("web", "h2", op_a, t0 + 16 * minute)}, {}});
}

TEST_CASE("the same create placed on another host moves its reservation there") {
  NameTable uut;
  REQUIRE(uut.reserve("web", "h2", op_a, t0));
  auto moved = uut.reserve("web", "h4", op_a, t0 + minute);
  REQUIRE(moved);
  CHECK(*moved == NameChanges{{reserved("web", "h4", op_a, t0 + 11 * minute)}, {}});
}

TEST_CASE("a second create of a reserved name is refused, naming the host that has it") {
  NameTable uut;
  REQUIRE(uut.reserve("web", "h2", op_a, t0));
  auto second = uut.reserve("web", "h3", op_b, t0 + minute);
  REQUIRE_FALSE(second);
  CHECK(second.error().code == Errc::already_exists);
  CHECK(second.error().message.find("host h2") != std::string::npos);
  CHECK(second.error().message.find(op_a) != std::string::npos);
  CHECK(uut.find("web")->op_id == op_a);
}

TEST_CASE("a bound name is refused to every create, even the one that bound it") {
  auto uut = loaded({bound("web", "h3", vm_1, op_a)});
  for (const auto& op : {op_a, op_b}) {
    auto again = uut.reserve("web", "h2", op, t0);
    REQUIRE_FALSE(again);
    CHECK(again.error().code == Errc::already_exists);
    CHECK(again.error().message.find("host h3") != std::string::npos);
    CHECK(again.error().message.find(vm_1) != std::string::npos);
  }
}

TEST_CASE("an expired reservation is taken over by another create") {
  NameTable uut;
  REQUIRE(uut.reserve("web", "h2", op_a, t0));
  CHECK(code_of(uut.reserve("web", "h3", op_b, t0 + 10 * minute - 1)) == Errc::already_exists);
  auto taken = uut.reserve("web", "h3", op_b, t0 + 10 * minute);
  REQUIRE(taken);
  CHECK(*taken == NameChanges{{reserved("web", "h3", op_b, t0 + 20 * minute)}, {}});
}

TEST_CASE("the reservation lifetime is the one the table was made with") {
  NameTable uut(30s);
  REQUIRE(uut.reserve("web", "h2", op_a, t0));
  CHECK(uut.find("web")->expires_at_us == t0 + 30'000'000);
  CHECK(uut.reserve("web", "h3", op_b, t0 + 30'000'000));
}

TEST_CASE("a request without a name, host or op_id is refused and changes nothing") {
  NameTable uut;
  CHECK(code_of(uut.reserve("", "h2", op_a, t0)) == Errc::invalid_argument);
  CHECK(code_of(uut.reserve("web", "", op_a, t0)) == Errc::invalid_argument);
  CHECK(code_of(uut.reserve("web", "h2", "", t0)) == Errc::invalid_argument);
  CHECK(code_of(uut.bind("web", op_a, "", "h2")) == Errc::invalid_argument);
  CHECK(code_of(uut.bind("web", op_a, vm_1, "")) == Errc::invalid_argument);
  CHECK(uut.size() == 0);
}

// -- two creates of one name ---------------------------------------------------------

TEST_CASE("of two creates racing for one name exactly one reserves and binds it") {
  NameTable uut;
  auto a = uut.reserve("web", "h1", op_a, t0);
  auto b = uut.reserve("web", "h2", op_b, t0);
  REQUIRE(a);
  CHECK(code_of(b) == Errc::already_exists);
  // The loser binding anyway (a confused or replayed request) cannot win.
  CHECK(code_of(uut.bind("web", op_b, vm_2, "h2")) == Errc::conflict);
  // Nor can its release free the winner's reservation.
  CHECK(uut.release("web", op_b).empty());
  auto bound_a = uut.bind("web", op_a, vm_1, "h1");
  REQUIRE(bound_a);
  CHECK(*bound_a == NameChanges{{bound("web", "h1", vm_1, op_a)}, {}});
  CHECK(code_of(uut.reserve("web", "h2", op_b, t0 + 11 * minute)) == Errc::already_exists);
}

TEST_CASE("a create whose reservation expired and was taken over cannot bind") {
  NameTable uut;
  REQUIRE(uut.reserve("web", "h1", op_a, t0));
  REQUIRE(uut.reserve("web", "h2", op_b, t0 + 10 * minute));
  auto late = uut.bind("web", op_a, vm_1, "h1");
  REQUIRE_FALSE(late);
  CHECK(late.error().code == Errc::conflict);
  CHECK(late.error().message.find("host h2") != std::string::npos);
  CHECK(uut.bind("web", op_b, vm_2, "h2"));
}

// -- bind ----------------------------------------------------------------------------

TEST_CASE("binding a reserved name records the VM and ends the expiry") {
  NameTable uut;
  REQUIRE(uut.reserve("web", "h2", op_a, t0));
  auto changes = uut.bind("web", op_a, vm_1, "h2");
  REQUIRE(changes);
  CHECK(*changes == NameChanges{{bound("web", "h2", vm_1, op_a)}, {}});
  CHECK(uut.sweep(t0 + 60 * minute).empty());
  CHECK(uut.find("web")->bound);
}

TEST_CASE("binding again the same VM succeeds without another write") {
  NameTable uut;
  REQUIRE(uut.reserve("web", "h2", op_a, t0));
  REQUIRE(uut.bind("web", op_a, vm_1, "h2"));
  auto again = uut.bind("web", op_a, vm_1, "h2");
  REQUIRE(again);
  CHECK(again->empty());
}

TEST_CASE("binding another VM to a bound name is a conflict naming the holder") {
  auto uut = loaded({bound("web", "h2", vm_1, op_a)});
  auto other = uut.bind("web", op_a, vm_2, "h2");
  REQUIRE_FALSE(other);
  CHECK(other.error().code == Errc::conflict);
  CHECK(other.error().message.find(vm_1) != std::string::npos);
  CHECK(uut.find("web")->vm_id == vm_1);
}

TEST_CASE("a create binds after its reservation expired if nobody took the name") {
  NameTable uut;
  REQUIRE(uut.reserve("web", "h2", op_a, t0));
  // Still in the table, expired.
  CHECK(uut.bind("web", op_a, vm_1, "h2"));
  CHECK(uut.find("web")->bound);
}

TEST_CASE("a create binds after its expired reservation was swept") {
  NameTable uut;
  REQUIRE(uut.reserve("web", "h2", op_a, t0));
  CHECK(uut.sweep(t0 + 10 * minute) == NameChanges{{}, {"web"}});
  auto changes = uut.bind("web", op_a, vm_1, "h2");
  REQUIRE(changes);
  CHECK(*changes == NameChanges{{bound("web", "h2", vm_1, op_a)}, {}});
}

// -- release and drop ----------------------------------------------------------------

TEST_CASE("a failed create's release frees the name for the next create") {
  NameTable uut;
  REQUIRE(uut.reserve("web", "h2", op_a, t0));
  CHECK(uut.release("web", op_a) == NameChanges{{}, {"web"}});
  CHECK_FALSE(uut.find("web"));
  CHECK(uut.reserve("web", "h3", op_b, t0 + 1));
  // Releasing again is harmless.
  CHECK(uut.release("web", op_a).empty());
}

TEST_CASE("a release never removes a bound name") {
  auto uut = loaded({bound("web", "h2", vm_1, op_a)});
  CHECK(uut.release("web", op_a).empty());
  CHECK(uut.find("web"));
}

TEST_CASE("dropping a deleted VM's name frees it, and only for that VM") {
  auto uut = loaded({bound("web", "h2", vm_1, op_a), reserved("api", "h2", op_b, t0)});
  CHECK(uut.drop("web", vm_2).empty());
  CHECK(uut.drop("api", "").empty());
  CHECK(uut.drop("missing", vm_1).empty());
  CHECK(uut.drop("web", vm_1) == NameChanges{{}, {"web"}});
  CHECK_FALSE(uut.find("web"));
  CHECK(uut.find("api"));
  CHECK(uut.reserve("web", "h3", op_b, t0));
}

// -- reconcile -----------------------------------------------------------------------

TEST_CASE("a host coming back binds the names of VMs the table does not know") {
  NameTable uut;
  auto out = uut.reconcile("h2", {bound("web", "h2", vm_1, op_a)}, t0);
  CHECK(out.conflicts.empty());
  CHECK(out.changes == NameChanges{{bound("web", "h2", vm_1, op_a)}, {}});
  CHECK(uut.find("web")->bound);
}

TEST_CASE("a held VM binds the name its lost bind left reserved") {
  NameTable uut;
  REQUIRE(uut.reserve("web", "h2", op_a, t0));
  auto out = uut.reconcile("h2", {bound("web", "h2", vm_1, op_a)}, t0 + 20 * minute);
  CHECK(out.changes == NameChanges{{bound("web", "h2", vm_1, op_a)}, {}});
  // The create's own bind, arriving late, finds it done.
  auto late = uut.bind("web", op_a, vm_1, "h2");
  REQUIRE(late);
  CHECK(late->empty());
}

TEST_CASE("the host on the link is the one bound, whatever the list claims") {
  NameTable uut;
  uut.reconcile("h2", {bound("web", "h9", vm_1, op_a)}, t0);
  CHECK(uut.find("web")->host == "h2");
}

TEST_CASE("a held VM whose name is bound on another host is reported, not rebound") {
  auto uut = loaded({bound("web", "h3", vm_2, op_b)});
  auto out = uut.reconcile("h2", {bound("web", "h2", vm_1, op_a)}, t0);
  CHECK(out.changes.empty());
  REQUIRE(out.conflicts.size() == 1);
  CHECK(out.conflicts[0].name == "web");
  CHECK(out.conflicts[0].held.vm_id == vm_1);
  CHECK(out.conflicts[0].holder == bound("web", "h3", vm_2, op_b));
  CHECK(uut.find("web")->host == "h3");
}

TEST_CASE("bindings of a host's VMs deleted while it was away are dropped") {
  auto uut = loaded({bound("web", "h2", vm_1, op_a), bound("db", "h2", vm_2, op_b),
                     bound("api", "h3", "3333333333333333", op_b)});
  auto out = uut.reconcile("h2", {bound("db", "h2", vm_2, op_b)}, t0);
  CHECK(out.conflicts.empty());
  CHECK(out.changes == NameChanges{{}, {"web"}});
  CHECK_FALSE(uut.find("web"));
  CHECK(uut.find("db"));
  CHECK(uut.find("api")); // another host's: not this list's business
}

TEST_CASE("an empty list from a host drops all its bindings and nothing else") {
  auto uut = loaded({bound("web", "h2", vm_1, op_a), bound("api", "h3", vm_2, op_b)});
  auto out = uut.reconcile("h2", {}, t0);
  CHECK(out.changes == NameChanges{{}, {"web"}});
  CHECK(uut.size() == 1);
}

TEST_CASE("reconciling leaves a create in flight alone but clears an expired one") {
  NameTable uut;
  REQUIRE(uut.reserve("fresh", "h2", op_a, t0));
  REQUIRE(uut.reserve("stale", "h2", op_b, t0 - 11 * minute));
  REQUIRE(uut.reserve("other", "h3", op_b, t0 - 11 * minute));
  auto out = uut.reconcile("h2", {}, t0);
  CHECK(out.changes == NameChanges{{}, {"stale"}});
  CHECK(uut.find("fresh"));
  CHECK(uut.find("other")); // another host's reservation: its own reconcile or a sweep
}

TEST_CASE("a held VM wins over another create's reservation of its name") {
  NameTable uut;
  REQUIRE(uut.reserve("web", "h3", op_b, t0));
  auto out = uut.reconcile("h2", {bound("web", "h2", vm_1, op_a)}, t0 + minute);
  CHECK(out.conflicts.empty());
  CHECK(out.changes == NameChanges{{bound("web", "h2", vm_1, op_a)}, {}});
  CHECK(code_of(uut.bind("web", op_b, vm_2, "h3")) == Errc::conflict);
}

TEST_CASE("reconciling what the table already knows changes nothing") {
  auto uut = loaded({bound("web", "h2", vm_1, op_a)});
  auto out = uut.reconcile("h2", {bound("web", "h2", vm_1, op_a)}, t0);
  CHECK(out.changes.empty());
  CHECK(out.conflicts.empty());
}

TEST_CASE("a held entry without a VM id binds nothing and does not count as held") {
  auto uut = loaded({bound("web", "h2", vm_1, op_a)});
  auto out = uut.reconcile("h2", {reserved("web", "h2", op_a, 0), bound("", "h2", vm_2, op_b)},
                           t0);
  CHECK(out.changes == NameChanges{{}, {"web"}});
  CHECK(uut.size() == 0);
}

// -- listing and loading -------------------------------------------------------------

TEST_CASE("bindings of unreachable hosts list their bound names only, ordered by name") {
  auto uut = loaded({bound("web", "h2", vm_1, op_a), bound("api", "h3", vm_2, op_b),
                     bound("db", "h4", "3333333333333333", op_b),
                     reserved("new", "h2", op_b, t0 + minute)});
  CHECK(uut.bindings_of({"h2", "h3"})
        == std::vector<NameBinding>{bound("api", "h3", vm_2, op_b), bound("web", "h2", vm_1, op_a)});
  CHECK(uut.bindings_of({}).empty());
  CHECK(uut.bindings_of({"h9"}).empty());
}

TEST_CASE("a table loaded from its saved changes behaves as the one that made them") {
  NameTable first;
  std::map<std::string, NameBinding> stored; // what SaveNames would leave in SQLite
  auto persist = [&](const NameChanges& changes) {
    for (const auto& row : changes.upsert)
      stored.insert_or_assign(row.name, row);
    for (const auto& name : changes.erase)
      stored.erase(name);
  };
  persist(*first.reserve("web", "h2", op_a, t0));
  persist(*first.bind("web", op_a, vm_1, "h2"));
  persist(*first.reserve("api", "h3", op_b, t0));
  persist(*first.reserve("tmp", "h3", op_a, t0));
  persist(first.release("tmp", op_a));
  std::vector<NameBinding> rows;
  for (const auto& [name, row] : stored)
    rows.push_back(row);
  auto uut = loaded(rows);
  CHECK(uut.size() == first.size());
  for (const auto& name : {"web", "api"})
    CHECK(*uut.find(name) == *first.find(name));
  CHECK(code_of(uut.reserve("web", "h4", op_b, t0)) == Errc::already_exists);
  CHECK(uut.reserve("api", "h3", op_b, t0)->empty());
  CHECK_FALSE(uut.find("tmp"));
}
