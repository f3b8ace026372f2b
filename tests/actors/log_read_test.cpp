// `vm logs` through the daemon: a bounded read of the VM's log that a
// follower repeats with each chunk's next_offset, and the check that keeps
// a peer's answer within what was asked for.
#include "actors/log_read.hpp"
#include "tests/support/process.hpp"

#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

using namespace banger;

namespace {

VmLogReadRequest read_from(std::uint64_t offset, std::uint32_t max_bytes = 0) {
  return VmLogReadRequest{Envelope{}, "vm", offset, max_bytes};
}

} // namespace

TEST_CASE("a log that does not exist yet is an empty chunk, not an error") {
  test::TempDir dir;
  auto uut = read_log_chunk(dir.path() + "/vmm.log", 0, 0);
  REQUIRE(uut.ok());
  CHECK_FALSE(uut->exists);
  CHECK(uut->data.empty());
  CHECK(check_log_chunk(*uut, read_from(0)).ok());
}

TEST_CASE("a follower reads on from next_offset, in chunks of at most max_bytes") {
  test::TempDir dir;
  auto path = dir.path() + "/vmm.log";
  std::ofstream(path) << "boot line 1\nboot line 2\n";
  auto first = read_log_chunk(path, 0, 10);
  REQUIRE(first.ok());
  CHECK(first->exists);
  CHECK(first->data == "boot line ");
  CHECK(first->next_offset == 10);
  CHECK(first->size == 24);
  CHECK(check_log_chunk(*first, read_from(0, 10)).ok());
  auto rest = read_log_chunk(path, first->next_offset, 0);
  REQUIRE(rest.ok());
  CHECK(rest->data == "1\nboot line 2\n");
  CHECK(rest->next_offset == 24);
  std::ofstream(path, std::ios::app) << "login:\n";
  auto more = read_log_chunk(path, rest->next_offset, 0);
  REQUIRE(more.ok());
  CHECK(more->data == "login:\n");
}

TEST_CASE("a log truncated below the follower's offset is read again from its start") {
  test::TempDir dir;
  auto path = dir.path() + "/vmm.log";
  std::ofstream(path) << std::string(100, 'x');
  std::ofstream(path, std::ios::trunc) << "after\n";
  auto uut = read_log_chunk(path, 100, 0);
  REQUIRE(uut.ok());
  CHECK(uut->offset == 0);
  CHECK(uut->data == "after\n");
  CHECK(uut->next_offset == 6);
  CHECK(check_log_chunk(*uut, read_from(100)).ok());
}

TEST_CASE("one read returns at most 256 KiB however much is asked for") {
  test::TempDir dir;
  auto path = dir.path() + "/vmm.log";
  std::ofstream(path) << std::string(max_log_chunk + 1000, 'c');
  auto uut = read_log_chunk(path, 0, 0);
  REQUIRE(uut.ok());
  CHECK(uut->data.size() == max_log_chunk);
  CHECK(uut->next_offset < uut->size);
}

TEST_CASE("a symlink or a FIFO in the log's place is refused, not followed or waited on") {
  test::TempDir dir;
  auto secret = dir.path() + "/secret";
  std::ofstream(secret) << "not the log";
  std::filesystem::create_symlink(secret, dir.path() + "/vmm.log");
  CHECK(read_log_chunk(dir.path() + "/vmm.log", 0, 0).error().code == Errc::system);
  REQUIRE(::mkfifo((dir.path() + "/fifo.log").c_str(), 0600) == 0);
  CHECK(read_log_chunk(dir.path() + "/fifo.log", 0, 0).error().code == Errc::system);
}

TEST_CASE("a peer's chunk with more data than asked for, or offsets that do not add up, is refused") {
  VmLogChunk honest{"abc", 10, 13, 20, true};
  CHECK(check_log_chunk(honest, read_from(10, 3)).ok());
  auto too_big = honest;
  too_big.data = std::string(4, 'a');
  too_big.next_offset = 14;
  CHECK_FALSE(check_log_chunk(too_big, read_from(10, 3)).ok());
  CHECK_FALSE(check_log_chunk(VmLogChunk{std::string(max_log_chunk + 1, 'a'), 0,
                                         max_log_chunk + 1, max_log_chunk + 1, true},
                              read_from(0))
                .ok());
  auto elsewhere = honest;
  elsewhere.offset = 5;
  elsewhere.next_offset = 8;
  CHECK_FALSE(check_log_chunk(elsewhere, read_from(10)).ok());
  auto skips = honest;
  skips.next_offset = 1'000'000;
  CHECK_FALSE(check_log_chunk(skips, read_from(10)).ok());
  // From 0 again only when the log is shorter than the offset asked for.
  VmLogChunk restart{"abc", 0, 3, 50, true};
  CHECK_FALSE(check_log_chunk(restart, read_from(10)).ok());
  VmLogChunk ghost{"abc", 0, 3, 3, false};
  CHECK_FALSE(check_log_chunk(ghost, read_from(0)).ok());
}
