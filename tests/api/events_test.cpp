// Events end to end: GET /v1/events (Server-Sent Events, read by curl -N)
// and `banger events`, against the real daemon with fc-stub VMMs. Root
// only; skipped otherwise.
#include "tests/api/api_client.hpp"
#include "tests/cli/cli_run.hpp"
#include "tests/support/skip.hpp"

#include <doctest/doctest.h>

using namespace banger;
using namespace banger::test;
using namespace std::chrono_literals;

namespace {

std::vector<std::string> curl_stream(ApiHost& api, const std::string& path) {
  return {"/usr/bin/curl", "-sS", "-N", "--cert", api.cert(), "--key", api.key(), "--cacert", api.ca(),
          api.url(path)};
}

/// One SSE frame: its id, event and data (a JSON object).
struct Frame {
  std::string id, event;
  nlohmann::json data;
};

/// The next frame of `stream` (comment lines skipped), or nullopt at the deadline.
std::optional<Frame> next_frame(Child& stream, std::chrono::milliseconds timeout) {
  Frame frame;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
    if (left <= 0ms)
      return std::nullopt;
    auto line = stream.read_line(left);
    if (!line)
      return std::nullopt;
    if (line->empty()) {
      if (!frame.event.empty())
        return frame;
      continue;
    }
    if (line->front() == ':')
      continue; // ": open", ": keep-alive"
    if (line->rfind("id: ", 0) == 0)
      frame.id = line->substr(4);
    else if (line->rfind("event: ", 0) == 0)
      frame.event = line->substr(7);
    else if (line->rfind("data: ", 0) == 0)
      frame.data = nlohmann::json::parse(line->substr(6), nullptr, false);
  }
}

/// Frames until one satisfies `done` (all of them, that one included).
std::vector<Frame> frames_until(Child& stream, const std::function<bool(const Frame&)>& done,
                                std::chrono::milliseconds timeout = 20s) {
  std::vector<Frame> seen;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
    auto f = next_frame(stream, left);
    if (!f)
      break;
    seen.push_back(*f);
    if (done(*f))
      break;
  }
  return seen;
}

} // namespace

TEST_CASE("the event stream shows a VM's states and its operations' stages as they happen") {
  BANGER_REQUIRE_API_TOOLS();
  ApiHost api;
  api.start();
  api.host().add_image("tiny");
  auto stream = Child::spawn(curl_stream(api, "/v1/events"));
  // The stream is open (and reading from now on) once its first line came.
  auto opened = stream.read_line(10s);
  REQUIRE(opened);
  CHECK(*opened == ": open");

  auto created = api.call("POST", "/v1/vms", R"({"name": "ev1", "image": "tiny", "start": true})",
                          {"-H", "X-Banger-Op-Id: op-0000000000e1"});
  REQUIRE_MESSAGE(created.status == 201, created.body);
  auto seen = frames_until(stream, [](const Frame& f) {
    return f.event == "op.done" && f.data["op_id"] == "op-0000000000e1";
  });
  REQUIRE(!seen.empty());
  CHECK(seen.back().event == "op.done");
  CHECK(seen.back().data["outcome"] == "succeeded");
  CHECK(seen.back().data["kind"] == "vm.create");
  CHECK(seen.back().data["duration_us"].get<std::int64_t>() > 0);
  std::vector<std::string> states, stages;
  std::uint64_t last_id = 0;
  for (auto& f : seen) {
    // ids count up by one: nothing was skipped.
    auto id = std::stoull(f.id);
    if (last_id != 0)
      CHECK(id == last_id + 1);
    last_id = id;
    CHECK(f.data["op_id"] == "op-0000000000e1");
    CHECK(f.data["seq"].get<std::uint64_t>() == id);
    if (f.event == "vm.state") {
      CHECK(f.data["vm_name"] == "ev1");
      states.push_back(f.data["state"]);
    }
    if (f.event == "op.stage")
      stages.push_back(f.data["stage"]);
  }
  CHECK(states == std::vector<std::string>{"created", "starting", "running"});
  CHECK(std::find(stages.begin(), stages.end(), "launch_vmm") != stages.end());

  // Only one VM's events with ?vm=, and a stop's.
  api.host().add_image("tiny2");
  REQUIRE(api.call("POST", "/v1/vms", R"({"name": "other", "image": "tiny2"})").status == 201);
  auto one = Child::spawn(curl_stream(api, "/v1/events?vm=ev1"));
  REQUIRE(one.read_line(10s) == std::optional<std::string>(": open"));
  REQUIRE(api.call("DELETE", "/v1/vms/other").status == 200);
  REQUIRE(api.call("POST", "/v1/vms/ev1/stop").status == 200);
  auto stop_frames = frames_until(one, [](const Frame& f) {
    return f.event == "vm.state" && f.data["state"] == "stopped";
  });
  REQUIRE(!stop_frames.empty());
  CHECK(stop_frames.back().data["state"] == "stopped");
  for (auto& f : stop_frames)
    CHECK(f.data["vm_name"] == "ev1");

  // `banger events` replays what is kept (--after 0) and then goes on.
  auto cli = run_banger({"--home", api.host().home(), "-o", "json", "events", "--vm", "ev1",
                         "--after", "0", "--count", "3"});
  REQUIRE_MESSAGE(cli.exit_code == 0, cli.err);
  std::vector<nlohmann::json> lines;
  std::istringstream in(cli.out);
  for (std::string line; std::getline(in, line);)
    lines.push_back(nlohmann::json::parse(line));
  REQUIRE(lines.size() == 3);
  CHECK(lines[0]["op_id"] == "op-0000000000e1");
  for (auto& l : lines)
    CHECK(l["vm_id"] == created.json()["id"]);

  // Removed: a vm.removed event, and the stream resumes from Last-Event-ID.
  REQUIRE(api.call("DELETE", "/v1/vms/ev1").status == 200);
  auto resumed = Child::spawn({"/usr/bin/curl", "-sS", "-N", "--cert", api.cert(), "--key", api.key(),
                               "--cacert", api.ca(), "-H", "Last-Event-ID: " + std::to_string(last_id),
                               api.url("/v1/events")});
  // (after `other`'s removal and ev1's stop, which came since last_id)
  auto after = frames_until(resumed, [](const Frame& f) {
    return f.event == "vm.removed" && f.data["vm_name"] == "ev1";
  });
  REQUIRE(!after.empty());
  CHECK(std::stoull(after.front().id) == last_id + 1);
  CHECK(after.back().data["vm_name"] == "ev1");
}

TEST_CASE("a reader that fell behind the buffer is told how many events it missed") {
  BANGER_REQUIRE_API_TOOLS();
  ApiHost api({"daemon.event-buffer=16"});
  api.start();
  api.host().add_image("tiny");
  for (int i = 0; i < 3; ++i) {
    auto name = "m" + std::to_string(i);
    REQUIRE(api.call("POST", "/v1/vms", R"({"image": "tiny", "start": true, "name": ")" + name + "\"}")
              .status == 201);
    REQUIRE(api.call("DELETE", "/v1/vms/" + name).status == 200);
  }
  // Far more than 16 events happened; a reader that saw only event 1 ...
  auto stream = Child::spawn(curl_stream(api, "/v1/events?after=1"));
  auto first = next_frame(stream, 10s);
  REQUIRE(first);
  CHECK(first->event == "missed");
  auto missed = first->data["missed"].get<std::uint64_t>();
  CHECK(missed > 0);
  // ... is then given the 16 kept, from the oldest on.
  auto kept = next_frame(stream, 10s);
  REQUIRE(kept);
  CHECK(std::stoull(kept->id) == missed + 2);
  // The CLI says it the same way.
  auto cli = run_banger({"--home", api.host().home(), "events", "--after", "1", "--count", "1"});
  REQUIRE_MESSAGE(cli.exit_code == 0, cli.err);
  CHECK(cli.out.rfind("missed " + std::to_string(missed) + " events", 0) == 0);
  // And the daemon counts it for its operator.
  auto metrics = api.get("/metrics").body;
  CHECK(metrics.find("banger_events_missed_total " + std::to_string(2 * missed) + "\n") !=
        std::string::npos);
}
