#include "privileged/host/nat.hpp"

#include "privileged/host/errors.hpp"
#include "privileged/host/nft.hpp"
#include "privileged/host/route.hpp"

namespace banger::host {

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
  if (auto st = run_nft_checked(script, table); !st)
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
  return run_nft_checked("delete table " + table + "\n", table);
}

Result<bool> nat_present(std::string_view bridge) {
  if (auto st = validate_bridge_name(bridge); !st)
    return std::move(st).error();
  std::string table = "ip " + nat_table_name(bridge);
  auto run = run_nft("list table " + table + "\n");
  if (!run)
    return std::move(run).error();
  if (run->ok)
    return true;
  if (nft_no_such_table(*run))
    return false;
  return Error{Errc::system, "nft list table " + table + ": " + run->errors};
}

} // namespace banger::host
