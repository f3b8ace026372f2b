#include "messages/agent_wire.hpp"

#include <doctest/doctest.h>

#include <stdexcept>
#include <string>
#include <vector>

using namespace banger::agent;

namespace {

std::string u32_bytes(std::uint32_t v) {
  std::string out;
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>(v >> shift));
  return out;
}

std::string header(std::uint32_t length, std::uint16_t type,
                   std::uint16_t reserved, std::uint32_t channel) {
  std::string out = u32_bytes(length);
  out.push_back(static_cast<char>(type >> 8));
  out.push_back(static_cast<char>(type));
  out.push_back(static_cast<char>(reserved >> 8));
  out.push_back(static_cast<char>(reserved));
  return out + u32_bytes(channel);
}

template <class T, class Decode>
void check_round_trip(const T& value, Decode decode) {
  auto bytes = encode(value);
  auto back = decode(bytes);
  REQUIRE(back.has_value());
  CHECK(*back == value);
  // Every shorter prefix ends inside a field, and one byte more is left
  // over: both are refused.
  for (std::size_t cut = 0; cut < bytes.size(); ++cut)
    CHECK_FALSE(decode(std::string_view(bytes).substr(0, cut)).has_value());
  CHECK_FALSE(decode(bytes + "x").has_value());
}

Exec sample_exec() {
  Exec x;
  x.op_id = "op-0123456789ab";
  x.flags = exec_tty;
  x.rows = 24;
  x.cols = 80;
  x.argv = {"sh", "-c", "echo hi"};
  x.env = {"TERM=xterm", "LANG=C.UTF-8"};
  x.cwd = "/tmp";
  return x;
}

Identity sample_identity() {
  Identity x;
  x.op_id = "op-0123456789ab";
  x.hostname = "web-1";
  x.mac = "52:54:00:12:34:56";
  x.device = "eth0";
  x.address = "172.16.0.7/24";
  x.gateway = "172.16.0.1";
  x.dns = {"172.16.0.1", "9.9.9.9"};
  x.flags = identity_new_machine_id | identity_new_host_keys;
  x.seed = std::string("\0\xff seed", 7);
  return x;
}

} // namespace

TEST_CASE("every payload decodes to what was encoded") {
  check_round_trip(Hello{protocol_version, "0.1.0", "5e1c0a2b-boot"}, decode_hello);
  check_round_trip(Ping{"op-0123456789ab"}, decode_ping);
  check_round_trip(Ping{""}, decode_ping);
  check_round_trip(sample_exec(), decode_exec);
  check_round_trip(Exec{}, decode_exec);
  check_round_trip(Started{4242}, decode_started);
  check_round_trip(Exited{3, 0}, decode_exited);
  check_round_trip(Exited{-1, 9}, decode_exited);
  check_round_trip(Signal{15}, decode_signal);
  check_round_trip(Resize{50, 132}, decode_resize);
  check_round_trip(Window{initial_window}, decode_window);
  check_round_trip(FilePut{"op-1", "/etc/motd", 0600, 3ull << 32}, decode_file_put);
  check_round_trip(FileGet{"op-2", "/var/log/boot.log"}, decode_file_get);
  check_round_trip(FileInfo{(1ull << 40) + 7, 0100644}, decode_file_info);
  check_round_trip(sample_identity(), decode_identity);
  check_round_trip(Error{2, "no such file: /nope"}, decode_error);
}

TEST_CASE("integers are big-endian on the wire") {
  CHECK(encode(Started{0x01020304}) == std::string("\x01\x02\x03\x04", 4));
  CHECK(encode(Exited{-1, 0}) == std::string("\xff\xff\xff\xff\0\0\0\0", 8));
  CHECK(encode(FileInfo{0x0102030405060708ull, 0}) ==
        std::string("\x01\x02\x03\x04\x05\x06\x07\x08\0\0\0\0", 12));
  CHECK(encode(Ping{"ab"}) == std::string("\0\0\0\x02" "ab", 6));
}

TEST_CASE("a frame is its 12-byte header followed by the payload") {
  auto bytes = encode(Frame{Type::stdout_data, 7, "out"});
  CHECK(bytes == header(3, 14, 0, 7) + "out");
}

TEST_CASE("a frame split across feeds byte by byte comes out whole, once") {
  Frame sent = frame(Type::exec, 3, sample_exec());
  auto bytes = encode(sent);
  Decoder uut;
  std::vector<Frame> got;
  for (char c : bytes) {
    REQUIRE(uut.feed(std::string_view(&c, 1)));
    while (auto f = uut.next())
      got.push_back(*f);
  }
  REQUIRE(got.size() == 1);
  CHECK(got[0] == sent);
  CHECK(uut.buffered() == 0);
  CHECK_FALSE(uut.failed());
}

TEST_CASE("several frames in one feed come out in order") {
  std::vector<Frame> sent = {
      frame(Type::ping, 0, Ping{"op-1"}),
      Frame{Type::stdin_data, 5, std::string(max_payload, 'a')},
      Frame{Type::stdin_eof, 5, ""},
      frame(Type::window, 5, Window{1024}),
  };
  std::string bytes;
  for (const auto& f : sent)
    bytes += encode(f);
  // And the start of one more, which stays buffered.
  bytes += header(10, 2, 0, 0).substr(0, 5);
  Decoder uut;
  REQUIRE(uut.feed(bytes));
  std::vector<Frame> got;
  while (auto f = uut.next())
    got.push_back(*f);
  CHECK(got == sent);
  CHECK(uut.buffered() == 5);
  CHECK_FALSE(uut.failed());
}

TEST_CASE("a frame longer than max_payload is refused from its header alone") {
  Decoder uut;
  REQUIRE(uut.feed(header(max_payload + 1, 14, 0, 1)));
  CHECK_FALSE(uut.next().has_value());
  CHECK(uut.failed());
  CHECK(uut.error().find("bytes") != std::string::npos);
}

TEST_CASE("a frame of exactly max_payload is accepted") {
  Decoder uut;
  REQUIRE(uut.feed(encode(Frame{Type::file_data, 1, std::string(max_payload, 'z')})));
  auto f = uut.next();
  REQUIRE(f.has_value());
  CHECK(f->payload.size() == max_payload);
}

TEST_CASE("an unknown frame type is refused") {
  for (std::uint16_t type : {0, 4, 9, 20, 35, 41, 52, 0xffff}) {
    CAPTURE(type);
    CHECK_FALSE(known_type(type));
    Decoder uut;
    REQUIRE(uut.feed(header(0, type, 0, 0)));
    CHECK_FALSE(uut.next().has_value());
    CHECK(uut.failed());
  }
  CHECK(known_type(1));
  CHECK(known_type(51));
}

TEST_CASE("a nonzero reserved field is refused") {
  Decoder uut;
  REQUIRE(uut.feed(header(0, 2, 1, 0)));
  CHECK_FALSE(uut.next().has_value());
  CHECK(uut.failed());
}

TEST_CASE("a decoder that failed stays failed") {
  Decoder uut;
  REQUIRE(uut.feed(header(0, 999, 0, 0)));
  CHECK_FALSE(uut.next().has_value());
  REQUIRE(uut.failed());
  auto error = uut.error();
  // Even a perfectly good frame after it is refused.
  CHECK_FALSE(uut.feed(encode(Frame{Type::ping, 0, encode(Ping{"x"})})));
  CHECK_FALSE(uut.next().has_value());
  CHECK(uut.error() == error);
}

TEST_CASE("the decoder holds at most one frame's worth of unread bytes") {
  Decoder uut;
  std::string big = encode(Frame{Type::file_data, 1, std::string(max_payload, 'q')});
  // Whole frames followed by all but the last byte of one more.
  std::string bytes = big + big + big.substr(0, big.size() - 1);
  for (std::size_t at = 0; at < bytes.size(); at += 1000) {
    REQUIRE(uut.feed(std::string_view(bytes).substr(at, 1000)));
    while (uut.next())
      continue;
    CHECK(uut.buffered() <= header_size + max_payload);
  }
  CHECK(uut.buffered() == big.size() - 1);
}

TEST_CASE("a payload that ends inside a field is refused") {
  // A string whose length says more than follows.
  CHECK_FALSE(decode_ping(u32_bytes(5) + "abc").has_value());
  CHECK_FALSE(decode_started(std::string("\0\0\0", 3)).has_value());
  CHECK_FALSE(decode_hello("").has_value());
  // A list whose count says more entries than follow.
  auto exec = encode(Exec{});
  CHECK(decode_exec(exec).has_value());
  std::string bad = encode(Ping{""}) + u32_bytes(0) + u32_bytes(0) + u32_bytes(0) +
                    u32_bytes(2) + u32_bytes(1) + "a";
  CHECK_FALSE(decode_exec(bad).has_value());
}

TEST_CASE("a payload with bytes left over is refused") {
  CHECK_FALSE(decode_window(encode(Window{1}) + '\0').has_value());
  CHECK_FALSE(decode_error(encode(Error{1, "m"}) + "tail").has_value());
}

TEST_CASE("a string longer than its limit is refused") {
  CHECK(decode_ping(encode(Ping{std::string(max_op_id, 'o')})).has_value());
  CHECK_FALSE(decode_ping(encode(Ping{std::string(max_op_id + 1, 'o')})).has_value());

  FileGet get{"op", std::string(max_path, '/')};
  CHECK(decode_file_get(encode(get)).has_value());
  get.path += '/';
  CHECK_FALSE(decode_file_get(encode(get)).has_value());

  Error error{1, std::string(max_text + 1, 'e')};
  CHECK_FALSE(decode_error(encode(error)).has_value());

  auto identity = sample_identity();
  identity.hostname = std::string(max_text + 1, 'h');
  CHECK_FALSE(decode_identity(encode(identity)).has_value());
  identity = sample_identity();
  identity.dns = {std::string(max_text + 1, '1')};
  CHECK_FALSE(decode_identity(encode(identity)).has_value());

  auto exec = sample_exec();
  exec.cwd = std::string(max_path + 1, 'c');
  CHECK_FALSE(decode_exec(encode(exec)).has_value());
}

TEST_CASE("a string length larger than the payload is refused without allocating it") {
  // 4 GiB announced, 3 bytes present.
  CHECK_FALSE(decode_error(u32_bytes(1) + u32_bytes(0xffffffff) + "abc").has_value());
}

TEST_CASE("more than max_args entries in a list are refused") {
  auto exec = sample_exec();
  exec.argv.assign(max_args, "a");
  CHECK(decode_exec(encode(exec)).has_value());
  exec.argv.push_back("a");
  CHECK_FALSE(decode_exec(encode(exec)).has_value());

  exec = sample_exec();
  exec.env.assign(max_args + 1, "A=1");
  CHECK_FALSE(decode_exec(encode(exec)).has_value());

  auto identity = sample_identity();
  identity.dns.assign(max_args + 1, "1.1.1.1");
  CHECK_FALSE(decode_identity(encode(identity)).has_value());
}

TEST_CASE("a list count larger than the payload could hold is refused") {
  std::string bad = encode(Ping{""}) + u32_bytes(0) + u32_bytes(0) + u32_bytes(0) +
                    u32_bytes(200) + u32_bytes(0);
  CHECK_FALSE(decode_exec(bad).has_value());
}

TEST_CASE("encoding a frame over max_payload is a caller's bug and throws") {
  CHECK_THROWS_AS(encode(Frame{Type::file_data, 1, std::string(max_payload + 1, 'x')}),
                  std::length_error);
}

TEST_CASE("every type has a name") {
  CHECK(to_string(Type::hello) == "hello");
  CHECK(to_string(Type::stdout_data) == "stdout_data");
  CHECK(to_string(Type::error) == "error");
  CHECK(to_string(static_cast<Type>(999)) == "unknown");
  for (std::uint16_t t = 0; t < 100; ++t)
    if (known_type(t))
      CHECK(to_string(static_cast<Type>(t)) != "unknown");
}
