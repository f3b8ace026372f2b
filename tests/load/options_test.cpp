#include "tools/load/options.hpp"

#include <doctest/doctest.h>

using namespace banger::load;

namespace {

Parsed run(std::vector<std::string> args, const char* env_home = nullptr) {
  return parse(args, env_home);
}

} // namespace

TEST_CASE("a complete command line parses") {
  auto uut = run({"--home", "/h", "--scenario", "churn", "--concurrency", "4", "--duration",
                  "15s", "--vms", "8", "--seed", "7", "--ramp-up", "1s", "--json", "out.json"});
  REQUIRE(uut.kind == Parsed::Kind::run);
  CHECK(uut.options.scenario == Scenario::churn);
  CHECK(uut.options.concurrency == 4);
  CHECK(uut.options.duration == std::chrono::seconds(15));
  CHECK(uut.options.vms == 8);
  CHECK(uut.options.seed == 7);
  CHECK(uut.options.ramp_up == std::chrono::seconds(1));
  CHECK(uut.options.json_file == "out.json");
}

TEST_CASE("usage errors say what is wrong") {
  struct Case {
    std::vector<std::string> args;
    const char* says;
  };
  for (const auto& c : std::vector<Case>{
         {{"--home", "/h", "--concurrency", "1", "--count", "1"}, "--scenario is required"},
         {{"--home", "/h", "--scenario", "lifecycle", "--count", "1"}, "--concurrency"},
         {{"--home", "/h", "--scenario", "lifecycle", "--concurrency", "1"}, "exactly one"},
         {{"--home", "/h", "--scenario", "nope", "--concurrency", "1", "--count", "1"},
          "--scenario expects"},
         {{"--daemon", "localhost", "--scenario", "read", "--concurrency", "1", "--count", "1"},
          "HOST:PORT"},
         {{"--daemon", "127.0.0.1:7420", "--scenario", "read", "--concurrency", "1", "--count",
           "1"},
          "--cert"},
         {{"--scenario", "read", "--concurrency", "1", "--count", "1"}, "--home"},
         {{"--home", "/h", "--scenario", "read", "--concurrency", "1", "--count", "1", "--floor"},
          "--floor applies"},
         {{"--home", "/h", "--scenario", "churn", "--concurrency", "4", "--vms", "2", "--count",
           "1"},
          "--vms must be at least"},
         {{"--home", "/h", "--scenario", "read", "--concurrency", "1", "--count", "1", "--bogus"},
          "unknown argument"},
       }) {
    auto uut = run(c.args);
    CHECK(uut.kind == Parsed::Kind::usage_error);
    CHECK_MESSAGE(uut.text.find(c.says) != std::string::npos, uut.text);
  }
}

TEST_CASE("the home comes from BANGER_HOME when neither --home nor --daemon is given") {
  auto uut = run({"--scenario", "read", "--concurrency", "2", "--count", "5"}, "/env/home");
  REQUIRE(uut.kind == Parsed::Kind::run);
  CHECK(uut.options.home == "/env/home");
  CHECK(uut.options.vms == 16);
}

TEST_CASE("several daemons can be driven with explicit TLS files") {
  auto uut = run({"--daemon", "127.0.0.1:7420", "--daemon", "[::1]:7421", "--cert", "c", "--key",
                  "k", "--ca", "a", "--scenario", "mixed", "--concurrency", "3", "--count",
                  "10", "--mix", "lifecycle=2,read=1"});
  REQUIRE(uut.kind == Parsed::Kind::run);
  REQUIRE(uut.options.daemons.size() == 2);
  CHECK(uut.options.daemons[1].port == 7421);
  CHECK(uut.options.mix.lifecycle == 2);
  CHECK(uut.options.mix.churn == 0);
  CHECK(uut.options.vms == 3);
}

TEST_CASE("a chaos run's options parse: --reconnect, --record and --keep with lifecycle") {
  auto uut = run({"--home", "/h", "--scenario", "lifecycle", "--concurrency", "6", "--duration",
                  "1m", "--reconnect", "--keep", "--record", "/tmp/record"});
  REQUIRE(uut.kind == Parsed::Kind::run);
  CHECK(uut.options.reconnect);
  CHECK(uut.options.keep);
  CHECK(uut.options.record_file == "/tmp/record");
  auto plain = run({"--home", "/h", "--scenario", "lifecycle", "--concurrency", "1", "--count", "1"});
  REQUIRE(plain.kind == Parsed::Kind::run);
  CHECK_FALSE(plain.options.reconnect);
  CHECK(plain.options.record_file.empty());
}

TEST_CASE("--keep is refused where there is nothing to keep, and --record needs a file") {
  auto keep = run({"--home", "/h", "--scenario", "read", "--concurrency", "1", "--count", "1",
                   "--keep"});
  CHECK(keep.kind == Parsed::Kind::usage_error);
  CHECK(keep.text.find("--keep applies to the create and lifecycle scenarios") != std::string::npos);
  auto record = run({"--home", "/h", "--scenario", "lifecycle", "--concurrency", "1", "--count",
                     "1", "--record"});
  CHECK(record.kind == Parsed::Kind::usage_error);
  CHECK(record.text.find("--record needs a value") != std::string::npos);
}

TEST_CASE("--floor-only runs the floor alone and refuses options of a banger run") {
  auto uut = run({"--home", "/h", "--scenario", "lifecycle", "--concurrency", "16", "--duration",
                  "8s", "--floor-only"});
  REQUIRE(uut.kind == Parsed::Kind::run);
  CHECK(uut.options.floor_only);
  CHECK(uut.options.floor);
  auto probe = run({"--home", "/h", "--scenario", "lifecycle", "--concurrency", "16",
                    "--duration", "8s", "--floor-only", "--show-probe", "20ms"});
  CHECK(probe.kind == Parsed::Kind::usage_error);
  auto read = run({"--home", "/h", "--scenario", "read", "--concurrency", "1", "--count", "1",
                   "--floor-only"});
  CHECK(read.kind == Parsed::Kind::usage_error);
}
