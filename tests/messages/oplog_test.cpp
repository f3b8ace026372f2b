#include "messages/oplog.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <sstream>

using namespace banger;
using nlohmann::json;

namespace {

const log::Logger test_log{"vm"};

std::vector<json> lines_of(const std::ostringstream& out) {
  std::vector<json> lines;
  std::istringstream in(out.str());
  std::string line;
  while (std::getline(in, line))
    lines.push_back(json::parse(line));
  return lines;
}

} // namespace

TEST_CASE("an operation logs each stage and exactly one completed line") {
  std::ostringstream out;
  log::init_stream("bangerd", out);
  {
    auto uut = OpLog::begin(test_log, "vm.start", "op-0123456789ab", {{"vm_name", "web"}});
    uut.stage("create_tap");
    uut.add({"vm_id", "aabbccddeeff0011"});
    uut.stage("spawn_vmm", {{"pid", 7}});
    uut.done();
    uut.fail(Errc::internal, "too late"); // ignored: already finished
  }
  auto lines = lines_of(out);
  REQUIRE(lines.size() == 4);
  for (auto& line : lines) {
    CHECK(line["op_id"] == "op-0123456789ab");
    CHECK(line["op"] == "vm.start");
    CHECK(line["vm_name"] == "web");
  }
  CHECK(lines[0]["msg"] == "operation started");
  CHECK(lines[1]["stage"] == "create_tap");
  CHECK(lines[2]["stage"] == "spawn_vmm");
  CHECK(lines[2]["pid"] == 7);
  CHECK(lines[2]["vm_id"] == "aabbccddeeff0011");
  CHECK(lines[3]["msg"] == "operation completed");
  CHECK(lines[3]["duration_ms"].is_number());
}

TEST_CASE("a failed operation logs one failed line with the error and stage") {
  std::ostringstream out;
  log::init_stream("bangerd", out);
  {
    auto uut = OpLog::begin(test_log, "vm.start", "op-0123456789ab");
    uut.stage("configure_vmm");
    uut.fail(Error{Errc::vmm_failed, "fault: bad kernel"});
  }
  auto lines = lines_of(out);
  REQUIRE(lines.size() == 3);
  CHECK(lines[2]["msg"] == "operation failed");
  CHECK(lines[2]["level"] == "error");
  CHECK(lines[2]["error"] == "fault: bad kernel");
  CHECK(lines[2]["error_code"] == "vmm_failed");
  CHECK(lines[2]["stage"] == "configure_vmm");
  CHECK(lines[2]["duration_ms"].is_number());
}

TEST_CASE("an operation dropped without an outcome counts as failed") {
  std::ostringstream out;
  log::init_stream("bangerd", out);
  { auto uut = OpLog::begin(test_log, "vm.stop", "op-0123456789ab"); }
  auto lines = lines_of(out);
  REQUIRE(lines.size() == 2);
  CHECK(lines[1]["msg"] == "operation failed");
  CHECK(lines[1]["error"] == "abandoned without an outcome");
}

TEST_CASE("a moved-from operation log does not log twice") {
  std::ostringstream out;
  log::init_stream("bangerd", out);
  {
    auto first = OpLog::begin(test_log, "vm.stop", "op-0123456789ab");
    auto second = std::move(first);
    second.done();
  }
  auto lines = lines_of(out);
  REQUIRE(lines.size() == 2);
  CHECK(lines[1]["msg"] == "operation completed");
}

TEST_CASE("every line of an operation names the subsystem that runs it") {
  std::ostringstream out;
  log::init_stream("banger-helper", out);
  const log::Logger helper_log{"helper"};
  {
    auto uut = OpLog::begin(helper_log, "tap.create", "op-0123456789ab");
    uut.stage("ioctl");
    uut.fail(Errc::internal, "no such device");
  }
  {
    auto uut = OpLog::begin(test_log, "vm.stop", "op-0123456789ac");
    uut.done();
  }
  auto lines = lines_of(out);
  REQUIRE(lines.size() == 5);
  for (int i = 0; i < 3; ++i)
    CHECK(lines[i]["sub"] == "helper");
  for (int i = 3; i < 5; ++i)
    CHECK(lines[i]["sub"] == "vm");
}
