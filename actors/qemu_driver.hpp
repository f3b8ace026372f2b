// What banger says to QEMU's QMP socket, as data: the command lines sent over
// one connection and how the answer is read. The VM actor sends these through
// vmm_io (one connection per exchange: QEMU's QMP server takes one client at
// a time and a fresh connection needs no state across operations).
//
// A guest's state goes to and comes from a file as a migration stream whose
// descriptor travels with the exchange (SCM_RIGHTS, taken by `getfd`), so
// QEMU never opens a path and no shell runs: QEMU 7.2 has no `file:` URI, and
// with `exec:cat > FILE` it reports "completed" before cat has drained the
// pipe, then SIGTERMs cat if it has not exited yet, which can cut the file
// short. With the descriptor QEMU writes the file itself: when the stream
// is "completed" every byte is in it.
#pragma once

#include "messages/result.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace banger::qemu {

inline constexpr std::chrono::milliseconds qmp_timeout{10000};

/// The bytes to send: capabilities negotiation, then each command, one JSON
/// object per line.
std::string qmp_request(const std::vector<std::string>& commands);

/// True once `received` holds the greeting and an answer ("return" or
/// "error") for negotiation plus each of `commands` commands; asynchronous
/// events in between are skipped. Sets `error` on malformed input.
bool qmp_complete(const std::string& received, std::size_t commands, std::string& error);

/// The same, and then also waits for a MIGRATION event with a final status
/// (migration_end); a refused command completes it at once (nothing runs).
/// Events and answers come in any order: QEMU sends the migration's first
/// events before the answer to `migrate`.
bool qmp_complete_migration(const std::string& received, std::size_t commands,
                            std::string& error);

/// The final status among the MIGRATION events in `received`: "completed",
/// "failed" or "cancelled"; "" while the migration runs (or never started).
std::string migration_end(const std::string& received);

/// Each command's "return" value as JSON text, or vmm_failed naming the
/// first command QEMU refused and its error description.
Result<std::vector<std::string>> qmp_returns(const std::string& received,
                                             const std::vector<std::string>& commands);

inline const std::string query_status = R"({"execute":"query-status"})";
inline const std::string system_powerdown = R"({"execute":"system_powerdown"})";

inline const std::string stop = R"({"execute":"stop"})";
inline const std::string cont = R"({"execute":"cont"})";
inline const std::string query_migrate = R"({"execute":"query-migrate"})";
inline const std::string migrate_cancel = R"({"execute":"migrate_cancel"})";

/// The name the state file's descriptor gets in QEMU (getfd); the stream's
/// URI is "fd:" + this name.
inline const std::string state_fd = "banger-state";

/// No rate limit a file could reach (bytes/s). QEMU 7.2 caps a migration at
/// 128 MiB/s by default: a 256 MiB guest took 510 ms to save instead of 104.
inline constexpr std::int64_t file_bandwidth = 100LL << 30;

/// Saving a guest (the file comes with the exchange): `stop` (already paused:
/// nothing changes; the stream must not race a running guest), the file's
/// descriptor, MIGRATION events on (the exchange ends on the final one),
/// no bandwidth cap, `migrate` to the descriptor. QEMU stays in
/// "postmigrate" (paused; `cont` lets the guest run on).
std::vector<std::string> save_commands();

/// Loading a saved guest into a QEMU started with `-incoming defer`: the
/// file's descriptor, MIGRATION events on, `migrate-incoming` from it. The
/// guest is "paused" once the stream is "completed" (it was paused when
/// saved); a stream QEMU cannot load makes QEMU print why and exit.
std::vector<std::string> load_commands();

/// Opens the file a migration stream goes to (`for_writing`: created or
/// emptied, mode 0600) or comes from, for the exchange to hand QEMU. A
/// symlink in its place is refused (the path is the VM's own file). One
/// quick syscall; QEMU does the reading and writing.
Result<int> open_stream_file(const std::string& path, bool for_writing);

/// How long a save or load of a guest with `memory_mib` may take: the
/// stream is at most the guest's memory (zero pages take a few bytes).
/// Measured here: 74 MB for an idle 256 MiB guest in 45-110 ms, 593 MB for
/// a 1 GiB guest with 480 MiB in use in 540 ms; the bound allows 20 MiB/s
/// on a loaded host, plus ten seconds.
std::chrono::milliseconds migration_timeout(std::uint32_t memory_mib);

/// The "status" field of a query-status return ("running", "paused", ...).
Result<std::string> run_state(const std::string& query_status_return);

/// query-migrate's return: the status and QEMU's reason when it failed.
struct Migration {
  std::string status;     ///< "completed", "failed", "active", ... ("none": never ran)
  std::string error_desc; ///< set by QEMU with "failed"
};
Result<Migration> migration(const std::string& query_migrate_return);

} // namespace banger::qemu
