// The QMP reader (actors/qemu_driver.hpp): the first byte says how many
// commands banger sent (0-3), the rest is what the QMP socket answered
// (answers, and events such as MIGRATION for a save or a load).
#include "actors/qemu_driver.hpp"
#include "tests/fuzz/fuzz_check.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace qemu = banger::qemu;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0)
    return 0;
  const std::size_t count = data[0] % 4;
  const std::string received(banger::fuzz::as_text(data + 1, size - 1));
  const std::vector<std::string> sent{qemu::query_status, qemu::system_powerdown,
                                      qemu::query_status};
  const std::vector<std::string> commands(sent.begin(), sent.begin() + static_cast<long>(count));

  std::string error;
  bool complete = qemu::qmp_complete(received, count, error);
  FUZZ_CHECK(!(complete && !error.empty()));
  auto returns = qemu::qmp_returns(received, commands);
  if (returns) {
    // One return per command, each valid JSON text.
    FUZZ_CHECK(complete);
    FUZZ_CHECK(returns->size() == count);
    for (const auto& value : *returns) {
      FUZZ_CHECK(!nlohmann::json::parse(value, nullptr, false).is_discarded());
      auto state = qemu::run_state(value);
      if (state)
        FUZZ_CHECK(!state->empty() || value.find("\"status\":\"\"") != std::string::npos);
    }
  } else {
    FUZZ_CHECK(returns.error().code == banger::Errc::vmm_failed);
    FUZZ_CHECK(!returns.error().message.empty());
    // A complete answer can only fail because QEMU refused something.
    if (complete)
      FUZZ_CHECK(returns.error().message.find("closed before") == std::string::npos);
  }
  // Completion only ever waits for more lines: once complete, it stays so when
  // a partial line follows.
  if (complete) {
    std::string more_error;
    FUZZ_CHECK(qemu::qmp_complete(received + "{\"par", count, more_error));
  }
  // A save or load exchange ends only once plainly complete too, and then
  // on a final MIGRATION status unless QEMU refused a command.
  std::string migration_error;
  bool migrated = qemu::qmp_complete_migration(received, count, migration_error);
  auto end = qemu::migration_end(received);
  FUZZ_CHECK(end.empty() || end == "completed" || end == "failed" || end == "cancelled");
  if (migrated) {
    FUZZ_CHECK(complete);
    FUZZ_CHECK(!end.empty() || !returns);
  }
  (void)qemu::run_state(received);
  (void)qemu::migration(received);
  return 0;
}
