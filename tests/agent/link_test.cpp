// The link itself: hello, ping, reconnection, a host that breaks the
// protocol, channels the agent does not know.
#include "tests/agent/agent_host.hpp"

#include <doctest/doctest.h>

#include <cerrno>
#include <csignal>
#include <fstream>

using namespace banger;
using banger::test::AgentHost;

TEST_CASE("the agent says hello with protocol version 1 and the boot id when it connects") {
  AgentHost uut;
  auto hello = uut.accept();
  CHECK(hello.version == 1);
  CHECK_FALSE(hello.agent_version.empty());
  std::string boot_id;
  std::getline(std::ifstream("/proc/sys/kernel/random/boot_id"), boot_id);
  CHECK(hello.boot_id == boot_id);
}

TEST_CASE("a ping is answered with a hello and a pong carrying the same op_id") {
  AgentHost uut;
  uut.accept();
  uut.send(agent::Type::ping, 0, agent::Ping{"op-ping-1"});
  auto hello = uut.next();
  REQUIRE(hello.has_value());
  CHECK(hello->type == agent::Type::hello);
  auto pong = uut.next();
  REQUIRE(pong.has_value());
  CHECK(pong->type == agent::Type::pong);
  CHECK(pong->channel == 0);
  REQUIRE(agent::decode_ping(pong->payload).has_value());
  CHECK(agent::decode_ping(pong->payload)->op_id == "op-ping-1");
}

TEST_CASE("the agent reconnects after the host closes its end, and says hello again") {
  AgentHost uut;
  uut.accept();
  // A command left running when the host goes away is killed.
  uut.send(agent::Type::exec, 1, agent::Exec{"op", 0, 0, 0, {"sleep", "100"}, {}, ""});
  auto started = uut.next_on(1);
  REQUIRE(started.has_value());
  REQUIRE(started->type == agent::Type::started);
  auto pid = static_cast<pid_t>(agent::decode_started(started->payload)->pid);
  uut.disconnect();
  auto hello = uut.accept();
  CHECK(hello.version == agent::protocol_version);
  CHECK(test::eventually([&] { return ::kill(pid, 0) != 0 && errno == ESRCH; }));
  // And the new link works.
  auto result = uut.run(1, {"true"});
  REQUIRE(result.exited.has_value());
  CHECK(result.exited->code == 0);
}

TEST_CASE("a ping is a new host: the previous host's sessions end and their channels are free") {
  // On virtio-serial a restored guest (a clone's first start) keeps the
  // connection its source's host had; the new host pings and numbers its
  // channels from 1 again.
  AgentHost uut;
  uut.accept();
  uut.send(agent::Type::exec, 1, agent::Exec{"op", 0, 0, 0, {"sleep", "100"}, {}, ""});
  auto started = uut.next_on(1);
  REQUIRE(started.has_value());
  REQUIRE(started->type == agent::Type::started);
  auto pid = static_cast<pid_t>(agent::decode_started(started->payload)->pid);
  uut.send(agent::Type::ping, 0, agent::Ping{"op-new-host"});
  auto hello = uut.next();
  REQUIRE(hello.has_value());
  CHECK(hello->type == agent::Type::hello);
  CHECK(test::eventually([&] { return ::kill(pid, 0) != 0 && errno == ESRCH; }));
  auto result = uut.run(1, {"sh", "-c", "exit 5"});
  REQUIRE(result.exited.has_value());
  CHECK(result.exited->code == 5);
}

TEST_CASE("a host that sends a malformed frame is disconnected, and the agent comes back") {
  AgentHost uut;
  uut.accept();
  // An unknown frame type: the stream cannot be trusted past it.
  uut.send_bytes(std::string("\0\0\0\0\x03\xe7\0\0\0\0\0\0", 12));
  CHECK_FALSE(uut.next().has_value());
  CHECK(uut.closed());
  CHECK(uut.accept().version == agent::protocol_version);
}

TEST_CASE("a host that sends a frame only an agent sends is disconnected") {
  AgentHost uut;
  uut.accept();
  uut.send(agent::Type::started, 3, agent::Started{1});
  CHECK_FALSE(uut.next().has_value());
  CHECK(uut.closed());
}

TEST_CASE("data on a channel with no session is answered with an error on that channel") {
  AgentHost uut;
  uut.accept();
  uut.send(agent::Frame{agent::Type::stdin_data, 77, "lost"});
  auto error = uut.next_on(77);
  REQUIRE(error.has_value());
  CHECK(error->type == agent::Type::error);
  CHECK(agent::decode_error(error->payload)->code == EBADF);
}

TEST_CASE("an identity with an invalid hostname is refused before anything changes") {
  AgentHost uut;
  uut.accept();
  agent::Identity identity;
  identity.op_id = "op-id";
  identity.hostname = "bad host;name";
  uut.send(agent::Type::identity, 9, identity);
  auto answer = uut.next_on(9);
  REQUIRE(answer.has_value());
  CHECK(answer->type == agent::Type::error);
  CHECK(agent::decode_error(answer->payload)->code == EINVAL);
}

TEST_CASE("a 65th session is refused while 64 are open") {
  AgentHost uut;
  uut.accept();
  for (std::uint32_t channel = 1; channel <= 64; ++channel)
    uut.send(agent::Type::exec, channel, agent::Exec{"op", 0, 0, 0, {"cat"}, {}, ""});
  for (std::uint32_t channel = 1; channel <= 64; ++channel) {
    auto started = uut.next_on(channel);
    REQUIRE(started.has_value());
    REQUIRE(started->type == agent::Type::started);
  }
  uut.send(agent::Type::exec, 65, agent::Exec{"op", 0, 0, 0, {"cat"}, {}, ""});
  auto refused = uut.next_on(65);
  REQUIRE(refused.has_value());
  CHECK(refused->type == agent::Type::error);
  CHECK(agent::decode_error(refused->payload)->code == EAGAIN);
  // A channel in use cannot be opened twice either.
  uut.send(agent::Type::exec, 5, agent::Exec{"op", 0, 0, 0, {"cat"}, {}, ""});
  auto busy = uut.next_on(5);
  REQUIRE(busy.has_value());
  CHECK(busy->type == agent::Type::error);
  CHECK(agent::decode_error(busy->payload)->code == EBUSY);
}
