#include "actors/vm_ids.hpp"

#include "messages/home_layout.hpp"

#include <sys/stat.h>

namespace banger {

bool device_exists(const std::string& name) {
  struct stat st {};
  return ::stat(("/sys/class/net/" + name).c_str(), &st) == 0;
}

std::string mint_vm_id(const std::function<std::string()>& mint,
                       const std::function<bool(const std::string&)>& short_id_taken,
                       const std::function<bool(const std::string&)>& device_taken, int attempts) {
  for (int i = 0; i < attempts; ++i) {
    auto id = mint();
    if (!short_id_taken(short_id(id)) && !device_taken(tap_name(id)))
      return id;
  }
  return {};
}

} // namespace banger
