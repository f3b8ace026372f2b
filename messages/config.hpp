// The actor system configuration every banger executable starts from: all
// wire types registered, the banger.conf keys bound to Settings, middleman
// heartbeats on so a hung peer is noticed within seconds.
#pragma once

#include "messages/result.hpp"
#include "messages/settings.hpp"

#include <caf/actor_system_config.hpp>

#include <string>
#include <vector>

namespace banger {

class Config : public caf::actor_system_config {
public:
  Config();

  /// Parses <home>/banger.conf (if present), then `args` (--KEY=VALUE
  /// flags, which win). Unknown keys and malformed values are errors.
  Status read(const std::string& home, const std::vector<std::string>& args);

  /// What read() does once banger.conf's text is in hand; `origin` names it
  /// in errors. Separate so the parser can be fed text directly (tests/fuzz).
  Status parse_text(const std::string& text, const std::string& origin,
                    const std::vector<std::string>& args);

  Settings settings;
  std::string home;
};

} // namespace banger
