// The main of every test binary: doctest's, plus the tally of skipped test
// cases (see skip.hpp). doctest 2.4 can only skip a case before it runs (the
// skip decorator); a case that finds out at run time that it cannot run
// records it here instead, and the run's result says so.
#define DOCTEST_CONFIG_IMPLEMENT
#include "tests/support/skip.hpp"

#include <doctest/doctest.h>

#include <iostream>
#include <map>
#include <set>
#include <string>

#include <unistd.h>

namespace {

struct Tally {
  std::string current;
  std::set<std::string> started;
  std::map<std::string, std::string> skipped; ///< test case -> why
};

Tally& tally() {
  static Tally t;
  return t;
}

/// Knows which test case is running, so skip() can name it.
struct SkipListener : doctest::IReporter {
  explicit SkipListener(const doctest::ContextOptions&) {}
  void report_query(const doctest::QueryData&) override {}
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats&) override {}
  void test_case_start(const doctest::TestCaseData& tc) override {
    tally().current = tc.m_name;
    tally().started.insert(tc.m_name);
  }
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_end(const doctest::CurrentTestCaseStats&) override {}
  void test_case_exception(const doctest::TestCaseException&) override {}
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData&) override {}
  void log_message(const doctest::MessageData&) override {}
  void test_case_skipped(const doctest::TestCaseData&) override {}
};

REGISTER_LISTENER("banger-skips", 1, SkipListener);

} // namespace

bool banger::test::is_root() {
  return ::geteuid() == 0;
}

void banger::test::skip(const std::string& reason) {
  tally().skipped.emplace(tally().current, reason);
}

int main(int argc, char** argv) {
  doctest::Context context(argc, argv);
  int failed = context.run();
  if (context.shouldExit())
    return failed;
  const auto& t = tally();
  if (!t.skipped.empty()) {
    std::cout << "[banger] skipped " << t.skipped.size() << " of " << t.started.size()
              << " test cases:\n";
    for (const auto& [name, why] : t.skipped)
      std::cout << "[banger]   " << name << " (" << why << ")\n";
  }
  if (failed != 0)
    return failed;
  if (!t.started.empty() && t.skipped.size() == t.started.size())
    return banger::test::skip_exit_code;
  return 0;
}
