// Operation ids: the one identifier shared by a CLI poll, the daemon's log
// lines, the helper's log lines and the error a user sees.
#pragma once

#include <string>
#include <string_view>

namespace banger {

/// A fresh op_id: "op-" + 12 lowercase hex digits from the kernel CSPRNG.
std::string mint_op_id();

/// True exactly for "op-" followed by 12 lowercase hex digits.
bool is_valid_op_id(std::string_view text);

/// 16 lowercase hex digits from the kernel CSPRNG (VM and image ids).
std::string mint_object_id();

/// `bytes` random bytes as lowercase hex (credentials, ids).
std::string random_hex(std::size_t bytes);

} // namespace banger
