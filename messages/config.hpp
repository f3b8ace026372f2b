// The actor system configuration every banger executable starts from: all
// wire types registered, every key of the settings table
// (messages/settings_table.hpp) declared as a CAF option, middleman
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
  /// flags, which win). Unknown keys and malformed values are errors; every
  /// value then goes through the table's validator, so bangerd and
  /// banger-helper accept exactly what `banger init` accepts.
  Status read(const std::string& home, const std::vector<std::string>& args);

  /// What read() does once banger.conf's text is in hand; `origin` names it
  /// in errors. Separate so the parser can be fed text directly (tests/fuzz).
  Status parse_text(const std::string& text, const std::string& origin,
                    const std::vector<std::string>& args);

  Settings settings;
  std::string home;

private:
  /// Where CAF stores one key's value before the table validates it, in the
  /// C++ type of its SettingSyntax (one per table entry, same order).
  struct RawValue {
    std::string text;
    std::int64_t integer = 0;
    bool boolean = false;
    caf::timespan duration{};
  };
  std::vector<RawValue> raw_;
};

} // namespace banger
