#include "privileged/host/nft.hpp"

#include <memory>
#include <nftables/libnftables.h>

namespace banger::host {

namespace {

struct ContextDeleter {
  void operator()(nft_ctx* ctx) const { nft_ctx_free(ctx); }
};
using Context = std::unique_ptr<nft_ctx, ContextDeleter>;

std::string trimmed(const char* text) {
  std::string out = text ? text : "";
  while (!out.empty() && (out.back() == '\n' || out.back() == ' '))
    out.pop_back();
  return out;
}

} // namespace

Result<NftRun> run_nft(const std::string& script, bool json) {
  Context ctx(nft_ctx_new(NFT_CTX_DEFAULT));
  if (!ctx)
    return Error{Errc::system, "nft_ctx_new: out of memory"};
  if (nft_ctx_buffer_output(ctx.get()) != 0 || nft_ctx_buffer_error(ctx.get()) != 0)
    return Error{Errc::system, "nft_ctx_buffer_output: failed"};
  if (json)
    nft_ctx_output_set_flags(ctx.get(), NFT_CTX_OUTPUT_JSON | NFT_CTX_OUTPUT_HANDLE);
  NftRun run;
  run.ok = nft_run_cmd_from_buffer(ctx.get(), script.c_str()) == 0;
  run.errors = trimmed(nft_ctx_get_error_buffer(ctx.get()));
  run.output = nft_ctx_get_output_buffer(ctx.get());
  return run;
}

Status run_nft_checked(const std::string& script, std::string_view object) {
  auto run = run_nft(script);
  if (!run)
    return std::move(run).error();
  if (!run->ok)
    return Error{Errc::system, "nft_run_cmd_from_buffer " + std::string(object) + ": " + run->errors};
  return {};
}

bool nft_no_such_table(const NftRun& run) {
  return !run.ok && run.errors.find("No such file or directory") != std::string::npos;
}

} // namespace banger::host
