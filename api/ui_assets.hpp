// The dashboard's files (api/ui/), compiled in by cmake/embed.cmake.
#pragma once

#include <span>
#include <string_view>

namespace banger::api {

struct UiAsset {
  std::string_view name; ///< "index.html", "app.js", ...
  std::string_view content_type;
  std::string_view data;
};

std::span<const UiAsset> ui_assets();

} // namespace banger::api
