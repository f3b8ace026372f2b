// The VM queue's continuation guard: an operation that loses its
// continuation still ends, once, with internal; one that ends normally is
// never ended again.
#include "actors/op_done.hpp"

#include <doctest/doctest.h>

#include <functional>
#include <memory>
#include <optional>
#include <vector>

using namespace banger;

namespace {

/// Records what the guard does: outcomes it finished with, work it deferred.
struct Probe {
  std::vector<std::optional<Error>> outcomes;
  std::vector<std::function<void()>> deferred;
  std::shared_ptr<const int> owner = std::make_shared<const int>(0);

  OpDone make() {
    return OpDone(
      "op-0123456789ab", [this](std::optional<Error> e) { outcomes.push_back(std::move(e)); },
      [this](std::function<void()> end) { deferred.push_back(std::move(end)); }, owner);
  }
  void run_deferred() {
    auto work = std::move(deferred);
    deferred.clear();
    for (auto& w : work)
      w();
  }
};

} // namespace

TEST_CASE("an operation that calls its continuation ends once, with its outcome") {
  Probe probe;
  {
    auto uut = probe.make();
    uut(Error{Errc::timeout, "slow"});
    CHECK(uut.called());
  }
  probe.run_deferred();
  REQUIRE(probe.outcomes.size() == 1);
  REQUIRE(probe.outcomes[0]);
  CHECK(probe.outcomes[0]->code == Errc::timeout);
  CHECK(probe.deferred.empty());
}

TEST_CASE("an operation whose continuation is dropped uncalled still ends, with internal") {
  Probe probe;
  { auto uut = probe.make(); }
  CHECK(probe.outcomes.empty()); // not inside the destructor: deferred
  REQUIRE(probe.deferred.size() == 1);
  probe.run_deferred();
  REQUIRE(probe.outcomes.size() == 1);
  REQUIRE(probe.outcomes[0]);
  CHECK(probe.outcomes[0]->code == Errc::internal);
  CHECK(probe.outcomes[0]->message == dropped_operation_message);
}

TEST_CASE("copies of a continuation share one completion") {
  Probe probe;
  {
    auto uut = probe.make();
    std::function<void(std::optional<Error>)> a = uut;
    std::function<void(std::optional<Error>)> b = a;
    { auto dropped = uut; } // dropping one copy ends nothing
    CHECK(probe.deferred.empty());
    b(std::nullopt);
    a(Error{Errc::internal, "late"}); // ignored: already ended
  }
  probe.run_deferred();
  REQUIRE(probe.outcomes.size() == 1);
  CHECK_FALSE(probe.outcomes[0]);
}

TEST_CASE("the last copy going away ends the operation, not the first") {
  Probe probe;
  std::function<void(std::optional<Error>)> kept;
  {
    auto uut = probe.make();
    kept = uut;
  }
  CHECK(probe.deferred.empty());
  kept = nullptr;
  CHECK(probe.deferred.size() == 1);
}

TEST_CASE("a continuation dropped after its owner is gone is left alone") {
  Probe probe;
  auto uut = std::make_unique<OpDone>(probe.make());
  probe.owner.reset();
  uut.reset();
  CHECK(probe.deferred.empty());
  CHECK(probe.outcomes.empty());
}
