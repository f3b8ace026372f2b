// GET /v1/events: Server-Sent Events (https://html.spec.whatwg.org/multipage/server-sent-events.html).
// The handler thread polls the events actor as `banger events` does (one
// EventsRequest after another, each held up to 15 s) and writes each event
// as `id: SEQ`, `event: TYPE`, `data: JSON`. A poll with nothing new writes
// a comment line, so a dead client is noticed within one poll and a
// proxy's idle timeout never fires.
#include "api/handlers.hpp"

#include "messages/numbers.hpp"
#include "tools/cli/output.hpp"

#include <memory>

namespace banger::api {

namespace {

constexpr std::uint32_t poll_wait_ms = 15000;

struct Reader {
  EventsRequest request;
  std::optional<EventBatch> first; ///< the opening poll's answer, not yet written
};

bool write(httplib::DataSink& sink, const std::string& text) {
  return sink.write(text.data(), text.size());
}

std::string frame(const Event& e) {
  auto data = cli::to_json(e).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return "id: " + std::to_string(e.seq) + "\nevent: " + e.type + "\ndata: " + data + "\n\n";
}

} // namespace

void events(Exchange& x) {
  auto reader = std::make_shared<Reader>();
  auto& r = reader->request;
  r.env = x.env();
  r.max = 256;
  r.wait_ms = poll_wait_ms;
  // Resuming: Last-Event-ID (what a browser's EventSource sends when it
  // reconnects), else ?after=SEQ, else from now on.
  auto last = x.req.get_header_value("Last-Event-ID");
  auto after = x.query("after");
  auto resume = !last.empty() ? last : after;
  if (!resume.empty()) {
    auto seq = parse_uint(resume, std::numeric_limits<std::int64_t>::max());
    if (!seq)
      throw BadRequest("Last-Event-ID / after must be an event's seq, not " + resume);
    r.after = *seq;
  } else {
    r.from_now = true;
  }
  if (auto ref = x.query("vm"); !ref.empty()) {
    auto vm = x.ask<VmRecord>(VmShowRequest{x.env(), ref}, read_timeout());
    if (!vm)
      return;
    r.vm_id = vm->id;
  }
  // The first poll answers now, so a bad request is an HTTP error and not
  // an event in a 200 stream.
  auto first_request = r;
  first_request.wait_ms = 0;
  auto first = x.ask<EventBatch>(first_request, read_timeout());
  if (!first)
    return;
  reader->first = std::move(*first);
  auto& gateway = x.gateway;
  x.res.status = 200;
  x.res.set_header("Cache-Control", "no-store");
  x.res.set_chunked_content_provider(
    "text/event-stream", [reader, &gateway](std::size_t, httplib::DataSink& sink) {
      EventBatch batch;
      bool opening = reader->first.has_value();
      if (opening) {
        batch = std::move(*reader->first);
        reader->first.reset();
      } else {
        auto answer = gateway.call<EventBatch>(reader->request,
                                               std::chrono::milliseconds(poll_wait_ms + 30000));
        if (auto* error = std::get_if<ErrorView>(&answer)) {
          nlohmann::json j = {{"code", to_string(error->code)},
                              {"message", error->message},
                              {"op_id", error->op_id}};
          write(sink, "event: error\ndata: " + j.dump() + "\n\n");
          return false;
        }
        batch = std::move(std::get<EventBatch>(answer));
      }
      reader->request.from_now = false;
      reader->request.after = batch.last;
      std::string out;
      if (batch.missed > 0)
        out += "event: missed\ndata: {\"missed\": " + std::to_string(batch.missed) + "}\n\n";
      for (auto& e : batch.events)
        out += frame(e);
      if (out.empty())
        out = opening ? ": open\n\n" : ": keep-alive\n\n";
      return write(sink, out);
    });
}

} // namespace banger::api
