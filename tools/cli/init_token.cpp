// state/helper.token: the credential bangerd presents to banger-helper, 32
// random bytes as 64 lowercase hex digits (no newline), mode 0600.
#include "tools/cli/init_steps.hpp"

#include <openssl/crypto.h>

namespace banger::init {

Status init_token(Context& ctx) {
  auto path = ctx.layout.state_dir() / "helper.token";
  if (!ctx.force && exists_no_follow(path)) {
    auto text = read_small_file(path);
    if (!text)
      return std::move(text).error();
    bool ok = text->size() == 64 && text->find_first_not_of("0123456789abcdef") == std::string::npos;
    OPENSSL_cleanse(text->data(), text->size());
    if (!ok)
      return invalid(path.string() + " is not 64 lowercase hex digits; run banger init --force");
    return keep_file(ctx, path, 0600);
  }
  auto action = fresh(ctx, path);
  auto token = random_hex(32);
  if (!token)
    return std::move(token).error();
  auto st = write_atomic(path, 0600, no_group, token->data(), token->size());
  OPENSSL_cleanse(token->data(), token->size());
  if (!st)
    return st;
  ctx.record(path, action, "mode 0600, 32 random bytes");
  return {};
}

} // namespace banger::init
