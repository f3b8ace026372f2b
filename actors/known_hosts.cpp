#include "actors/known_hosts.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cerrno>
#include <fstream>
#include <sstream>

namespace banger {

namespace {

std::string base64_decode(const std::string& text) {
  std::string out(text.size(), '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0)
    return {};
  // EVP_DecodeBlock counts the '=' padding as zero bytes.
  for (auto it = text.rbegin(); it != text.rend() && *it == '='; ++it)
    --n;
  out.resize(static_cast<std::size_t>(n));
  return out;
}

/// OpenSSH's hashed form (HashKnownHosts yes, Debian's default):
/// |1|base64(salt)|base64(HMAC-SHA1(salt, host)).
bool hashed_entry_names(const std::string& entry, const std::string& host) {
  auto bar = entry.find('|', 3);
  if (entry.compare(0, 3, "|1|") != 0 || bar == std::string::npos)
    return false;
  auto salt = base64_decode(entry.substr(3, bar - 3));
  auto want = base64_decode(entry.substr(bar + 1));
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (salt.empty() || !HMAC(EVP_sha1(), salt.data(), static_cast<int>(salt.size()),
                            reinterpret_cast<const unsigned char*>(host.data()), host.size(),
                            mac, &len))
    return false;
  return want.size() == len && want.compare(0, len, reinterpret_cast<char*>(mac), len) == 0;
}

bool names_host(const std::string& field, const std::string& host) {
  if (hashed_entry_names(field, host))
    return true;
  std::stringstream hosts(field);
  std::string entry;
  while (std::getline(hosts, entry, ',')) {
    if (entry == host)
      return true;
    if (entry.size() > host.size() + 2 && entry[0] == '['
        && entry.compare(1, host.size(), host) == 0 && entry[host.size() + 1] == ']')
      return true;
  }
  return false;
}

} // namespace

Status remove_host_key_pins(const std::filesystem::path& known_hosts, const std::string& host) {
  if (host.empty())
    return {};
  std::ifstream in(known_hosts);
  if (!in)
    return {};
  std::string kept, line;
  bool changed = false;
  while (std::getline(in, line)) {
    auto space = line.find(' ');
    if (!line.empty() && line[0] != '#' && space != std::string::npos
        && names_host(line.substr(0, space), host)) {
      changed = true;
      continue;
    }
    kept += line + "\n";
  }
  in.close();
  if (!changed)
    return {};
  auto temp = known_hosts;
  temp += ".tmp";
  {
    std::ofstream out(temp, std::ios::trunc);
    out << kept;
    if (!out)
      return system_error("write", temp.string(), errno);
  }
  std::error_code ec;
  std::filesystem::rename(temp, known_hosts, ec);
  if (ec)
    return Error{Errc::system, "rename " + temp.string() + ": " + ec.message()};
  return {};
}

} // namespace banger
