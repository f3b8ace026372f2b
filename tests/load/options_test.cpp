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

TEST_CASE("a cluster run takes several entry homes, placement hosts and a cross-host share") {
  auto uut = run({"--entry", "/c/h1,/c/h2", "--entry", "/c/h3", "--hosts", "h1,h2,h3",
                  "--cross-host-share", "0.25", "--entry-policy", "round-robin", "--scenario",
                  "lifecycle", "--concurrency", "8", "--duration", "10s"});
  REQUIRE_MESSAGE(uut.kind == Parsed::Kind::run, uut.text);
  const auto& o = uut.options;
  CHECK(o.cluster());
  CHECK(o.entries == std::vector<std::string>{"/c/h1", "/c/h2", "/c/h3"});
  CHECK(o.hosts == std::vector<std::string>{"h1", "h2", "h3"});
  REQUIRE(o.cross_host_share);
  CHECK(*o.cross_host_share == doctest::Approx(0.25));
  CHECK(o.entry_policy == EntryPolicy::round_robin);
  CHECK(o.home.empty());
  CHECK_FALSE(o.fault);
}

TEST_CASE("without cluster options a run is a single-host run as before") {
  auto uut = run({"--home", "/h", "--scenario", "lifecycle", "--concurrency", "2", "--count", "4"});
  REQUIRE(uut.kind == Parsed::Kind::run);
  CHECK_FALSE(uut.options.cluster());
  CHECK(uut.options.hosts.empty());
  CHECK_FALSE(uut.options.cross_host_share);
  CHECK(uut.options.entry_policy == EntryPolicy::worker);
}

TEST_CASE("a fault is a host to kill or stop, a time and the command that does it") {
  auto kill = run({"--entry", "/c/h1,/c/h2", "--kill-host", "h2", "--fault-at", "3s",
                   "--fault-command", "kill -9 $(cat /run/$BANGER_FAULT_HOST.pid)", "--scenario",
                   "read", "--concurrency", "2", "--duration", "8s"});
  REQUIRE_MESSAGE(kill.kind == Parsed::Kind::run, kill.text);
  REQUIRE(kill.options.fault);
  CHECK(kill.options.fault->action == FaultAction::kill);
  CHECK(kill.options.fault->host == "h2");
  CHECK(kill.options.fault->at == std::chrono::seconds(3));
  CHECK(kill.options.fault->command == "kill -9 $(cat /run/$BANGER_FAULT_HOST.pid)");
  auto stop = run({"--entry", "/c/h1", "--stop-host", "h1", "--fault-command", "true",
                   "--scenario", "read", "--concurrency", "1", "--duration", "8s"});
  REQUIRE_MESSAGE(stop.kind == Parsed::Kind::run, stop.text);
  CHECK(stop.options.fault->action == FaultAction::stop);
  CHECK(stop.options.fault->at == std::chrono::seconds(5)); // the default
}

TEST_CASE("cluster options are refused where they cannot apply, saying why") {
  struct Case {
    std::vector<std::string> args;
    const char* says;
  };
  const std::vector<std::string> tail = {"--scenario", "read", "--concurrency", "1", "--count",
                                         "1"};
  auto with = [&](std::vector<std::string> args) {
    args.insert(args.end(), tail.begin(), tail.end());
    return args;
  };
  for (const auto& c : std::vector<Case>{
         {with({"--home", "/h", "--entry", "/c/h1"}), "--entry replaces --home"},
         {with({"--home", "/h", "--hosts", "h1"}), "need --entry"},
         {with({"--home", "/h", "--cross-host-share", "0.5"}), "need --entry"},
         {with({"--home", "/h", "--kill-host", "h1", "--fault-command", "true"}), "need --entry"},
         {with({"--entry", "/c/h1", "--cross-host-share", "0.5"}), "two entries or more"},
         {with({"--entry", "/c/h1,/c/h2", "--cross-host-share", "1.5"}), "from 0 to 1"},
         {with({"--entry", "/c/h1,/c/h2", "--cross-host-share", "half"}), "from 0 to 1"},
         {with({"--entry", "/c/h1,,/c/h2"}), "HOME[,HOME...]"},
         {with({"--entry", "/c/h1", "--hosts", "h1,H2"}), "not a host id"},
         {with({"--entry", "/c/h1", "--entry-policy", "random"}), "worker or round-robin"},
         {with({"--entry", "/c/h1", "--kill-host", "h1"}), "needs --fault-command"},
         {with({"--entry", "/c/h1", "--fault-at", "2s", "--fault-command", "true"}),
          "go with --kill-host or --stop-host"},
         {with({"--entry", "/c/h1", "--kill-host", "h1", "--stop-host", "h2", "--fault-command",
                "true"}),
          "one fault per run"},
       }) {
    auto uut = run(c.args);
    CHECK(uut.kind == Parsed::Kind::usage_error);
    CHECK_MESSAGE(uut.text.find(c.says) != std::string::npos, uut.text);
  }
  auto floor = run({"--entry", "/c/h1", "--scenario", "lifecycle", "--concurrency", "1",
                    "--count", "1", "--floor"});
  CHECK(floor.kind == Parsed::Kind::usage_error);
  CHECK(floor.text.find("--floor measures one host") != std::string::npos);
}

TEST_CASE("the usage text documents the cluster options") {
  auto help = usage();
  for (const char* option : {"--entry", "--entry-policy", "--hosts", "--cross-host-share",
                             "--kill-host", "--stop-host", "--fault-at", "--fault-command"})
    CHECK_MESSAGE(help.find(option) != std::string::npos, option);
}

TEST_CASE("the list scenario lists VMs and prepares none") {
  auto uut = run({"--entry", "/c/h1,/c/h2", "--scenario", "list", "--concurrency", "1",
                  "--count", "100"});
  REQUIRE_MESSAGE(uut.kind == Parsed::Kind::run, uut.text);
  CHECK(uut.options.scenario == Scenario::list);
  CHECK(uut.options.vms == 0);
}
