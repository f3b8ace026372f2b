// vm ssh and vm cp on the command line: which ssh/scp options pass
// through, which are refused because banger pins the key and host key, how
// `VM:PATH` operands are read, and the command lines banger runs.
#include "tests/cli/cli_run.hpp"
#include "tools/cli/args.hpp"
#include "tools/cli/ssh_options.hpp"

#include <doctest/doctest.h>

#include <algorithm>

using namespace banger;
using namespace banger::cli;
using banger::test::run_banger;
using Words = std::vector<std::string>;

namespace {

ParseOutcome parse_words(Words words) {
  return parse(words, nullptr);
}

// The usage error of a command line that must be refused.
std::string refused(Words words) {
  auto uut = parse_words(std::move(words));
  CHECK(uut.kind == ParseOutcome::Kind::usage_error);
  return uut.text;
}

} // namespace

TEST_CASE("vm ssh passes ssh's forwarding and tty options through, in order") {
  auto uut = parse_words({"vm", "ssh", "t1", "-L", "8080:localhost:80", "-t", "-R9000:x:90"});
  REQUIRE_MESSAGE(uut.kind == ParseOutcome::Kind::run, uut.text);
  CHECK(uut.invocation.args == Words{"t1"});
  CHECK(uut.invocation.tool_args == Words{"-L", "8080:localhost:80", "-t", "-R", "9000:x:90"});
  CHECK(uut.invocation.rest.empty());
}

TEST_CASE("ssh options may come before the VM and next to a command after --") {
  auto uut = parse_words({"vm", "ssh", "-NTL", "8080:localhost:80", "-vv", "t1", "-D", "1080",
                          "--", "ls", "-t"});
  REQUIRE_MESSAGE(uut.kind == ParseOutcome::Kind::run, uut.text);
  CHECK(uut.invocation.args == Words{"t1"});
  CHECK(uut.invocation.tool_args
        == Words{"-N", "-T", "-L", "8080:localhost:80", "-v", "-v", "-D", "1080"});
  CHECK(uut.invocation.rest == Words{"ls", "-t"}); // the command's own -t stays the command's
}

TEST_CASE("-o is ssh's unless its value is text or json") {
  auto uut = parse_words({"vm", "ssh", "t1", "-o", "ServerAliveInterval=5", "-oBatchMode=yes",
                          "-o", "json", "-o", "ConnectTimeout 3"});
  REQUIRE_MESSAGE(uut.kind == ParseOutcome::Kind::run, uut.text);
  CHECK(uut.invocation.global.output == OutputFormat::json);
  CHECK(uut.invocation.tool_args
        == Words{"-o", "ServerAliveInterval=5", "-o", "BatchMode=yes", "-o", "ConnectTimeout 3"});
}

TEST_CASE("options that would change the key, user, port or host key check are refused") {
  for (auto words : std::vector<Words>{
         {"vm", "ssh", "t1", "-o", "StrictHostKeyChecking=no"},
         {"vm", "ssh", "t1", "-o", "stricthostkeychecking no"},
         {"vm", "ssh", "t1", "-oUserKnownHostsFile=/dev/null"},
         {"vm", "ssh", "t1", "-o", "GlobalKnownHostsFile=/tmp/x"},
         {"vm", "ssh", "t1", "-o", "IdentityFile=/tmp/k"},
         {"vm", "ssh", "t1", "-o", "ProxyCommand=nc %h %p"},
         {"vm", "ssh", "t1", "-i", "/tmp/k"},
         {"vm", "ssh", "t1", "-F", "/tmp/config"},
         {"vm", "ssh", "t1", "-p", "2222"},
         {"vm", "ssh", "t1", "-l", "admin"},
         {"vm", "ssh", "t1", "-J", "jump"},
         {"vm", "cp", "-i", "/tmp/k", "a", "t1:/b"},
         {"vm", "cp", "-o", "StrictHostKeyChecking=no", "a", "t1:/b"},
       }) {
    INFO(words[2] << " " << words[3] << " " << words[4]);
    auto text = refused(words);
    CHECK(text.find("pinned host key") != std::string::npos);
  }
}

TEST_CASE("options banger does not know are refused, not guessed at") {
  CHECK(refused({"vm", "ssh", "t1", "-Z"}).find("unknown option '-Z'") != std::string::npos);
  CHECK(refused({"vm", "ssh", "t1", "-o", "Frobnicate=yes"}).find("-o Frobnicate is not passed")
        != std::string::npos);
  CHECK(refused({"vm", "ssh", "t1", "-o", "LogLevel=DEBUG"}).find("-v") != std::string::npos);
  CHECK(refused({"vm", "ssh", "t1", "-tZ"}).find("-Z (in -tZ)") != std::string::npos);
  CHECK(refused({"vm", "ssh", "t1", "-f"}).find("in the background") != std::string::npos);
  CHECK(refused({"vm", "ssh", "t1", "-L"}).find("-L needs a value") != std::string::npos);
  CHECK(refused({"vm", "ssh", "t1", "-o", "BatchMode"}).find("KEY=VALUE") != std::string::npos);
  // Forwarding is ssh's, not scp's.
  CHECK(refused({"vm", "cp", "-L", "1:x:2", "a", "t1:b"}).find("unknown option") != std::string::npos);
  // Other commands pass nothing through.
  CHECK(refused({"vm", "show", "t1", "-t"}).find("unknown option '-t'") != std::string::npos);
}

TEST_CASE("vm cp takes -r as banger's and scp's own options through") {
  auto uut = parse_words({"vm", "cp", "-r", "-p", "-l", "800", "./dir", "web1:/root/"});
  REQUIRE_MESSAGE(uut.kind == ParseOutcome::Kind::run, uut.text);
  CHECK(uut.invocation.has("--recursive"));
  CHECK(uut.invocation.args == Words{"./dir", "web1:/root/"});
  CHECK(uut.invocation.tool_args == Words{"-p", "-l", "800"});
  CHECK(parse_words({"vm", "cp", "a"}).kind == ParseOutcome::Kind::usage_error);
}

TEST_CASE("a cp operand is VM:PATH when a colon comes before any slash") {
  auto remote = parse_copy_endpoint("web1:/etc/hosts");
  CHECK(remote.vm == "web1");
  CHECK(remote.path == "/etc/hosts");
  auto home = parse_copy_endpoint("web1:");
  CHECK(home.vm == "web1");
  CHECK(home.path.empty()); // root's home, as with scp
  for (auto local : {"./a:b", "/tmp/x:y", "plain", ":odd"}) {
    INFO(local);
    CHECK(parse_copy_endpoint(local).vm.empty());
    CHECK(parse_copy_endpoint(local).path == local);
  }
  CHECK(check_copy_operands("a", "web1:/b").empty());
  CHECK(check_copy_operands("web1:/b", "a").empty());
  CHECK(check_copy_operands("a", "b").find("VM:PATH") != std::string::npos);
  CHECK(check_copy_operands("w1:/a", "w2:/b").find("only one") != std::string::npos);
}

TEST_CASE("banger's pins come before the user's options, the destination after --") {
  SshPins pins{"/h/state/ssh/id_ed25519", "/h/state/ssh/known_hosts", ""};
  auto argv = ssh_command(pins, {"-o", "ServerAliveInterval=5", "-t"}, "10.0.0.2",
                          {"ls", "-l"});
  auto at = [&](const std::string& word) {
    return std::find(argv.begin(), argv.end(), word) - argv.begin();
  };
  CHECK(argv.front() == "ssh");
  CHECK(at("StrictHostKeyChecking=accept-new") < at("ServerAliveInterval=5"));
  CHECK(at("UserKnownHostsFile=/h/state/ssh/known_hosts") < at("-t"));
  CHECK(at("-i") < at("-t"));
  CHECK(at("-t") < at("--"));
  CHECK(at("--") + 1 == at("root@10.0.0.2"));
  CHECK(Words(argv.end() - 2, argv.end()) == Words{"ls", "-l"});

  auto scp = scp_command(pins, true, true, {"-p"}, "./f", "root@10.0.0.2:/tmp/f");
  CHECK(scp.front() == "scp");
  CHECK(std::find(scp.begin(), scp.end(), "-O") < std::find(scp.begin(), scp.end(), "--"));
  CHECK(Words(scp.end() - 3, scp.end()) == Words{"--", "./f", "root@10.0.0.2:/tmp/f"});
  auto sftp = scp_command(pins, false, false, {}, "a", "b");
  CHECK(std::find(sftp.begin(), sftp.end(), "-O") == sftp.end());
  CHECK(std::find(sftp.begin(), sftp.end(), "-r") == sftp.end());
}

TEST_CASE("a guest of another cluster host is pinned under its VM id, before the user's options") {
  SshPins pins{"/h/state/ssh/id_ed25519", "/h/state/ssh/known_hosts", "0123456789abcdef"};
  auto argv = ssh_command(pins, {"-v"}, "172.31.3.2", {});
  auto alias = std::find(argv.begin(), argv.end(), "HostKeyAlias=0123456789abcdef");
  REQUIRE(alias != argv.end());
  CHECK(*(alias - 1) == "-o");
  CHECK(alias < std::find(argv.begin(), argv.end(), "-v"));
  SshPins local{"/h/state/ssh/id_ed25519", "/h/state/ssh/known_hosts", ""};
  for (auto& word : pinned_options(local))
    CHECK(word.find("HostKeyAlias") == std::string::npos);
}

TEST_CASE("a refused ssh option exits 2 before anything is contacted") {
  // No installation at this home: a usage error never gets that far.
  auto r = run_banger({"--home", "/nonexistent-banger-home", "vm", "ssh", "t1", "-o",
                       "StrictHostKeyChecking=no"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("pinned host key") != std::string::npos);
  auto cp = run_banger({"--home", "/nonexistent-banger-home", "vm", "cp", "a", "b"});
  CHECK(cp.exit_code == 2);
  CHECK(cp.err.find("VM:PATH") != std::string::npos);
}

TEST_CASE("vm ssh and vm cp help lists what passes through") {
  auto help = parse_words({"vm", "ssh", "--help"}).text;
  CHECK(help.find("-L X") != std::string::npos);
  CHECK(help.find("serveraliveinterval") != std::string::npos);
  CHECK(help.find("refused") != std::string::npos);
  CHECK(parse_words({"vm", "cp", "--help"}).text.find("SFTP") != std::string::npos);
}
