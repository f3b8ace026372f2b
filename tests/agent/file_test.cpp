// Files the host writes into and reads from the guest.
#include "tests/agent/agent_host.hpp"

#include <doctest/doctest.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <random>
#include <sys/stat.h>

using namespace banger;
using banger::test::AgentHost;

namespace {

std::string random_bytes(std::size_t n) {
  std::mt19937 gen(17);
  std::string out(n, '\0');
  for (auto& c : out)
    c = static_cast<char>(gen());
  return out;
}

std::size_t entries_in(const std::string& dir) {
  std::size_t n = 0;
  for (auto& entry : std::filesystem::directory_iterator(dir))
    if (entry.path().filename() != "agent.sock" && entry.path().filename() != "agent.log")
      ++n;
  return n;
}

/// Sends a put of `data` announced as `size` bytes; returns the answer.
agent::Frame put(AgentHost& host, std::uint32_t channel, const std::string& path,
                 const std::string& data, std::uint64_t size, std::uint32_t mode = 0644) {
  host.send(agent::Type::file_put, channel, agent::FilePut{"op", path, mode, size});
  for (std::size_t at = 0; at < data.size(); at += agent::max_payload)
    host.send(agent::Frame{agent::Type::file_data, channel, data.substr(at, agent::max_payload)});
  host.send(agent::Frame{agent::Type::file_end, channel, {}});
  auto answer = host.next_on(channel);
  REQUIRE(answer.has_value());
  return *answer;
}

} // namespace

TEST_CASE("a 3 MiB file put into the guest and read back has the same bytes") {
  AgentHost uut;
  uut.accept();
  auto data = random_bytes(3 * 1024 * 1024);
  auto path = uut.dir() + "/big.bin";
  auto answer = put(uut, 1, path, data, data.size(), 0600);
  REQUIRE(answer.type == agent::Type::ok);
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);
  CHECK(entries_in(uut.dir()) == 1); // no temporary file left behind

  uut.send(agent::Type::file_get, 2, agent::FileGet{"op", path});
  auto info = uut.next_on(2);
  REQUIRE(info.has_value());
  REQUIRE(info->type == agent::Type::file_info);
  CHECK(agent::decode_file_info(info->payload)->size == data.size());
  CHECK(agent::decode_file_info(info->payload)->mode == 0600);
  std::string got;
  for (;;) {
    auto frame = uut.next_on(2);
    REQUIRE(frame.has_value());
    if (frame->type == agent::Type::file_end)
      break;
    REQUIRE(frame->type == agent::Type::file_data);
    got += frame->payload;
    uut.send(agent::Type::window, 2,
             agent::Window{static_cast<std::uint32_t>(frame->payload.size())});
  }
  CHECK(got.size() == data.size());
  CHECK(got == data);
}

TEST_CASE("a relative path is refused for a put and for a get") {
  AgentHost uut;
  uut.accept();
  auto answer = put(uut, 1, "relative/file", "abc", 3);
  CHECK(answer.type == agent::Type::error);
  CHECK(agent::decode_error(answer.payload)->code == EINVAL);
  uut.send(agent::Type::file_get, 2, agent::FileGet{"op", "etc/passwd"});
  auto get = uut.next_on(2);
  REQUIRE(get.has_value());
  CHECK(get->type == agent::Type::error);
  CHECK(agent::decode_error(get->payload)->code == EINVAL);
}

TEST_CASE("a put whose bytes fall short of its size leaves no file") {
  AgentHost uut;
  uut.accept();
  auto path = uut.dir() + "/short";
  auto answer = put(uut, 1, path, "12345", 10);
  CHECK(answer.type == agent::Type::error);
  CHECK_FALSE(std::filesystem::exists(path));
  CHECK(entries_in(uut.dir()) == 0);
}

TEST_CASE("a put with more bytes than its size is refused and leaves no file") {
  AgentHost uut;
  uut.accept();
  auto path = uut.dir() + "/long";
  auto answer = put(uut, 1, path, "1234567890", 5);
  CHECK(answer.type == agent::Type::error);
  CHECK(agent::decode_error(answer.payload)->code == EFBIG);
  CHECK(entries_in(uut.dir()) == 0);
  // The rest of the refused transfer is dropped quietly, and the link
  // goes on.
  uut.send(agent::Type::ping, 0, agent::Ping{"after"});
  auto next = uut.next();
  REQUIRE(next.has_value());
  CHECK(next->channel == 0);
}

TEST_CASE("a put replaces an existing file only when it completes") {
  AgentHost uut;
  uut.accept();
  auto path = uut.dir() + "/config";
  std::ofstream(path) << "old";
  auto failed = put(uut, 1, path, "new", 4);
  CHECK(failed.type == agent::Type::error);
  std::string content;
  std::getline(std::ifstream(path), content);
  CHECK(content == "old");
  auto done = put(uut, 2, path, "new", 3);
  CHECK(done.type == agent::Type::ok);
  std::getline(std::ifstream(path), content);
  CHECK(content == "new");
}

TEST_CASE("a get of a missing file or of a directory is an error") {
  AgentHost uut;
  uut.accept();
  uut.send(agent::Type::file_get, 1, agent::FileGet{"op", uut.dir() + "/missing"});
  auto missing = uut.next_on(1);
  REQUIRE(missing.has_value());
  CHECK(missing->type == agent::Type::error);
  CHECK(agent::decode_error(missing->payload)->code == ENOENT);
  uut.send(agent::Type::file_get, 2, agent::FileGet{"op", uut.dir()});
  auto dir = uut.next_on(2);
  REQUIRE(dir.has_value());
  CHECK(dir->type == agent::Type::error);
  CHECK(agent::decode_error(dir->payload)->code == EISDIR);
}
