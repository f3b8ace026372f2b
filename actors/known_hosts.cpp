#include "actors/known_hosts.hpp"

#include <cerrno>
#include <fstream>
#include <sstream>

namespace banger {

namespace {

bool names_host(const std::string& field, const std::string& host) {
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
