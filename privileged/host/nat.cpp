#include "privileged/host/nat.hpp"

#include "privileged/host/errors.hpp"
#include "privileged/host/route.hpp"
#include <memory>
#include <nftables/libnftables.h>

namespace banger::host {

namespace {

struct ContextDeleter {
  void operator()(nft_ctx* ctx) const { nft_ctx_free(ctx); }
};
using Context = std::unique_ptr<nft_ctx, ContextDeleter>;

/// Runs an nft script; `ok` tells success, `output`/`errors` what nft said.
/// Every name in a script was validated by validate_bridge_name and every
/// address formatted from integers: nothing untrusted reaches the parser.
Status run_nft(const std::string& script, std::string_view object, bool& ok,
               std::string* errors = nullptr) {
  Context ctx(nft_ctx_new(NFT_CTX_DEFAULT));
  if (!ctx)
    return Error{Errc::system, "nft_ctx_new: out of memory"};
  if (nft_ctx_buffer_output(ctx.get()) != 0 ||
      nft_ctx_buffer_error(ctx.get()) != 0)
    return Error{Errc::system, "nft_ctx_buffer_output: failed"};
  ok = nft_run_cmd_from_buffer(ctx.get(), script.c_str()) == 0;
  std::string text = nft_ctx_get_error_buffer(ctx.get());
  while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
    text.pop_back();
  if (errors)
    *errors = text;
  else if (!ok)
    return Error{Errc::system, "nft_run_cmd_from_buffer " +
                                   std::string(object) + ": " + text};
  return {};
}

} // namespace

std::string nat_table_name(std::string_view bridge) {
  return "banger_" + std::string(bridge);
}

Status ensure_nat(std::string_view bridge, const Ipv4Subnet& subnet) {
  if (auto st = validate_bridge_name(bridge); !st)
    return st;
  std::string table = "ip " + nat_table_name(bridge);
  // add + delete + add in one transaction: replaces a stale table atomically.
  std::string script =
      "add table " + table + "\n" + "delete table " + table + "\n" +
      "add table " + table + "\n" + "add chain " + table +
      " postrouting { type nat hook postrouting priority "
      "srcnat; policy accept; }\n" +
      "add rule " + table + " postrouting ip saddr " + subnet.to_string() +
      " oifname != \"" + std::string(bridge) + "\" masquerade\n";
  bool ok = false;
  if (auto st = run_nft(script, table, ok); !st)
    return st;
  return enable_ipv4_forwarding();
}

Status remove_nat(std::string_view bridge) {
  auto present = nat_present(bridge);
  if (!present)
    return std::move(present).error();
  std::string table = "ip " + nat_table_name(bridge);
  if (!*present)
    return not_found("nftables table " + table + " does not exist");
  bool ok = false;
  return run_nft("delete table " + table + "\n", table, ok);
}

Result<bool> nat_present(std::string_view bridge) {
  if (auto st = validate_bridge_name(bridge); !st)
    return std::move(st).error();
  std::string table = "ip " + nat_table_name(bridge);
  bool ok = false;
  std::string errors;
  if (auto st = run_nft("list table " + table + "\n", table, ok, &errors); !st)
    return std::move(st).error();
  if (ok)
    return true;
  if (errors.find("No such file or directory") != std::string::npos)
    return false;
  return Error{Errc::system, "nft list table " + table + ": " + errors};
}

} // namespace banger::host
