// The QMP data of a save and a restore against a real QEMU (7.2 here): the
// reactor hands QEMU the state file's descriptor with the exchange, the
// exchange ends with the migration, a fresh QEMU started as the helper
// starts one for a restore (-S -incoming defer) loads the file, and a file that does not fit makes QEMU say why.
// No guest kernel: microvm's firmware alone is a machine with state. Skipped
// without qemu-system-x86_64.
#include "actors/qemu_driver.hpp"
#include "actors/reactor.hpp"
#include "tests/support/process.hpp"

#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>

using namespace banger;
using namespace banger::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

const char* const qemu_bin = "/usr/bin/qemu-system-x86_64";

/// A QEMU microvm (the helper's machine options, no devices) with QMP on
/// `dir`/<name>.qmp and its stderr in `dir`/<name>.err.
struct Qemu {
  fs::path qmp;
  fs::path err;
  Child child;

  static Qemu start(const fs::path& dir, const std::string& name, int memory_mib,
                    bool incoming) {
    auto qmp = dir / (name + ".qmp");
    auto err = dir / (name + ".err");
    std::vector<std::string> argv = {qemu_bin, "-M", "microvm,x-option-roms=off,rtc=on",
                                      "-nodefaults", "-no-user-config", "-nographic",
                                      "-accel", "tcg", "-m", std::to_string(memory_mib),
                                      "-qmp", "unix:" + qmp.string() + ",server=on,wait=off"};
    if (incoming) {
      argv.push_back("-S");
      argv.push_back("-incoming");
      argv.push_back("defer");
    }
    Qemu q{qmp, err, Child::spawn(argv, {}, err.string())};
    REQUIRE_MESSAGE(eventually([&] { return fs::exists(qmp) || !q.child.running(); }, 20s),
                    "no QMP socket");
    return q;
  }

  std::string stderr_text() const {
    std::ifstream in(err);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
};

struct Answer {
  Result<std::vector<std::string>> returns = std::vector<std::string>{};
  std::string migration;
};

/// One exchange as vmm_io makes it: the file (if any) goes with the request.
Answer ask(Reactor& reactor, const fs::path& qmp, const std::vector<std::string>& commands,
           int pass_fd = -1, bool until_migration_ends = false) {
  std::promise<Result<std::string>> raw;
  auto count = commands.size();
  reactor.exchange(
    qmp.string(), qemu::qmp_request(commands),
    [count, until_migration_ends](const std::string& data, bool, std::string& error) {
      return until_migration_ends ? qemu::qmp_complete_migration(data, count, error)
                                  : qemu::qmp_complete(data, count, error);
    },
    30s, [&](Result<std::string> r) { raw.set_value(std::move(r)); }, pass_fd);
  auto got = raw.get_future().get();
  if (!got)
    return Answer{got.error(), ""};
  return Answer{qemu::qmp_returns(*got, commands), qemu::migration_end(*got)};
}

std::string status_of(Reactor& reactor, const fs::path& qmp) {
  auto a = ask(reactor, qmp, {qemu::query_status});
  REQUIRE_MESSAGE(a.returns.ok(), (a.returns.ok() ? "" : a.returns.error().message));
  auto state = qemu::run_state(a.returns->front());
  REQUIRE(state.ok());
  return *state;
}

/// Saves the running machine `q` to `file`.
void save(Reactor& reactor, const Qemu& q, const fs::path& file) {
  auto fd = qemu::open_stream_file(file.string(), true);
  REQUIRE(fd.ok());
  auto saved = ask(reactor, q.qmp, qemu::save_commands(), *fd, true);
  REQUIRE_MESSAGE(saved.returns.ok(), (saved.returns.ok() ? "" : saved.returns.error().message));
  REQUIRE(saved.migration == "completed");
}

} // namespace

TEST_CASE("a saved machine loads into a fresh QEMU waiting for it and runs on") {
  if (::access(qemu_bin, X_OK) != 0)
    BANGER_SKIP("needs qemu-system-x86_64");
  TempDir dir("banger-qemu-migration");
  Reactor reactor;
  auto file = fs::path(dir.path()) / "state.partial";

  auto source = Qemu::start(dir.path(), "source", 32, false);
  REQUIRE(status_of(reactor, source.qmp) == "running");
  save(reactor, source, file);
  // Every byte is in the file once the stream is completed; QEMU wrote it
  // through the descriptor, with the mode it was created with.
  CHECK(fs::file_size(file) > 4096);
  struct stat st {};
  REQUIRE(::stat(file.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);
  // "finish-migrate" for a moment after the event, until QEMU's migration
  // thread takes the big lock.
  CHECK(eventually([&] { return status_of(reactor, source.qmp) != "finish-migrate"; }, 5s));
  CHECK(status_of(reactor, source.qmp) == "postmigrate");
  // The saved machine itself can run on (a snapshot of a running VM).
  CHECK(ask(reactor, source.qmp, {qemu::cont}).returns.ok());
  CHECK(status_of(reactor, source.qmp) == "running");

  auto target = Qemu::start(dir.path(), "target", 32, true);
  REQUIRE(status_of(reactor, target.qmp) == "inmigrate");
  auto fd = qemu::open_stream_file(file.string(), false);
  REQUIRE(fd.ok());
  auto loaded = ask(reactor, target.qmp, qemu::load_commands(), *fd, true);
  REQUIRE_MESSAGE(loaded.returns.ok(), (loaded.returns.ok() ? "" : loaded.returns.error().message));
  CHECK(loaded.migration == "completed");
  // Paused (-S) until cont.
  CHECK(status_of(reactor, target.qmp) == "paused");
  CHECK(ask(reactor, target.qmp, {qemu::cont}).returns.ok());
  CHECK(status_of(reactor, target.qmp) == "running");
}

TEST_CASE("a state that does not fit the machine or is no stream makes QEMU exit saying why") {
  if (::access(qemu_bin, X_OK) != 0)
    BANGER_SKIP("needs qemu-system-x86_64");
  TempDir dir("banger-qemu-migration");
  Reactor reactor;
  auto file = fs::path(dir.path()) / "state";
  {
    auto source = Qemu::start(dir.path(), "source", 32, false);
    save(reactor, source, file);
  }
  auto garbage = fs::path(dir.path()) / "garbage";
  std::ofstream(garbage) << std::string(4096, 'x');

  struct Case {
    fs::path file;
    int memory_mib;
    std::string says;
  };
  for (const auto& c : {Case{file, 64, "Size mismatch"}, Case{garbage, 32, "Not a migration stream"}}) {
    CAPTURE(c.says);
    auto target = Qemu::start(dir.path(), "target-" + std::to_string(c.memory_mib), c.memory_mib,
                              true);
    auto fd = qemu::open_stream_file(c.file.string(), false);
    REQUIRE(fd.ok());
    auto loaded = ask(reactor, target.qmp, qemu::load_commands(), *fd, true);
    // QEMU exits mid-exchange (a reset socket) or first reports "failed".
    CHECK((!loaded.returns.ok() || loaded.migration == "failed"));
    // A bound, not a timing: under load QEMU takes seconds to give up.
    CHECK(target.child.wait(60s).has_value());
    CHECK(target.stderr_text().find(c.says) != std::string::npos);
  }
}

TEST_CASE("the state file is never reached through a symlink and is emptied for a new save") {
  TempDir dir("banger-qemu-migration");
  auto target = fs::path(dir.path()) / "elsewhere";
  std::ofstream(target) << "keep me";
  auto link = fs::path(dir.path()) / "state.partial";
  fs::create_symlink(target, link);
  for (bool writing : {true, false}) {
    auto fd = qemu::open_stream_file(link.string(), writing);
    CHECK_FALSE(fd.ok());
  }
  CHECK(fs::file_size(target) == 7);

  auto missing = qemu::open_stream_file((fs::path(dir.path()) / "none").string(), false);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code == Errc::not_found);

  auto left = fs::path(dir.path()) / "left.partial";
  std::ofstream(left) << "a half-written earlier attempt";
  auto fd = qemu::open_stream_file(left.string(), true);
  REQUIRE(fd.ok());
  ::close(*fd);
  CHECK(fs::file_size(left) == 0);
}
