// One libnftables transaction, shared by NAT (nat.hpp) and published ports
// (ports.hpp): no `nft` or `iptables` process.
#pragma once

#include "messages/result.hpp"

#include <string>
#include <string_view>

namespace banger::host {

struct NftRun {
  bool ok = false;     ///< nft accepted and committed the script
  std::string errors;  ///< what nft said on failure, trailing blanks cut
  std::string output;  ///< what a `list` printed
};

/// Runs `script` as one transaction (all of it or none). Every name in a
/// script must be validated and every address formatted from integers by
/// the caller: nothing untrusted may reach nft's parser. `json`: list
/// output in nft's JSON form. The Status fails only when libnftables
/// itself cannot run; a refused script is `ok == false`.
Result<NftRun> run_nft(const std::string& script, bool json = false);

/// run_nft, with a refused script as an error naming `object`.
Status run_nft_checked(const std::string& script, std::string_view object);

/// Whether nft's errors say the listed table does not exist.
bool nft_no_such_table(const NftRun& run);

} // namespace banger::host
