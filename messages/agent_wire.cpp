#include "messages/agent_wire.hpp"

#include <stdexcept>

namespace banger::agent {

namespace {

// -- primitives -----------------------------------------------------------------

void put_u16(std::string& out, std::uint16_t v) {
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v));
}

void put_u32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>(v >> shift));
}

void put_u64(std::string& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>(v >> shift));
}

void put_i32(std::string& out, std::int32_t v) {
  put_u32(out, static_cast<std::uint32_t>(v));
}

void put_string(std::string& out, std::string_view s) {
  put_u32(out, static_cast<std::uint32_t>(s.size()));
  out.append(s);
}

void put_list(std::string& out, const std::vector<std::string>& list) {
  put_u32(out, static_cast<std::uint32_t>(list.size()));
  for (const auto& s : list)
    put_string(out, s);
}

std::uint32_t get_u32_at(std::string_view bytes, std::size_t at) {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < 4; ++i)
    v = (v << 8) | static_cast<unsigned char>(bytes[at + i]);
  return v;
}

std::uint16_t get_u16_at(std::string_view bytes, std::size_t at) {
  return static_cast<std::uint16_t>(
      (static_cast<unsigned char>(bytes[at]) << 8) |
      static_cast<unsigned char>(bytes[at + 1]));
}

// Reads fields off a payload; the first field that does not fit (or breaks
// its limit) makes every later read fail too, so a decoder reads all fields
// and checks ok() once.
class Reader {
public:
  explicit Reader(std::string_view payload) : rest_(payload) {}

  std::uint32_t u32() {
    if (!take(4))
      return 0;
    auto v = get_u32_at(last_, 0);
    return v;
  }

  std::int32_t i32() { return static_cast<std::int32_t>(u32()); }

  std::uint64_t u64() {
    std::uint64_t high = u32();
    std::uint64_t low = u32();
    return (high << 32) | low;
  }

  std::string string(std::size_t max) {
    auto size = u32();
    // The length is checked against what is left before anything is
    // allocated: a hostile length costs nothing.
    if (!ok_ || size > max || size > rest_.size()) {
      ok_ = false;
      return {};
    }
    take(size);
    return std::string(last_);
  }

  std::vector<std::string> list(std::size_t max_count, std::size_t max_each) {
    auto count = u32();
    // Each entry takes at least its 4-byte length: a count the payload
    // cannot hold is refused before reserving anything.
    if (!ok_ || count > max_count || count > rest_.size() / 4) {
      ok_ = false;
      return {};
    }
    std::vector<std::string> out;
    out.reserve(count);
    for (std::uint32_t i = 0; i < count && ok_; ++i)
      out.push_back(string(max_each));
    return out;
  }

  /// Every field fit and nothing is left over.
  bool done() const { return ok_ && rest_.empty(); }

private:
  bool take(std::size_t n) {
    if (!ok_ || rest_.size() < n) {
      ok_ = false;
      last_ = {};
      return false;
    }
    last_ = rest_.substr(0, n);
    rest_.remove_prefix(n);
    return true;
  }

  std::string_view rest_;
  std::string_view last_;
  bool ok_ = true;
};

template <class T>
std::optional<T> finish(const Reader& in, T value) {
  if (!in.done())
    return std::nullopt;
  return value;
}

} // namespace

// -- types ----------------------------------------------------------------------

bool known_type(std::uint16_t t) {
  switch (static_cast<Type>(t)) {
  case Type::hello:
  case Type::ping:
  case Type::pong:
  case Type::exec:
  case Type::started:
  case Type::stdin_data:
  case Type::stdin_eof:
  case Type::stdout_data:
  case Type::stderr_data:
  case Type::exited:
  case Type::signal:
  case Type::resize:
  case Type::window:
  case Type::file_put:
  case Type::file_get:
  case Type::file_data:
  case Type::file_end:
  case Type::file_info:
  case Type::identity:
  case Type::ok:
  case Type::error:
    return true;
  }
  return false;
}

std::string_view to_string(Type t) {
  switch (t) {
  case Type::hello:
    return "hello";
  case Type::ping:
    return "ping";
  case Type::pong:
    return "pong";
  case Type::exec:
    return "exec";
  case Type::started:
    return "started";
  case Type::stdin_data:
    return "stdin_data";
  case Type::stdin_eof:
    return "stdin_eof";
  case Type::stdout_data:
    return "stdout_data";
  case Type::stderr_data:
    return "stderr_data";
  case Type::exited:
    return "exited";
  case Type::signal:
    return "signal";
  case Type::resize:
    return "resize";
  case Type::window:
    return "window";
  case Type::file_put:
    return "file_put";
  case Type::file_get:
    return "file_get";
  case Type::file_data:
    return "file_data";
  case Type::file_end:
    return "file_end";
  case Type::file_info:
    return "file_info";
  case Type::identity:
    return "identity";
  case Type::ok:
    return "ok";
  case Type::error:
    return "error";
  }
  return "unknown";
}

// -- frames ---------------------------------------------------------------------

std::string encode(const Frame& frame) {
  // A caller's bug, never the peer's input: what is sent is built here.
  if (frame.payload.size() > max_payload)
    throw std::length_error("agent frame payload over max_payload");
  std::string out;
  out.reserve(header_size + frame.payload.size());
  put_u32(out, static_cast<std::uint32_t>(frame.payload.size()));
  put_u16(out, static_cast<std::uint16_t>(frame.type));
  put_u16(out, 0);
  put_u32(out, frame.channel);
  out.append(frame.payload);
  return out;
}

bool Decoder::feed(std::string_view bytes) {
  if (failed())
    return false;
  // Drop what next() consumed before growing: the buffer then holds at most
  // one partial frame plus what this call adds.
  if (start_ > 0) {
    buffer_.erase(0, start_);
    start_ = 0;
  }
  buffer_.append(bytes);
  return true;
}

std::optional<Frame> Decoder::next() {
  if (failed() || buffered() < header_size)
    return std::nullopt;
  std::string_view view(buffer_);
  view.remove_prefix(start_);
  // The header is judged as soon as it is whole, before its payload has
  // arrived: a bad length never makes the decoder wait for (or hold) it.
  auto length = get_u32_at(view, 0);
  auto type = get_u16_at(view, 4);
  auto reserved = get_u16_at(view, 6);
  auto channel = get_u32_at(view, 8);
  if (length > max_payload) {
    error_ = "frame of " + std::to_string(length) + " bytes (at most " +
             std::to_string(max_payload) + ")";
    return std::nullopt;
  }
  if (!known_type(type)) {
    error_ = "unknown frame type " + std::to_string(type);
    return std::nullopt;
  }
  if (reserved != 0) {
    error_ = "nonzero reserved field in frame header";
    return std::nullopt;
  }
  if (view.size() - header_size < length)
    return std::nullopt;
  Frame frame{static_cast<Type>(type), channel,
              std::string(view.substr(header_size, length))};
  start_ += header_size + length;
  if (start_ == buffer_.size()) {
    buffer_.clear();
    start_ = 0;
  }
  return frame;
}

// -- payloads -------------------------------------------------------------------

std::string encode(const Hello& x) {
  std::string out;
  put_u32(out, x.version);
  put_string(out, x.agent_version);
  put_string(out, x.boot_id);
  return out;
}

std::string encode(const Ping& x) {
  std::string out;
  put_string(out, x.op_id);
  return out;
}

std::string encode(const Exec& x) {
  std::string out;
  put_string(out, x.op_id);
  put_u32(out, x.flags);
  put_u32(out, x.rows);
  put_u32(out, x.cols);
  put_list(out, x.argv);
  put_list(out, x.env);
  put_string(out, x.cwd);
  return out;
}

std::string encode(const Started& x) {
  std::string out;
  put_u32(out, x.pid);
  return out;
}

std::string encode(const Exited& x) {
  std::string out;
  put_i32(out, x.code);
  put_i32(out, x.signal);
  return out;
}

std::string encode(const Signal& x) {
  std::string out;
  put_u32(out, x.signo);
  return out;
}

std::string encode(const Resize& x) {
  std::string out;
  put_u32(out, x.rows);
  put_u32(out, x.cols);
  return out;
}

std::string encode(const Window& x) {
  std::string out;
  put_u32(out, x.bytes);
  return out;
}

std::string encode(const FilePut& x) {
  std::string out;
  put_string(out, x.op_id);
  put_string(out, x.path);
  put_u32(out, x.mode);
  put_u64(out, x.size);
  return out;
}

std::string encode(const FileGet& x) {
  std::string out;
  put_string(out, x.op_id);
  put_string(out, x.path);
  return out;
}

std::string encode(const FileInfo& x) {
  std::string out;
  put_u64(out, x.size);
  put_u32(out, x.mode);
  return out;
}

std::string encode(const Identity& x) {
  std::string out;
  put_string(out, x.op_id);
  put_string(out, x.hostname);
  put_string(out, x.mac);
  put_string(out, x.device);
  put_string(out, x.address);
  put_string(out, x.gateway);
  put_list(out, x.dns);
  put_u32(out, x.flags);
  put_string(out, x.seed);
  return out;
}

std::string encode(const Error& x) {
  std::string out;
  put_u32(out, x.code);
  put_string(out, x.message);
  return out;
}

std::optional<Hello> decode_hello(std::string_view payload) {
  Reader in(payload);
  Hello x;
  x.version = in.u32();
  x.agent_version = in.string(max_text);
  x.boot_id = in.string(max_text);
  return finish(in, std::move(x));
}

std::optional<Ping> decode_ping(std::string_view payload) {
  Reader in(payload);
  Ping x;
  x.op_id = in.string(max_op_id);
  return finish(in, std::move(x));
}

std::optional<Exec> decode_exec(std::string_view payload) {
  Reader in(payload);
  Exec x;
  x.op_id = in.string(max_op_id);
  x.flags = in.u32();
  x.rows = in.u32();
  x.cols = in.u32();
  // An argument or environment entry may be a whole script: each is bounded
  // by the frame (max_payload), their number by max_args.
  x.argv = in.list(max_args, max_payload);
  x.env = in.list(max_args, max_payload);
  x.cwd = in.string(max_path);
  return finish(in, std::move(x));
}

std::optional<Started> decode_started(std::string_view payload) {
  Reader in(payload);
  Started x;
  x.pid = in.u32();
  return finish(in, x);
}

std::optional<Exited> decode_exited(std::string_view payload) {
  Reader in(payload);
  Exited x;
  x.code = in.i32();
  x.signal = in.i32();
  return finish(in, x);
}

std::optional<Signal> decode_signal(std::string_view payload) {
  Reader in(payload);
  Signal x;
  x.signo = in.u32();
  return finish(in, x);
}

std::optional<Resize> decode_resize(std::string_view payload) {
  Reader in(payload);
  Resize x;
  x.rows = in.u32();
  x.cols = in.u32();
  return finish(in, x);
}

std::optional<Window> decode_window(std::string_view payload) {
  Reader in(payload);
  Window x;
  x.bytes = in.u32();
  return finish(in, x);
}

std::optional<FilePut> decode_file_put(std::string_view payload) {
  Reader in(payload);
  FilePut x;
  x.op_id = in.string(max_op_id);
  x.path = in.string(max_path);
  x.mode = in.u32();
  x.size = in.u64();
  return finish(in, std::move(x));
}

std::optional<FileGet> decode_file_get(std::string_view payload) {
  Reader in(payload);
  FileGet x;
  x.op_id = in.string(max_op_id);
  x.path = in.string(max_path);
  return finish(in, std::move(x));
}

std::optional<FileInfo> decode_file_info(std::string_view payload) {
  Reader in(payload);
  FileInfo x;
  x.size = in.u64();
  x.mode = in.u32();
  return finish(in, x);
}

std::optional<Identity> decode_identity(std::string_view payload) {
  Reader in(payload);
  Identity x;
  x.op_id = in.string(max_op_id);
  x.hostname = in.string(max_text);
  x.mac = in.string(max_text);
  x.device = in.string(max_text);
  x.address = in.string(max_text);
  x.gateway = in.string(max_text);
  x.dns = in.list(max_args, max_text);
  x.flags = in.u32();
  x.seed = in.string(max_seed);
  return finish(in, std::move(x));
}

std::optional<Error> decode_error(std::string_view payload) {
  Reader in(payload);
  Error x;
  x.code = in.u32();
  x.message = in.string(max_text);
  return finish(in, std::move(x));
}

} // namespace banger::agent
