// The guest agent's frame decoder and payload decoders (messages/agent_wire.hpp),
// fed what a hostile guest (or host) could send. The first input byte picks
// how the rest is split into feeds: a stream read in any chunks must decode
// to the same frames as the whole stream at once.
#include "messages/agent_wire.hpp"
#include "tests/fuzz/fuzz_check.hpp"

#include <string>
#include <vector>

namespace agent = banger::agent;

namespace {

/// Decodes the payload as its type says; when that succeeds, encoding the
/// result must give back the very same bytes (the encoding is canonical).
void check_payload(const agent::Frame& frame) {
  using agent::Type;
  const std::string& p = frame.payload;
  auto same = [&](const auto& decoded) {
    if (decoded)
      FUZZ_CHECK(agent::encode(*decoded) == p);
  };
  switch (frame.type) {
  case Type::hello:
    same(agent::decode_hello(p));
    break;
  case Type::ping:
  case Type::pong:
    same(agent::decode_ping(p));
    break;
  case Type::exec:
    same(agent::decode_exec(p));
    break;
  case Type::started:
    same(agent::decode_started(p));
    break;
  case Type::exited:
    same(agent::decode_exited(p));
    break;
  case Type::signal:
    same(agent::decode_signal(p));
    break;
  case Type::resize:
    same(agent::decode_resize(p));
    break;
  case Type::window:
    same(agent::decode_window(p));
    break;
  case Type::file_put:
    same(agent::decode_file_put(p));
    break;
  case Type::file_get:
    same(agent::decode_file_get(p));
    break;
  case Type::file_info:
    same(agent::decode_file_info(p));
    break;
  case Type::identity:
    same(agent::decode_identity(p));
    break;
  case Type::error:
    same(agent::decode_error(p));
    break;
  case Type::stdin_data:
  case Type::stdin_eof:
  case Type::stdout_data:
  case Type::stderr_data:
  case Type::file_data:
  case Type::file_end:
  case Type::ok:
    break; // raw bytes or empty: nothing to decode
  }
  // A frame the decoder accepted re-encodes to its own header and payload.
  auto again = agent::encode(frame);
  FUZZ_CHECK(again.size() == agent::header_size + p.size());
}

struct Outcome {
  std::vector<agent::Frame> frames;
  bool failed = false;
};

Outcome decode_in_chunks(std::string_view stream, unsigned seed) {
  Outcome out;
  agent::Decoder uut;
  std::uint32_t state = seed * 2654435761u + 1;
  std::size_t at = 0;
  while (at < stream.size()) {
    state = state * 1103515245u + 12345u;
    // Chunks of 1 byte up to a little over one header, mixed with larger
    // ones, so headers and payloads are cut at every place.
    std::size_t chunk = seed == 0 ? stream.size() : 1 + (state >> 16) % (seed % 2 ? 17 : 4099);
    auto piece = stream.substr(at, chunk);
    at += piece.size();
    if (!uut.feed(piece)) {
      FUZZ_CHECK(uut.failed());
      break;
    }
    while (auto frame = uut.next()) {
      FUZZ_CHECK(frame->payload.size() <= agent::max_payload);
      FUZZ_CHECK(agent::known_type(static_cast<std::uint16_t>(frame->type)));
      out.frames.push_back(std::move(*frame));
    }
    if (!uut.failed())
      FUZZ_CHECK(uut.buffered() < agent::header_size + agent::max_payload);
  }
  out.failed = uut.failed();
  if (out.failed) {
    FUZZ_CHECK(!uut.error().empty());
    // Failed stays failed.
    FUZZ_CHECK(!uut.feed("x"));
    FUZZ_CHECK(!uut.next());
  }
  return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0)
    return 0;
  auto stream = banger::fuzz::as_text(data + 1, size - 1);
  auto split = decode_in_chunks(stream, data[0]);
  auto whole = decode_in_chunks(stream, 0);
  FUZZ_CHECK(split.frames == whole.frames);
  FUZZ_CHECK(split.failed == whole.failed);
  for (const auto& frame : whole.frames)
    check_payload(frame);
  // The frames are the stream's own bytes: encoding them back gives its
  // prefix.
  std::string encoded;
  for (const auto& frame : whole.frames)
    encoded += agent::encode(frame);
  FUZZ_CHECK(stream.substr(0, encoded.size()) == encoded);
  return 0;
}
