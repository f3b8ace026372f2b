// Follows the frame boundaries of a decrypted BASP byte stream and reports a
// header that announces more payload than a connection may send.
//
// Why: CAF 0.17.6's BASP broker sizes its read buffer to whatever
// `payload_len` a header announces (std::vector::resize, zero-filled, so the
// memory is really used) before a single payload byte arrived. One
// authenticated peer claiming 4 GiB grew a process by 4 GB. The TLS layer
// (tls_error_queue.cpp) feeds every SSL_read through a meter and fails the
// read once a header is over the cap, so CAF drops the connection before it
// parses that header.
//
// The wire format (CAF 0.17.6, caf/io/basp/header.hpp and the binary
// serializer, which writes integers in network byte order): every frame is a
// 32-byte header
//   operation u8, padding u8, padding u8, flags u8, payload_len u32 (BE),
//   operation_data u64, source_actor u64, dest_actor u64
// followed by exactly payload_len bytes. The first frame on a connection is a
// header; there is nothing else on the stream.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>

namespace banger {

/// The most a BASP payload may announce. Far above any banger message: a
/// VmList of 10,000 VMs with long names, paths and errors serializes to about
/// 8 MiB (tests/transport/basp_meter_test.cpp measures it), an inventory or a
/// log tail is smaller still.
constexpr std::uint32_t basp_payload_cap = 64u << 20;

/// The most all connections of a process together may have announced and
/// not yet sent: many peers each just under the cap would otherwise still
/// add up (tls_guard.cpp keeps the sum).
constexpr std::uint64_t basp_announced_budget = std::uint64_t{256} << 20;

class BaspMeter {
public:
  static constexpr std::size_t header_size = 32;
  static constexpr std::size_t payload_len_offset = 4;

  explicit BaspMeter(std::uint32_t cap = basp_payload_cap) : cap_(cap) {}

  /// Accounts for `n` more bytes of the stream, in any chunking. Returns
  /// false once a header announces more than the cap (and from then on);
  /// announced() then says how much it claimed.
  bool consume(const unsigned char* data, std::size_t n) {
    while (n > 0 && !over_) {
      if (payload_left_ > 0) {
        auto k =
            static_cast<std::size_t>(std::min<std::uint64_t>(payload_left_, n));
        payload_left_ -= k;
        data += k;
        n -= k;
        continue;
      }
      auto k = std::min(n, header_size - have_);
      std::copy(data, data + k,
                header_.begin() + static_cast<std::ptrdiff_t>(have_));
      have_ += k;
      data += k;
      n -= k;
      if (have_ < header_size)
        break;
      have_ = 0;
      announced_ = read_be32(header_.data() + payload_len_offset);
      if (announced_ > cap_)
        over_ = true;
      else
        payload_left_ = announced_;
    }
    return !over_;
  }

  bool over_cap() const { return over_; }
  /// Refuses everything from now on (the connection is being dropped).
  void poison() { over_ = true; }

  /// Payload bytes announced by the last header and not yet seen.
  std::uint64_t outstanding() const { return payload_left_; }
  /// payload_len of the last complete header.
  std::uint32_t announced() const { return announced_; }
  std::uint32_t cap() const { return cap_; }

private:
  static std::uint32_t read_be32(const unsigned char* p) {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) |
           (std::uint32_t{p[2]} << 8) | std::uint32_t{p[3]};
  }

  std::uint32_t cap_;
  std::array<unsigned char, header_size> header_{};
  std::size_t have_ = 0;
  std::uint64_t payload_left_ = 0;
  std::uint32_t announced_ = 0;
  bool over_ = false;
};

} // namespace banger
