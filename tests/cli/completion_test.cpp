// `banger completion bash` driven through a real bash, the way bash calls a
// completion function: COMP_WORDS and COMP_CWORD set, _banger run, COMPREPLY
// read back. Every command and option of the command table must come out of
// it, and names must fail quietly when no daemon answers.
#include "tests/cli/completion_driver.hpp"
#include "tests/support/process.hpp"
#include "tests/support/skip.hpp"
#include "tools/cli/args.hpp"
#include "tools/cli/completion.hpp"

#include <doctest/doctest.h>

#include <algorithm>

using namespace banger;
using namespace banger::cli;

namespace {

bool has(const std::vector<std::string>& words, const std::string& word) {
  return std::find(words.begin(), words.end(), word) != words.end();
}

std::vector<std::string> split(const std::string& name) {
  std::vector<std::string> out;
  for (std::size_t pos = 0, next; pos != std::string::npos; pos = next) {
    next = name.find(' ', pos);
    out.push_back(name.substr(pos, next == std::string::npos ? next : next - pos));
    if (next != std::string::npos)
      ++next;
  }
  return out;
}

} // namespace

TEST_CASE("completion offers every command and every option of the command table") {
  if (!test::have_bash())
    BANGER_SKIP("bash is not installed");
  test::Completer complete;
  for (const auto& spec : command_table()) {
    CAPTURE(spec.name);
    auto words = split(spec.name);
    // Each word of the command is offered after the words before it.
    for (std::size_t i = 0; i < words.size(); ++i) {
      std::vector<std::string> line(words.begin(), words.begin() + static_cast<long>(i));
      line.push_back("");
      CHECK(has(complete(line).reply, words[i]));
    }
    auto line = words;
    line.push_back("-");
    auto options = complete(line).reply;
    for (const auto& o : spec.options) {
      CHECK(has(options, o.name));
      if (!o.short_name.empty())
        CHECK(has(options, o.short_name));
    }
    for (const auto& g : global_options())
      CHECK(has(options, g.name));
    CHECK(has(options, "--help"));
  }
}

TEST_CASE("option values complete to their choices and the signals vm kill accepts") {
  if (!test::have_bash())
    BANGER_SKIP("bash is not installed");
  test::Completer complete;
  auto vmm = complete({"init", "--vmm", ""}).reply;
  CHECK(has(vmm, "firecracker"));
  CHECK(has(vmm, "qemu"));
  CHECK(complete({"vm", "kill", "--signal", "K"}).reply == std::vector<std::string>{"KILL"});
  CHECK(complete({"-o", "j"}).reply == std::vector<std::string>{"json"});
  // A value already given is skipped: the next word is a subcommand again.
  CHECK(has(complete({"--timeout", "5s", "vm", ""}).reply, "create"));
  CHECK(has(complete({"vm", "create", "--cpus", "2", "--"}).reply, "--wait"));
}

TEST_CASE("cluster ca's DIR completes to directories and vm create --host to the cluster's hosts") {
  CHECK(argument_completion(*find_command("cluster ca")).kind == Completion::Kind::dirs);
  const auto& create = *find_command("vm create");
  auto host = std::find_if(create.options.begin(), create.options.end(),
                           [](const OptionSpec& o) { return o.name == "--host"; });
  REQUIRE(host != create.options.end());
  CHECK(completion_of(*host).kind == Completion::Kind::hosts);
  CHECK(bash_completion().find("cluster status -o json") != std::string::npos);
}

TEST_CASE("VM and image names and host ids complete to nothing, silently, when no daemon answers") {
  if (!test::have_bash())
    BANGER_SKIP("bash is not installed");
  test::TempDir home;
  test::Completer complete;
  for (auto line : std::vector<std::vector<std::string>>{
         {"--home", home.path(), "vm", "show", ""},
         {"--home", home.path(), "vm", "create", "--image", ""},
         {"--home", home.path(), "vm", "create", "--host", ""},
         {"--home", home.path(), "--daemon", "127.0.0.1:1", "image", "rm", ""}}) {
    auto r = complete(line);
    CAPTURE(r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.reply.empty());
    CHECK(r.err.empty());
  }
}
