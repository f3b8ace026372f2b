#include "api/handlers.hpp"
#include "api/ui_assets.hpp"

namespace banger::api {

namespace {

void serve(Exchange& x, std::string_view name) {
  for (auto& asset : ui_assets())
    if (asset.name == name) {
      x.res.status = 200;
      x.res.set_header("Cache-Control", "no-cache");
      x.res.set_header("X-Content-Type-Options", "nosniff");
      // The page talks to this origin only (docs/api.md, "The dashboard").
      x.res.set_header("Content-Security-Policy",
                       "default-src 'self'; connect-src 'self'; img-src 'self' data:; "
                       "frame-ancestors 'none'");
      x.res.set_content(std::string(asset.data), std::string(asset.content_type).c_str());
      return;
    }
  x.fail(404, "not_found", "no dashboard file " + std::string(name));
}

} // namespace

void ui_root(Exchange& x) {
  if (x.req.path == "/ui") { // the page's own links are relative to /ui/
    x.res.status = 301;
    x.res.set_header("Location", "/ui/");
    return;
  }
  serve(x, "index.html");
}

void ui_page(Exchange& x) {
  serve(x, x.param(1));
}

} // namespace banger::api
