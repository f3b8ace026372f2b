// The guest agent's wire protocol (docs/agent.md): length-prefixed frames on
// one byte stream, virtio-serial under QEMU, vsock under Firecracker. This
// header and agent_wire.cpp are all the two sides share, and they use only
// the C++ standard library: the agent (tools/guest-agent) is a static
// program with nothing but libc under it, and bangerd links the same code.
//
// Both sides treat what the other sends as hostile: the decoder refuses a
// frame longer than max_payload, an unknown type, a nonzero reserved field
// and a payload whose fields do not add up, and never allocates more than
// what it was handed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace banger::agent {

/// Bumped when a frame changes shape; HELLO carries it and bangerd refuses
/// an agent speaking another.
inline constexpr std::uint32_t protocol_version = 1;

/// Frame header: payload length (u32), type (u16), reserved (u16, 0),
/// channel (u32); all big-endian.
inline constexpr std::size_t header_size = 12;
/// The most one frame carries. Data larger than this is sent as several.
inline constexpr std::size_t max_payload = 64 * 1024;
/// Output a channel may send before the host grants more (WINDOW frames).
inline constexpr std::uint32_t initial_window = 256 * 1024;

/// The vsock port the agent listens on under Firecracker, and the
/// virtio-serial port name it opens under QEMU (/dev/virtio-ports/<name>).
inline constexpr std::uint32_t vsock_port = 1024;
inline constexpr const char* serial_port_name = "org.banger.agent.0";

enum class Type : std::uint16_t {
  // link (channel 0)
  hello = 1, ///< agent -> host, first frame of every connection: Hello
  ping = 2,  ///< host -> agent: Ping
  pong = 3,  ///< agent -> host: Ping (the same op_id echoed)
  // a command (channel = a number the host chose, not 0)
  exec = 10,        ///< host -> agent: Exec
  started = 11,     ///< agent -> host: Started
  stdin_data = 12,  ///< host -> agent: raw bytes
  stdin_eof = 13,   ///< host -> agent: empty
  stdout_data = 14, ///< agent -> host: raw bytes
  stderr_data = 15, ///< agent -> host: raw bytes
  exited = 16,      ///< agent -> host: Exited; the channel is over
  signal = 17,      ///< host -> agent: Signal
  resize = 18,      ///< host -> agent: Resize (terminal commands)
  window = 19,      ///< host -> agent: Window; more output may be sent
  // files (channel chosen by the host)
  file_put = 30,  ///< host -> agent: FilePut, then file_data..., file_end
  file_get = 31,  ///< host -> agent: FileGet; agent answers file_info, file_data..., file_end
  file_data = 32, ///< either way: raw bytes
  file_end = 33,  ///< either way: empty; for a put, the agent then answers ok or error
  file_info = 34, ///< agent -> host: FileInfo
  // the guest's identity (clones)
  identity = 40, ///< host -> agent: Identity; agent answers ok or error
  // answers on a channel
  ok = 50,    ///< agent -> host: empty; the channel is over
  error = 51, ///< agent -> host: Error; the channel is over
};

/// Whether `t` is a type this version knows.
bool known_type(std::uint16_t t);
std::string_view to_string(Type t);

struct Frame {
  Type type = Type::ping;
  std::uint32_t channel = 0;
  std::string payload; ///< at most max_payload bytes

  bool operator==(const Frame&) const = default;
};

/// Header + payload, ready to write. The payload must fit max_payload
/// (std::length_error otherwise: only a caller's bug can break that).
std::string encode(const Frame& frame);

/// Incremental decoder: feed() what was read, then next() until it returns
/// nothing. After an error it stays failed (the stream cannot be resynced):
/// the connection is to be closed.
class Decoder {
public:
  /// Appends bytes. Refused (returns false, error() set) when the decoder
  /// has failed before.
  bool feed(std::string_view bytes);
  /// The next whole frame, if any; an invalid header sets error().
  std::optional<Frame> next();
  bool failed() const { return !error_.empty(); }
  const std::string& error() const { return error_; }
  /// Bytes held that are not a whole frame yet (at most header_size +
  /// max_payload).
  std::size_t buffered() const { return buffer_.size() - start_; }

private:
  std::string buffer_;
  std::size_t start_ = 0;
  std::string error_;
};

// -- payloads -------------------------------------------------------------------
// Fields in order: u32 as 4 bytes big-endian, i32 the same bits, u64 as 8,
// a string as u32 length + bytes, a list as u32 count + strings. A payload
// with bytes left over, or one that ends inside a field, is refused.

/// Each limit is checked by decode() and by encode()'s callers' validators.
/// max_args bounds the entries of every list (argv, env, dns); an argv or
/// env entry is bounded only by the frame, a dns entry by max_text.
inline constexpr std::size_t max_op_id = 64;
inline constexpr std::size_t max_args = 256;
inline constexpr std::size_t max_path = 4096;
inline constexpr std::size_t max_text = 4096; ///< messages, hostnames, versions
inline constexpr std::size_t max_seed = 512;  ///< Identity::seed

struct Hello {
  std::uint32_t version = protocol_version;
  std::string agent_version; ///< the agent program's own version
  std::string boot_id;       ///< /proc/sys/kernel/random/boot_id
  bool operator==(const Hello&) const = default;
};

struct Ping {
  std::string op_id;
  bool operator==(const Ping&) const = default;
};

inline constexpr std::uint32_t exec_tty = 1; ///< Exec::flags: run on a pseudo-terminal

struct Exec {
  std::string op_id;
  std::uint32_t flags = 0;
  std::uint32_t rows = 0, cols = 0; ///< with exec_tty: the terminal's size
  std::vector<std::string> argv;    ///< argv[0] is looked up in PATH
  std::vector<std::string> env;     ///< "NAME=value", added to the agent's own
  std::string cwd;                  ///< empty: /root
  bool operator==(const Exec&) const = default;
};

struct Started {
  std::uint32_t pid = 0;
  bool operator==(const Started&) const = default;
};

struct Exited {
  std::int32_t code = 0;   ///< exit status when signal is 0
  std::int32_t signal = 0; ///< the signal that ended it, 0 if it exited
  bool operator==(const Exited&) const = default;
};

struct Signal {
  std::uint32_t signo = 0;
  bool operator==(const Signal&) const = default;
};

struct Resize {
  std::uint32_t rows = 0, cols = 0;
  bool operator==(const Resize&) const = default;
};

struct Window {
  std::uint32_t bytes = 0; ///< added to what the channel may still send
  bool operator==(const Window&) const = default;
};

struct FilePut {
  std::string op_id;
  std::string path;       ///< absolute, in the guest
  std::uint32_t mode = 0644;
  std::uint64_t size = 0; ///< bytes that follow; the agent checks it at file_end
  bool operator==(const FilePut&) const = default;
};

struct FileGet {
  std::string op_id;
  std::string path; ///< absolute, in the guest
  bool operator==(const FileGet&) const = default;
};

struct FileInfo {
  std::uint64_t size = 0;
  std::uint32_t mode = 0;
  bool operator==(const FileInfo&) const = default;
};

inline constexpr std::uint32_t identity_new_machine_id = 1; ///< Identity::flags
inline constexpr std::uint32_t identity_new_host_keys = 2;  ///< Identity::flags

/// Applied in order: hostname, MAC, address and route, DNS, then what flags
/// ask for. The answer (ok) comes when all of it is done.
struct Identity {
  std::string op_id;
  std::string hostname;
  std::string mac;       ///< "52:54:00:..", for the interface `device`
  std::string device;    ///< "eth0"
  std::string address;   ///< "172.16.0.7/24"
  std::string gateway;   ///< empty: none
  std::vector<std::string> dns;
  std::uint32_t flags = 0;
  /// Bytes from the host's random source, mixed into the guest kernel's
  /// pool (and its CRNG reseeded) before anything random is made: clones
  /// restored from one snapshot share their kernel's random state, and
  /// would otherwise make one machine-id and one host key. At most
  /// max_seed bytes; empty: none.
  std::string seed;
  bool operator==(const Identity&) const = default;
};

struct Error {
  std::uint32_t code = 0; ///< an errno value, or 0
  std::string message;
  bool operator==(const Error&) const = default;
};

std::string encode(const Hello&);
std::string encode(const Ping&);
std::string encode(const Exec&);
std::string encode(const Started&);
std::string encode(const Exited&);
std::string encode(const Signal&);
std::string encode(const Resize&);
std::string encode(const Window&);
std::string encode(const FilePut&);
std::string encode(const FileGet&);
std::string encode(const FileInfo&);
std::string encode(const Identity&);
std::string encode(const Error&);

/// Each decodes a whole payload; nullopt when it is malformed or breaks a
/// limit above (a string longer than its max_*, more than max_args).
std::optional<Hello> decode_hello(std::string_view payload);
std::optional<Ping> decode_ping(std::string_view payload);
std::optional<Exec> decode_exec(std::string_view payload);
std::optional<Started> decode_started(std::string_view payload);
std::optional<Exited> decode_exited(std::string_view payload);
std::optional<Signal> decode_signal(std::string_view payload);
std::optional<Resize> decode_resize(std::string_view payload);
std::optional<Window> decode_window(std::string_view payload);
std::optional<FilePut> decode_file_put(std::string_view payload);
std::optional<FileGet> decode_file_get(std::string_view payload);
std::optional<FileInfo> decode_file_info(std::string_view payload);
std::optional<Identity> decode_identity(std::string_view payload);
std::optional<Error> decode_error(std::string_view payload);

/// A frame of `type` on `channel` whose payload is encode(x).
template <class T>
Frame frame(Type type, std::uint32_t channel, const T& x) {
  return Frame{type, channel, encode(x)};
}

} // namespace banger::agent
