// The dashboard (/ui/) in a real browser: Debian's Chromium, headless,
// driven by playwright-core (tests/api/browser/dashboard.mjs) with the CLI's
// client certificate, against the real daemon with fc-stub VMMs. The page
// creates a VM, sees it reach running through the event stream, shows its
// stages, stops and removes it; the screenshot is kept in the build's
// tests/artifacts/. Root only; skipped without node, Chromium or the
// browser package (tools/install-deps.sh installs them).
#include "tests/api/api_client.hpp"
#include "tests/cli/cli_run.hpp"
#include "tests/support/skip.hpp"

#include <doctest/doctest.h>

#include <filesystem>

using namespace banger;
using namespace banger::test;
using namespace std::chrono_literals;

TEST_CASE("in headless Chromium the dashboard creates a VM, follows it to running, stops and removes it") {
  BANGER_REQUIRE_ROOT();
  if (!have_program("node") || !have_program("curl"))
    BANGER_SKIP("node or curl is not installed");
  if (!std::filesystem::exists("/usr/bin/chromium"))
    BANGER_SKIP("Debian's chromium is not installed");
  if (!std::filesystem::exists(BROWSER_DIR "/node_modules/playwright-core"))
    BANGER_SKIP("playwright-core is not installed (tools/install-deps.sh runs npm ci in tests/api/browser)");
  ApiHost api;
  api.start();
  api.host().add_image("tiny");
  std::filesystem::create_directories(ARTIFACTS_DIR);
  const std::string screenshot = ARTIFACTS_DIR "/dashboard.png";
  std::filesystem::remove(screenshot);
  auto r = run({"node", BROWSER_DIR "/dashboard.mjs"},
               {"BANGER_API=" + api.url(""), "BANGER_CERT=" + api.cert(), "BANGER_KEY=" + api.key(),
                "BANGER_IMAGE=tiny", "BANGER_SCREENSHOT=" + screenshot, "HOME=" + api.host().home()},
               300s);
  if (r.exit_code == skip_exit_code)
    BANGER_SKIP(r.out);
  CHECK_MESSAGE(r.exit_code == 0, r.out << r.err);
  CHECK(std::filesystem::exists(screenshot));
  // What the page did is what the daemon did: the VM came and went.
  auto ops = api.get("/metrics").body;
  CHECK(ops.find("banger_operations_total{kind=\"vm.create\",outcome=\"succeeded\"} 1\n") != std::string::npos);
  CHECK(ops.find("banger_operations_total{kind=\"vm.stop\",outcome=\"succeeded\"} 1\n") != std::string::npos);
  CHECK(api.get("/v1/vms").json()["vms"].empty());
}
