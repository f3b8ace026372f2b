// The agent link in process, on CAF's test coordinator: a fake vmm_io plays
// the stream, the test plays the guest agent frame by frame. What a guest
// may do (hello, a command's output and end, a file) and what it may not
// (break the window, send a host's frame, speak another version, send
// garbage): the second kind ends the stream, fails what waits on it, and
// never reaches the daemon's state. No root, no sockets.
#include "actors/agent_link.hpp"
#include "messages/agent_wire.hpp"
#include "messages/error.hpp"

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>

#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <vector>

using namespace banger;

namespace {

struct Wire {
  caf::actor notify;
  std::uint64_t link = 0;
  int opens = 0;
  int closes = 0;
  std::string written; ///< every byte the link wrote, in order
  std::vector<std::string> ups; ///< AgentUp versions the owner got
};

vmm_io_actor::behavior_type fake_io(vmm_io_actor::pointer, Wire* w) {
  return {
    [w](DuplexOpen& open) {
      w->notify = open.notify;
      w->link = open.link;
      ++w->opens;
      return std::uint64_t{7};
    },
    [w](DuplexWrite& write) {
      w->written += write.bytes;
      return Ack{};
    },
    [w](DuplexClose&) { ++w->closes; },
    [](HttpCall&) { return HttpReply{}; },
    [](HttpSequence&) { return HttpReplies{}; },
    [](QmpCall&) { return QmpReply{}; },
    [](GuestProbe&) { return Ack{}; },
    [](SocketWait&) { return Ack{}; },
    [](ExitWatch&) { return std::uint64_t{1}; },
    [](ExitUnwatch&) {},
  };
}

using owner_actor = caf::typed_actor<caf::reacts_to<AgentUp>>;

owner_actor::behavior_type fake_owner(owner_actor::pointer, Wire* w) {
  return {[w](AgentUp& up) { w->ups.push_back(up.version); }};
}

struct Fixture {
  Wire wire;
  caf::actor_system_config cfg;
  std::optional<caf::actor_system> sys;
  caf::scheduler::test_coordinator* sched = nullptr;
  owner_actor owner;
  agent_link_actor link;

  Fixture() {
    cfg.set("scheduler.policy", caf::atom("testing"));
    cfg.set("logger.file-verbosity", caf::atom("quiet"));
    sys.emplace(cfg);
    sched = &dynamic_cast<caf::scheduler::test_coordinator&>(sys->scheduler());
    owner = sys->spawn(fake_owner, &wire);
    auto io = sys->spawn(fake_io, &wire);
    link = spawn_agent_link(*sys, AgentLinkConfig{"0123456789abcdef", {"/x/agent.sock", "", ""},
                                                  io, owner});
    run();
    REQUIRE(wire.opens == 1);
    caf::anon_send(wire.notify, DuplexOpened{wire.link});
    run();
  }

  ~Fixture() {
    caf::anon_send_exit(owner, caf::exit_reason::user_shutdown);
    run();
  }

  void run() { sched->run(); }

  /// The guest sends these bytes.
  void guest(const std::string& bytes) {
    caf::anon_send(wire.notify, DuplexData{wire.link, bytes});
    run();
  }
  void guest(const agent::Frame& f) { guest(agent::encode(f)); }
  void hello(std::uint32_t version = agent::protocol_version) {
    agent::Hello h;
    h.version = version;
    h.agent_version = "1.2.3";
    h.boot_id = "b00t";
    guest(agent::frame(agent::Type::hello, 0, h));
  }

  /// The frames the link wrote since the last call.
  std::vector<agent::Frame> frames() {
    agent::Decoder d;
    REQUIRE(d.feed(wire.written));
    wire.written.clear();
    std::vector<agent::Frame> out;
    while (auto f = d.next())
      out.push_back(*f);
    REQUIRE_FALSE(d.failed());
    return out;
  }

  template <class Reply, class Request>
  std::shared_ptr<std::optional<caf::expected<Reply>>> ask(Request r) {
    auto slot = std::make_shared<std::optional<caf::expected<Reply>>>();
    sys->spawn([this, r, slot](caf::event_based_actor* self) {
      self->request(link, caf::infinite, r)
        .then([slot](Reply& x) { *slot = std::move(x); },
              [slot](caf::error& e) { *slot = caf::expected<Reply>{std::move(e)}; });
    });
    run();
    return slot;
  }

  /// Starts `argv`; the guest answers started. Returns the channel.
  std::uint32_t exec(std::vector<std::string> argv) {
    VmExecRequest r;
    r.env.op_id = "op-000000000001";
    r.argv = std::move(argv);
    auto started = ask<VmSessionStarted>(r);
    auto sent = frames();
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].type == agent::Type::exec);
    auto e = agent::decode_exec(sent[0].payload);
    REQUIRE(e);
    CHECK(e->op_id == "op-000000000001");
    CHECK_FALSE(started->has_value());
    guest(agent::frame(agent::Type::started, sent[0].channel, agent::Started{42}));
    REQUIRE(started->has_value());
    REQUIRE(**started);
    CHECK((**started)->pid == 42);
    CHECK((**started)->session == sent[0].channel);
    return sent[0].channel;
  }

  VmSessionIoRequest io(std::uint32_t session, std::uint32_t wait_ms = 1000) {
    VmSessionIoRequest r;
    r.env.op_id = "op-000000000002";
    r.session = session;
    r.wait_ms = wait_ms;
    return r;
  }

  bool closed_by_link() { return wire.closes > 0; }
};

Errc code_of(const caf::error& e) { return view(e).code; }

} // namespace

TEST_CASE("a connected link pings; the agent's hello tells the owner and answers waits") {
  Fixture f;
  auto sent = f.frames();
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].type == agent::Type::ping);
  auto waiting = f.ask<AgentHello>(AgentWait{"op-000000000001", 5000});
  CHECK_FALSE(waiting->has_value());
  f.hello();
  REQUIRE(waiting->has_value());
  REQUIRE(**waiting);
  CHECK((**waiting)->version == "1.2.3");
  CHECK(f.wire.ups == std::vector<std::string>{"1.2.3"});
  // Once up, a wait is answered at once.
  auto again = f.ask<AgentHello>(AgentWait{"op-000000000001", 5000});
  REQUIRE(again->has_value());
  CHECK(bool(**again));
}

TEST_CASE("before hello a request is refused as agent_unavailable, not queued") {
  Fixture f;
  VmExecRequest r;
  r.env.op_id = "op-000000000001";
  r.argv = {"true"};
  auto refused = f.ask<VmSessionStarted>(r);
  REQUIRE(refused->has_value());
  REQUIRE_FALSE(**refused);
  CHECK(code_of((*refused)->error()) == Errc::agent_unavailable);
}

TEST_CASE("a command's output and end reach the CLI's poll, and taking output grants window") {
  Fixture f;
  f.hello();
  f.frames();
  auto ch = f.exec({"sh", "-c", "echo hi"});
  auto poll = f.ask<VmSessionIo>(f.io(ch));
  CHECK_FALSE(poll->has_value()); // parked until something comes
  f.guest(agent::Frame{agent::Type::stdout_data, ch, "hi\n"});
  REQUIRE(poll->has_value());
  REQUIRE(**poll);
  CHECK((**poll)->out == "hi\n");
  CHECK_FALSE((**poll)->ended);
  auto grants = f.frames();
  REQUIRE(grants.size() == 1);
  CHECK(grants[0].type == agent::Type::window);
  CHECK(agent::decode_window(grants[0].payload)->bytes == 3);

  f.guest(agent::Frame{agent::Type::stderr_data, ch, "oops\n"});
  f.guest(agent::frame(agent::Type::exited, ch, agent::Exited{3, 0}));
  auto last = f.ask<VmSessionIo>(f.io(ch));
  REQUIRE(last->has_value());
  REQUIRE(**last);
  CHECK((**last)->err == "oops\n");
  CHECK((**last)->ended);
  CHECK((**last)->exit_code == 3);
  // The session is gone once its end was taken.
  auto gone = f.ask<VmSessionIo>(f.io(ch));
  REQUIRE(gone->has_value());
  REQUIRE_FALSE(**gone);
  CHECK(code_of((*gone)->error()) == Errc::not_found);
}

TEST_CASE("stdin, signals and a close from the CLI become frames on the command's channel") {
  Fixture f;
  f.hello();
  f.frames();
  auto ch = f.exec({"cat"});
  auto r = f.io(ch, 0);
  r.input = "abc";
  r.input_eof = true;
  r.signal = 15;
  auto sent = f.ask<VmSessionIo>(r);
  REQUIRE(sent->has_value());
  auto frames = f.frames();
  REQUIRE(frames.size() == 3);
  CHECK(frames[0].type == agent::Type::stdin_data);
  CHECK(frames[0].payload == "abc");
  CHECK(frames[1].type == agent::Type::stdin_eof);
  CHECK(frames[2].type == agent::Type::signal);
  CHECK(agent::decode_signal(frames[2].payload)->signo == 15);
  auto close = f.io(ch, 0);
  close.close = true;
  f.ask<VmSessionIo>(close);
  frames = f.frames();
  REQUIRE(frames.size() == 1);
  CHECK(frames[0].type == agent::Type::signal);
  CHECK(agent::decode_signal(frames[0].payload)->signo == 9);
}

TEST_CASE("a guest that sends more output than its window loses the stream") {
  Fixture f;
  f.hello();
  f.frames();
  auto ch = f.exec({"yes"});
  auto poll = f.ask<VmSessionIo>(f.io(ch));
  // The poll takes the first chunk (and grants it back); then the guest
  // floods without waiting for more window.
  f.guest(agent::Frame{agent::Type::stdout_data, ch, std::string(agent::max_payload, 'y')});
  REQUIRE(poll->has_value());
  std::string flood;
  for (std::uint32_t sent = 0; sent <= agent::initial_window + agent::max_payload;
       sent += agent::max_payload)
    flood += agent::encode(agent::Frame{agent::Type::stdout_data, ch,
                                        std::string(agent::max_payload, 'y')});
  f.guest(flood);
  CHECK(f.closed_by_link());
  auto after = f.ask<VmSessionIo>(f.io(ch));
  REQUIRE(after->has_value());
  REQUIRE_FALSE(**after);
  CHECK(code_of((*after)->error()) == Errc::not_found);
  // The link reconnects (at its pace): a new stream is asked for.
  f.sched->trigger_timeouts();
  f.run();
  CHECK(f.wire.opens == 2);
}

TEST_CASE("frames only a host sends, another protocol version or garbage end the stream") {
  SUBCASE("an exec from the guest") {
    Fixture f;
    f.hello();
    f.guest(agent::frame(agent::Type::exec, 5, agent::Exec{}));
    CHECK(f.closed_by_link());
  }
  SUBCASE("a hello of another version, which never counts as up") {
    Fixture f;
    f.hello(agent::protocol_version + 1);
    CHECK(f.closed_by_link());
    CHECK(f.wire.ups.empty());
  }
  SUBCASE("a length beyond max_payload") {
    Fixture f;
    f.guest(std::string("\xff\xff\xff\xff\x00\x01\x00\x00\x00\x00\x00\x00", 12));
    CHECK(f.closed_by_link());
  }
  SUBCASE("pongs beyond the pings sent") {
    Fixture f;
    f.hello();
    f.guest(agent::frame(agent::Type::pong, 0, agent::Ping{"link"}));
    CHECK_FALSE(f.closed_by_link());
    f.guest(agent::frame(agent::Type::pong, 0, agent::Ping{"link"}));
    CHECK(f.closed_by_link());
  }
  SUBCASE("a pong before the stream's hello is a previous host's, not a violation") {
    Fixture f;
    f.guest(agent::frame(agent::Type::pong, 0, agent::Ping{"old"}));
    CHECK_FALSE(f.closed_by_link());
    f.hello();
    f.guest(agent::frame(agent::Type::pong, 0, agent::Ping{"link"}));
    CHECK_FALSE(f.closed_by_link());
    CHECK(f.wire.ups == std::vector<std::string>{"1.2.3"});
  }
  SUBCASE("a flood of output for channels that are not open") {
    Fixture f;
    f.hello();
    std::string flood;
    for (int i = 0; i < 12; ++i)
      flood += agent::encode(
        agent::Frame{agent::Type::stdout_data, 77, std::string(agent::max_payload, 'x')});
    f.guest(flood);
    CHECK(f.closed_by_link());
  }
  SUBCASE("a started for a channel the host never opened is ignored, not trusted") {
    Fixture f;
    f.hello();
    f.guest(agent::frame(agent::Type::started, 99, agent::Started{1}));
    CHECK_FALSE(f.closed_by_link());
  }
}

TEST_CASE("a wait for an agent that never says hello ends at its deadline") {
  Fixture f;
  auto waiting = f.ask<AgentHello>(AgentWait{"op-000000000001", 100});
  CHECK_FALSE(waiting->has_value());
  // The next timeout due is the wait's (the sweep is seconds away).
  f.sched->trigger_timeout();
  f.run();
  REQUIRE(waiting->has_value());
  REQUIRE_FALSE(**waiting);
  CHECK(code_of((*waiting)->error()) == Errc::agent_unavailable);
}

TEST_CASE("an open stream that brings no hello is made again") {
  Fixture f;
  CHECK(f.wire.opens == 1);
  // The earliest timeout is the hello's due time; then the reconnect's.
  f.sched->trigger_timeout();
  f.run();
  CHECK(f.closed_by_link());
  f.sched->trigger_timeout();
  f.run();
  CHECK(f.wire.opens == 2);
  // On the new stream the agent answers: it counts.
  caf::anon_send(f.wire.notify, DuplexOpened{f.wire.link});
  f.run();
  f.hello();
  CHECK(f.wire.ups == std::vector<std::string>{"1.2.3"});
}

TEST_CASE("a file read streams its bytes and checks the announced size") {
  Fixture f;
  f.hello();
  f.frames();
  auto started = f.ask<VmSessionStarted>(VmFileReadRequest{{}, "x", "/etc/hostname"});
  auto sent = f.frames();
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].type == agent::Type::file_get);
  auto ch = sent[0].channel;
  f.guest(agent::frame(agent::Type::file_info, ch, agent::FileInfo{5, 0644}));
  REQUIRE(started->has_value());
  REQUIRE(**started);
  CHECK((**started)->size == 5);
  f.guest(agent::Frame{agent::Type::file_data, ch, "ab"});
  f.guest(agent::Frame{agent::Type::file_end, ch, ""});
  auto io = f.ask<VmSessionIo>(f.io(ch));
  REQUIRE(io->has_value());
  REQUIRE_FALSE(**io); // 2 of 5 bytes: the file changed while it was read
  CHECK(code_of((*io)->error()) == Errc::conflict);
}

TEST_CASE("relative guest paths and bad environment names are refused before the guest") {
  Fixture f;
  f.hello();
  f.frames();
  auto read = f.ask<VmSessionStarted>(VmFileReadRequest{{}, "x", "etc/passwd"});
  REQUIRE(read->has_value());
  REQUIRE_FALSE(**read);
  CHECK(code_of((*read)->error()) == Errc::invalid_argument);
  VmExecRequest r;
  r.argv = {"env"};
  r.environment = {"1BAD=x"};
  auto exec = f.ask<VmSessionStarted>(r);
  REQUIRE(exec->has_value());
  REQUIRE_FALSE(**exec);
  CHECK(code_of((*exec)->error()) == Errc::invalid_argument);
  CHECK(f.frames().empty());
}
