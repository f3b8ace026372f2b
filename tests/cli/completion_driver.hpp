// Runs banger's bash completion as bash runs it: the script from the real
// `banger completion bash`, COMP_WORDS = banger + the words, the cursor on
// the last word, _banger called, COMPREPLY returned one word per line.
#pragma once

#include "tests/cli/cli_run.hpp"
#include "tests/support/process.hpp"

#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace banger::test {

inline bool have_bash() {
  return run({"bash", "-c", "true"}).exit_code == 0;
}

struct CompletionResult {
  int exit_code = -1;
  std::vector<std::string> reply;
  std::string err;
};

class Completer {
public:
  Completer() {
    auto script = run_banger({"completion", "bash"});
    REQUIRE_MESSAGE(script.exit_code == 0, script.err);
    std::ofstream(path_) << script.out;
  }

  /// Completes the last of `words` (may be "") after `banger`.
  CompletionResult operator()(const std::vector<std::string>& words) const {
    std::vector<std::string> argv{
      "bash", "--norc", "--noprofile", "-c",
      "source \"$1\"; shift; COMP_WORDS=(\"$@\"); COMP_CWORD=$(($# - 1)); _banger;"
      " rc=$?; for w in \"${COMPREPLY[@]}\"; do printf '%s\\n' \"$w\"; done; exit $rc",
      "completion-driver", path_, BANGER_BIN};
    argv.insert(argv.end(), words.begin(), words.end());
    auto r = run(argv);
    CompletionResult out{r.exit_code, {}, r.err};
    std::istringstream lines(r.out);
    for (std::string line; std::getline(lines, line);)
      out.reply.push_back(line);
    return out;
  }

private:
  TempDir dir_{"banger-completion"};
  std::string path_ = dir_.path() + "/banger.bash";
};

} // namespace banger::test
