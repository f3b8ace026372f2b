// The one table of banger.conf's keys. Every reader and writer of the
// configuration comes from it: the CAF options of bangerd and banger-helper
// (messages/config.cpp), `banger init`'s banger.conf and its --set
// validation (tools/cli/init_settings.cpp), and the key list of
// docs/config.md (render_settings_doc, compared with the file by
// tests/messages/settings_table_test.cpp). A key, its default and its
// validator exist here and nowhere else.
#pragma once

#include "messages/result.hpp"
#include "messages/settings.hpp"

#include <array>
#include <chrono>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace banger {

/// How CAF's config format spells a key's value, and so the type Config
/// declares it with. The table's validator has the last word on the value.
enum class SettingSyntax { string, integer, boolean, duration };

/// The closed value lists of the choice keys. The helper maps the same
/// names to its enums (privileged/host/rootfs.cpp uses rootfs_strategy).
namespace choices {
inline constexpr std::array<std::string_view, 4> log_level{"debug", "info", "warn", "error"};
inline constexpr std::array<std::string_view, 2> vmm_kind{"firecracker", "qemu"};
inline constexpr std::array<std::string_view, 3> vmm_accel{"auto", "kvm", "tcg"};
inline constexpr std::array<std::string_view, 4> rootfs_strategy{"auto", "reflink",
                                                                 "dm-snapshot", "sparse-copy"};
} // namespace choices

struct SettingKey {
  const char* section; ///< "network": the [section] of banger.conf
  const char* key;     ///< "subnet": the key inside it
  SettingSyntax syntax;
  /// The accepted values in words ("port number 1-65535"); for a choice
  /// key, empty and `choices` lists them.
  const char* accepts;
  std::span<const std::string_view> choices;
  const char* help;
  /// Validates `value` (banger.conf text, unquoted) and stores it. The
  /// error says why, without the key's name (apply_setting adds it).
  Status (*apply)(Settings& settings, std::string_view value);
  /// The key's value in `settings` as banger.conf text, unquoted.
  std::string (*value)(const Settings& settings);

  /// "network.subnet"
  std::string name() const { return std::string(section) + "." + key; }
  /// What the key accepts, for errors and docs: `accepts` or the choices.
  std::string accepted() const;
};

/// Every key, in banger.conf order.
std::span<const SettingKey> settings_table();

/// The key named `name` ("network.subnet"), or nullptr.
const SettingKey* find_setting(std::string_view name);

/// Sets one key of `settings` by its dotted name (as in banger.conf and
/// `--KEY=VALUE`), validating the value. Unknown keys are refused with the
/// list of known ones; every error starts with the key's name.
Status apply_setting(Settings& settings, std::string_view name, std::string_view value);

/// Every key apply_setting accepts, in banger.conf order.
std::vector<std::string> setting_keys();

/// Rules that span keys, checked once every key has its value.
Status check_settings(const Settings& settings);

/// A duration as banger.conf writes it: digits and a unit (ms, s, min, h),
/// at most 24 hours.
Result<std::chrono::milliseconds> parse_setting_duration(std::string_view text);

/// banger.conf text for `settings`, as `banger init` writes it.
std::string render_config(const Settings& settings);

/// The key list of docs/config.md: one Markdown table row per key.
std::string render_settings_doc();

} // namespace banger
