// Commands: output, exit status, input, terminals, signals, back-pressure.
#include "tests/agent/agent_host.hpp"

#include <doctest/doctest.h>

#include <cerrno>

using namespace banger;
using banger::test::AgentHost;

TEST_CASE("a command's stdout, stderr and exit status reach the host") {
  AgentHost uut;
  uut.accept();
  auto result = uut.run(1, {"sh", "-c", "echo out; echo err >&2; exit 3"});
  REQUIRE(result.started.has_value());
  CHECK(result.started->pid > 0);
  CHECK(result.out == "out\n");
  CHECK(result.err == "err\n");
  REQUIRE(result.exited.has_value());
  CHECK(result.exited->code == 3);
  CHECK(result.exited->signal == 0);
}

TEST_CASE("input sent by the host reaches the command, and its end ends the command's input") {
  AgentHost uut;
  uut.accept();
  auto result = uut.run(2, {"cat"}, 0, "line one\nline two\n");
  CHECK(result.out == "line one\nline two\n");
  REQUIRE(result.exited.has_value());
  CHECK(result.exited->code == 0);
}

TEST_CASE("a command that does not exist is an error with ENOENT, not a start") {
  AgentHost uut;
  uut.accept();
  auto result = uut.run(3, {"banger-no-such-command"});
  CHECK_FALSE(result.started.has_value());
  REQUIRE(result.error.has_value());
  CHECK(result.error->code == ENOENT);
  CHECK(result.error->message.find("banger-no-such-command") != std::string::npos);
}

TEST_CASE("a working directory that does not exist is an error with ENOENT") {
  AgentHost uut;
  uut.accept();
  uut.send(agent::Type::exec, 4, agent::Exec{"op", 0, 0, 0, {"true"}, {}, "/banger-no-such-dir"});
  auto answer = uut.next_on(4);
  REQUIRE(answer.has_value());
  REQUIRE(answer->type == agent::Type::error);
  CHECK(agent::decode_error(answer->payload)->code == ENOENT);
}

TEST_CASE("environment and cwd given by the host are the command's") {
  AgentHost uut;
  uut.accept();
  uut.send(agent::Type::exec, 5,
           agent::Exec{"op", 0, 0, 0, {"sh", "-c", "echo $BANGER_X; pwd"}, {"BANGER_X=42"},
                       uut.dir()});
  std::string out;
  for (;;) {
    auto frame = uut.next_on(5);
    REQUIRE(frame.has_value());
    if (frame->type == agent::Type::stdout_data)
      out += frame->payload;
    if (frame->type == agent::Type::exited || frame->type == agent::Type::error)
      break;
  }
  CHECK(out == "42\n" + uut.dir() + "\n");
}

TEST_CASE("a command run with exec_tty has a terminal of the requested size") {
  AgentHost uut;
  uut.accept();
  auto result = uut.run(6, {"sh", "-c", "test -t 0 && test -t 1 && tty && stty size"},
                        agent::exec_tty, "", false);
  REQUIRE(result.exited.has_value());
  CHECK(result.exited->code == 0);
  CHECK(result.out.find("/dev/pts/") == 0);
  CHECK(result.out.find("24 80") != std::string::npos);
  CHECK(result.err.empty());
}

TEST_CASE("a signal from the host reaches the command") {
  AgentHost uut;
  uut.accept();
  uut.send(agent::Type::exec, 7, agent::Exec{"op", 0, 0, 0, {"sleep", "100"}, {}, ""});
  auto started = uut.next_on(7);
  REQUIRE(started.has_value());
  REQUIRE(started->type == agent::Type::started);
  uut.send(agent::Type::signal, 7, agent::Signal{15});
  auto exited = uut.next_on(7);
  REQUIRE(exited.has_value());
  REQUIRE(exited->type == agent::Type::exited);
  CHECK(agent::decode_exited(exited->payload)->signal == 15);
}

TEST_CASE("a command sends no more output than its window until the host grants more") {
  AgentHost uut;
  uut.accept();
  constexpr std::size_t total = 1024 * 1024;
  uut.send(agent::Type::exec, 8,
           agent::Exec{"op", 0, 0, 0, {"head", "-c", std::to_string(total), "/dev/zero"}, {}, ""});
  std::size_t received = 0;
  auto frame = uut.next_on(8);
  REQUIRE(frame.has_value());
  REQUIRE(frame->type == agent::Type::started);
  while (received < agent::initial_window) {
    frame = uut.next_on(8);
    REQUIRE(frame.has_value());
    REQUIRE(frame->type == agent::Type::stdout_data);
    received += frame->payload.size();
  }
  CHECK(received == agent::initial_window);
  // The window is used up: nothing more comes, however long one waits
  // (a bounded wait for an absence; the command has plenty more to say).
  CHECK_FALSE(uut.next_on(8, std::chrono::milliseconds(300)).has_value());
  uut.send(agent::Type::window, 8, agent::Window{static_cast<std::uint32_t>(total)});
  for (;;) {
    frame = uut.next_on(8);
    REQUIRE(frame.has_value());
    if (frame->type == agent::Type::exited)
      break;
    REQUIRE(frame->type == agent::Type::stdout_data);
    received += frame->payload.size();
  }
  CHECK(received == total);
}

TEST_CASE("input the command does not read beyond the bound ends the session with an error") {
  AgentHost uut;
  uut.accept();
  uut.send(agent::Type::exec, 9, agent::Exec{"op", 0, 0, 0, {"sleep", "100"}, {}, ""});
  auto started = uut.next_on(9);
  REQUIRE(started.has_value());
  std::string chunk(agent::max_payload, 'i');
  // 2 MiB for a command that reads nothing: the pipe takes 64 KiB, the
  // agent 1 MiB, the rest is refused.
  for (int i = 0; i < 32; ++i)
    uut.send(agent::Frame{agent::Type::stdin_data, 9, chunk});
  auto answer = uut.next_on(9);
  REQUIRE(answer.has_value());
  CHECK(answer->type == agent::Type::error);
  CHECK(agent::decode_error(answer->payload)->code == ENOBUFS);
}

// Regression: cat closes its terminal before its exit handlers finish; the
// agent closing the master on EIO then hung the terminal up and cat died of
// SIGHUP (exit 129) one time in five.
TEST_CASE("the end of input on a terminal reaches the command as end-of-file") {
  AgentHost uut;
  uut.accept();
  auto result = uut.run(10, {"cat"}, agent::exec_tty, "hello\n", true);
  REQUIRE(result.exited.has_value());
  CAPTURE(result.out);
  CHECK(result.exited->code == 0);
  // The terminal echoes the line, then cat writes it (with \r\n).
  CHECK(result.out.find("hello\r\nhello\r\n") != std::string::npos);
}

TEST_CASE("a command sees no descriptor of the agent's, only its stdin, stdout and stderr") {
  AgentHost uut;
  uut.accept();
  auto result = uut.run(11, {"sh", "-c", "ls /proc/$$/fd"});
  REQUIRE(result.exited.has_value());
  CHECK(result.out == "0\n1\n2\n");
}
