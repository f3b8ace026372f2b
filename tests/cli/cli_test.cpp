// banger CLI without a daemon: parsing, help, formatting, JSON shapes, and
// the real binary's exit codes for usage errors (nothing contacted) and an
// unreachable daemon (exit 3, bounded).
#include "tests/cli/cli_run.hpp"
#include "tests/support/process.hpp"
#include "messages/settings.hpp"
#include "tools/cli/args.hpp"
#include "tools/cli/commands.hpp"
#include "tools/cli/errors.hpp"
#include "tools/cli/output.hpp"

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace banger;
using namespace banger::cli;
using banger::test::run_banger;

namespace {

ParseOutcome parse_words(std::vector<std::string> words) {
  return parse(words, nullptr);
}

// A loopback listener that records whether anyone connected.
class Listener {
public:
  Listener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd_, 16) == 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~Listener() { ::close(fd_); }
  int port() const { return port_; }
  bool got_connection() {
    int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0)
      return false;
    ::close(c);
    return true;
  }

private:
  int fd_ = -1;
  int port_ = 0;
};

} // namespace

TEST_CASE("a full vm create command line parses into its options") {
  auto uut = parse_words({"--home", "/h", "vm", "create", "--image", "debian", "--name=web1",
                          "--cpus", "2", "--start", "-o", "json", "--timeout", "5s"});
  REQUIRE(uut.kind == ParseOutcome::Kind::run);
  const auto& inv = uut.invocation;
  CHECK(inv.command->name == "vm create");
  CHECK(inv.value("--image") == "debian");
  CHECK(inv.value("--name") == "web1");
  CHECK(inv.value("--cpus") == "2");
  CHECK(inv.has("--start"));
  CHECK_FALSE(inv.has("--no-wait"));
  CHECK(inv.global.home == "/h");
  CHECK(inv.global.output == OutputFormat::json);
  CHECK(inv.global.timeout == std::chrono::milliseconds(5000));
}

TEST_CASE("the home comes from --home, then BANGER_HOME, then the default") {
  CHECK(parse({"vm", "ls"}, "/env").invocation.global.home == "/env");
  CHECK(parse({"--home=/flag", "vm", "ls"}, "/env").invocation.global.home == "/flag");
  CHECK(parse({"vm", "ls"}, nullptr).invocation.global.home == "/var/lib/banger");
}

TEST_CASE("usage errors name the problem and show a short usage") {
  struct Case {
    std::vector<std::string> argv;
    std::string needle;
  };
  for (const auto& c : std::vector<Case>{
         {{}, "missing command"},
         {{"vm"}, "needs a subcommand"},
         {{"vm", "frobnicate"}, "unknown command 'vm frobnicate'"},
         {{"vm", "show"}, "missing REF"},
         {{"vm", "show", "a", "b"}, "unexpected argument 'b'"},
         {{"vm", "create"}, "missing --image"},
         {{"vm", "create", "--image", "x", "--cpus", "many"}, "--cpus expects a number"},
         {{"vm", "ls", "--bogus"}, "unknown option '--bogus'"},
         {{"vm", "ls", "-o", "yaml"}, "--output expects text or json"},
         {{"vm", "ls", "--timeout", "soon"}, "--timeout expects a duration"},
         {{"vm", "ls", "--daemon", "nohost"}, "--daemon expects HOST:PORT"},
         {{"vm", "ls", "--cert", "c"}, "--cert, --key and --ca go together"},
         {{"vm", "stop", "--", "x"}, "unexpected '--'"},
         {{"init", "--vmm", "bochs"}, "--vmm expects one of"},
       }) {
    CAPTURE(c.needle);
    auto uut = parse_words(c.argv);
    CHECK(uut.kind == ParseOutcome::Kind::usage_error);
    CHECK(uut.text.find(c.needle) != std::string::npos);
    CHECK(uut.text.find("usage: banger") != std::string::npos);
  }
}

TEST_CASE("every command has help with an example") {
  for (const auto& spec : command_table()) {
    CAPTURE(spec.name);
    auto words = std::vector<std::string>{};
    for (std::size_t pos = 0, next; pos != std::string::npos; pos = next) {
      next = spec.name.find(' ', pos);
      words.push_back(spec.name.substr(pos, next == std::string::npos ? next : next - pos));
      if (next != std::string::npos)
        ++next;
    }
    words.push_back("--help");
    auto uut = parse_words(words);
    REQUIRE(uut.kind == ParseOutcome::Kind::help);
    CHECK(uut.text.find("usage: banger " + spec.name) != std::string::npos);
    CHECK(uut.text.find("Example:\n  banger ") != std::string::npos);
    // Global options and exit codes are shown once, by `banger --help`.
    CHECK(uut.text.find("banger --help") != std::string::npos);
    CHECK(uut.text.find("--home DIR") == std::string::npos);
    CHECK(uut.text.find("Exit codes:") == std::string::npos);
  }
  CHECK(parse_words({"--help"}).text.find("--home DIR") != std::string::npos);
  CHECK(parse_words({"--help"}).text.find("Exit codes:") != std::string::npos);
  CHECK(parse_words({"vm", "--help"}).text.find("create") != std::string::npos);
  CHECK(parse_words({"--help"}).text.find("daemon status") != std::string::npos);
}

TEST_CASE("vm ssh passes everything after -- through") {
  auto uut = parse_words({"vm", "ssh", "web1", "--", "ls", "-la", "--help"});
  REQUIRE(uut.kind == ParseOutcome::Kind::run);
  CHECK(uut.invocation.args == std::vector<std::string>{"web1"});
  CHECK(uut.invocation.rest == std::vector<std::string>{"ls", "-la", "--help"});
}

TEST_CASE("durations, numbers and addresses parse strictly") {
  CHECK(parse_duration("500ms") == std::chrono::milliseconds(500));
  CHECK(parse_duration("30s") == std::chrono::milliseconds(30000));
  CHECK(parse_duration("2m") == std::chrono::milliseconds(120000));
  CHECK(parse_duration("45") == std::chrono::milliseconds(45000));
  CHECK_FALSE(parse_duration("1.5s"));
  CHECK_FALSE(parse_duration("s"));
  CHECK(parse_number("42", 100) == 42u);
  CHECK_FALSE(parse_number("-1", 100));
  CHECK_FALSE(parse_number("101", 100));
  CHECK(parse_host_port("127.0.0.1:7420")->port == 7420);
  CHECK(parse_host_port("[::1]:7420")->host == "::1");
  CHECK_FALSE(parse_host_port("127.0.0.1:0"));
  CHECK_FALSE(parse_host_port("127.0.0.1"));
}

TEST_CASE("tables are aligned on the widest cell") {
  auto uut = render_table({{"NAME", "STATE"}, {"a-long-name", "running"}, {"b", "stopped"}});
  CHECK(uut == "NAME         STATE\na-long-name  running\nb            stopped\n");
}

TEST_CASE("ages and durations are human-sized") {
  std::int64_t now = 1'000'000'000'000;
  CHECK(format_age(now - 5'000'000, now) == "5s");
  CHECK(format_age(now - 600'000'000, now) == "10m");
  CHECK(format_age(now - 3 * 3600'000'000ll, now) == "3h");
  CHECK(format_age(now - 3 * 86400'000'000ll, now) == "3d");
  CHECK(format_age(0, now) == "-");
  CHECK(format_ms(12345) == "12.345 ms");
  CHECK(format_ms(7) == "0.007 ms");
}

TEST_CASE("a VM's JSON has snake_case fields, state as a string and timings in us") {
  VmRecord vm;
  vm.id = "0123456789abcdef";
  vm.name = "web1";
  vm.runtime.state = VmState::running;
  vm.runtime.last_stop = StopRung::graceful;
  vm.runtime.boot.guest_ready_us = 1234;
  auto uut = to_json(vm);
  CHECK(uut["name"] == "web1");
  CHECK(uut["state"] == "running");
  CHECK(uut["last_stop"] == "graceful");
  CHECK(uut["boot"]["guest_ready_us"] == 1234);
  CHECK(uut["memory_mib"] == 128);
  auto table = render_vm_table({vm}, {}, now_us());
  CHECK(table.starts_with("NAME  ID        STATE    IMAGE  IP  CPUS  MEMORY   AGE\n"));
}

TEST_CASE("errors as JSON carry code, message and op_id") {
  auto uut = error_json(failure(Errc::not_found, "no VM named 'x'", "op-0123456789ab"));
  CHECK(uut["error"]["code"] == "not_found");
  CHECK(uut["error"]["message"] == "no VM named 'x'");
  CHECK(uut["error"]["op_id"] == "op-0123456789ab");
}

TEST_CASE("a failed operation shows its error code and stages") {
  OperationStatus op;
  op.op_id = "op-0123456789ab";
  op.outcome = OperationOutcome::failed;
  op.error_code = static_cast<std::uint8_t>(Errc::vmm_failed);
  op.error_message = "boom";
  op.stages = {{"spawn", 1, 1500, true}, {"configure", 2, 20, false}};
  auto text = render_op(op);
  CHECK(text.find("vmm_failed: boom") != std::string::npos);
  CHECK(text.find("spawn      1.500 ms  ok") != std::string::npos);
  CHECK(to_json(op)["error"]["code"] == "vmm_failed");
}

TEST_CASE("a usage error exits 2 without contacting the daemon") {
  Listener daemon;
  auto addr = "127.0.0.1:" + std::to_string(daemon.port());
  test::TempDir home;
  for (auto args : std::vector<std::vector<std::string>>{
         {"vm", "show", "--bogus", "x"},
         {"vm", "create", "--image", "x", "--name", "Bad_Name"},
         {"op", "show", "not-an-op"},
         {"vm", "kill"}}) {
    std::vector<std::string> argv{"--home", home.path(), "--daemon", addr};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = run_banger(argv);
    CAPTURE(r.err);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("usage: banger") != std::string::npos);
    CHECK(r.out.empty());
  }
  CHECK_FALSE(daemon.got_connection());
}

TEST_CASE("--help exits 0 on stdout") {
  auto r = run_banger({"vm", "stop", "--help"});
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("Example:") != std::string::npos);
}

TEST_CASE("missing client credentials exit 4 and suggest banger init") {
  test::TempDir home;
  auto r = run_banger({"--home", home.path(), "vm", "ls"});
  CHECK(r.exit_code == 4);
  CHECK(r.err.find("banger init") != std::string::npos);
}

TEST_CASE("a stopped daemon exits 3 quickly with a clear message") {
  test::TempDir home;
  // A port nobody listens on: bind one, close it.
  int port;
  {
    Listener gone;
    port = gone.port();
  }
  auto init = run_banger({"init", "--home", home.path(), "--port", std::to_string(port)});
  REQUIRE_MESSAGE(init.exit_code == 0, init.err);
  auto r = run_banger({"--home", home.path(), "vm", "ls"});
  CHECK(r.exit_code == 3);
  CHECK(r.err.find("cannot reach bangerd at 127.0.0.1:" + std::to_string(port))
        != std::string::npos);
  CHECK(r.err.find("is it running?") != std::string::npos);
  CHECK(r.elapsed < std::chrono::seconds(5));
  auto j = run_banger({"--home", home.path(), "-o", "json", "vm", "ls"});
  CHECK(j.exit_code == 3);
  auto parsed = nlohmann::json::parse(j.out);
  CHECK(parsed["error"]["code"] == "daemon_unreachable");
}

TEST_CASE("a peer that accepts but never speaks TLS does not hang the CLI") {
  test::TempDir home;
  Listener silent;
  auto init = run_banger({"init", "--home", home.path()});
  REQUIRE_MESSAGE(init.exit_code == 0, init.err);
  auto r = run_banger({"--home", home.path(), "--daemon",
                   "127.0.0.1:" + std::to_string(silent.port()), "--timeout", "2s", "vm", "ls"},
                  {}, std::chrono::seconds(20));
  CHECK(r.exit_code == 3);
  CHECK(r.elapsed < std::chrono::seconds(10));
}

TEST_CASE("waiting for a TLS handshake does not spin the CLI's multiplexer") {
  // CAF queues the BASP greeting before TLS is up, so the socket is polled
  // for writability while SSL_connect waits to read: the multiplexer looped
  // at full speed for the whole wait (about half of the wait in CPU time).
  test::TempDir home;
  Listener silent;
  auto init = run_banger({"init", "--home", home.path()});
  REQUIRE_MESSAGE(init.exit_code == 0, init.err);
  auto r = run_banger({"--home", home.path(), "--daemon",
                       "127.0.0.1:" + std::to_string(silent.port()), "--timeout", "3s", "vm", "ls"},
                      {}, std::chrono::seconds(20));
  CHECK(r.exit_code == 3);
  CHECK(r.elapsed >= std::chrono::seconds(3));
  CHECK(r.cpu < std::chrono::milliseconds(150));
}

TEST_CASE("a peer that never speaks TLS gets the JSON error object with -o json") {
  test::TempDir home;
  Listener silent;
  auto init = run_banger({"init", "--home", home.path()});
  REQUIRE_MESSAGE(init.exit_code == 0, init.err);
  auto r = run_banger({"--home", home.path(), "-o", "json", "--daemon",
                       "127.0.0.1:" + std::to_string(silent.port()), "--timeout", "1s", "vm", "ls"},
                      {}, std::chrono::seconds(20));
  CHECK(r.exit_code == 3);
  auto parsed = nlohmann::json::parse(r.out);
  CHECK(parsed["error"]["code"] == "daemon_unreachable");
  CHECK(parsed["error"]["message"].get<std::string>().find("no TLS handshake")
        != std::string::npos);
}

TEST_CASE("banger init says how to start the helper and the daemon of its home") {
  test::TempDir home;
  auto r = run_banger({"--home", home.path(), "init"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  REQUIRE(r.out.find("\nnext:\n") != std::string::npos);
  auto next = r.out.substr(r.out.find("\nnext:\n"));
  CHECK(next.find("banger-helper --home " + home.path() + " &") != std::string::npos);
  CHECK(next.find("bangerd --home " + home.path() + " &") != std::string::npos);
  CHECK(next.find("daemon status") != std::string::npos);
  auto again = run_banger({"--home", home.path(), "-o", "json", "init"});
  REQUIRE_MESSAGE(again.exit_code == 0, again.err);
  CHECK(nlohmann::json::parse(again.out)["next"].size() == 3);
  // The systemd units name /var/lib/banger: offered for that home only.
  auto units = init_next_steps(default_home);
  CHECK(units.back().find("systemctl enable --now banger-helper bangerd") != std::string::npos);
  CHECK(init_next_steps(home.path()).back().find("systemctl") == std::string::npos);
}
