#include "messages/log.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <sstream>

using namespace banger;
using nlohmann::json;

namespace {

std::vector<json> parse_lines(const std::string& text) {
  std::vector<json> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    out.push_back(json::parse(line));
  return out;
}

} // namespace

TEST_CASE("a log line is one JSON object with ts, level, proc, msg and attributes") {
  std::ostringstream out;
  log::init_stream("bangerd", out);
  log::info("vm started", {{"op_id", "op-0123456789ab"}, {"vm_id", "aabb"},
                           {"pid", 42}, {"adopted", true},
                           {"duration_ms", log::Millis{12345}}});
  auto lines = parse_lines(out.str());
  REQUIRE(lines.size() == 1);
  auto& uut = lines[0];
  CHECK(uut["level"] == "info");
  CHECK(uut["proc"] == "bangerd");
  CHECK(uut["msg"] == "vm started");
  CHECK(uut["op_id"] == "op-0123456789ab");
  CHECK(uut["pid"] == 42);
  CHECK(uut["adopted"] == true);
  CHECK(uut["duration_ms"].get<double>() == doctest::Approx(12.345));
  std::string ts = uut["ts"];
  // 2026-11-26T10:59:10.123456Z
  CHECK(ts.size() == 27);
  CHECK(ts[10] == 'T');
  CHECK(ts[19] == '.');
  CHECK(ts.back() == 'Z');
}

TEST_CASE("a subsystem's logger names the subsystem in the sub field, plain lines have none") {
  std::ostringstream out;
  log::init_stream("bangerd", out);
  const log::Logger uut{"registry"};
  uut.warn("leftover tap", {{"tap", "tap-fc-1"}});
  log::info("plain");
  auto lines = parse_lines(out.str());
  REQUIRE(lines.size() == 2);
  CHECK(lines[0]["sub"] == "registry");
  CHECK(lines[0]["level"] == "warn");
  CHECK(lines[0]["proc"] == "bangerd");
  CHECK(lines[0]["tap"] == "tap-fc-1");
  CHECK_FALSE(lines[1].contains("sub"));
}

TEST_CASE("hostile strings stay valid JSON and keep their text") {
  std::ostringstream out;
  log::init_stream("bangerd", out);
  std::string hostile = "quote\" backslash\\ newline\n tab\t nul";
  hostile.push_back('\0');
  hostile += " bell\x07 del\x7f \"},\"level\":\"error\" utf8 é ✓ 😀";
  std::string invalid_utf8 = "bad\xff\xfe lone\xc3 overlong\xc0\xaf surrogate\xed\xa0\x80 end";
  log::warn(hostile, {{"name", hostile}, {"raw", invalid_utf8}});
  auto lines = parse_lines(out.str());
  REQUIRE(lines.size() == 1);
  auto& uut = lines[0];
  CHECK(uut["level"] == "warn"); // the injected "level" did not take over
  CHECK(uut["msg"].get<std::string>() == hostile);
  CHECK(uut["name"].get<std::string>() == hostile);
  CHECK(uut["raw"].get<std::string>()
        == "bad\uFFFD\uFFFD lone\uFFFD overlong\uFFFD\uFFFD surrogate\uFFFD\uFFFD\uFFFD end");
}

TEST_CASE("timestamps are RFC 3339 UTC with microseconds") {
  CHECK(log::rfc3339_us(0) == "1970-01-01T00:00:00.000000Z");
  CHECK(log::rfc3339_us(1'764'154'750'123'456) == "2025-11-26T10:59:10.123456Z");
}

TEST_CASE("lines below the minimum level are dropped") {
  std::ostringstream out;
  log::init_stream("bangerd", out, log::Level::info);
  log::debug("noise");
  log::error("signal");
  auto lines = parse_lines(out.str());
  REQUIRE(lines.size() == 1);
  CHECK(lines[0]["msg"] == "signal");
}
