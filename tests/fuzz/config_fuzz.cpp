// banger.conf, read by both of its readers: `banger init`'s own
// (parse_config_text, which merges options into an existing file) and the
// daemons' (Config, CAF's config format). What init writes, every daemon must
// read back to the same settings.
#include "messages/settings.hpp"
#include "tests/fuzz/fuzz_check.hpp"
#include "tools/cli/init.hpp"

#ifndef BANGER_FUZZ_WITHOUT_CAF // see tests/fuzz/CMakeLists.txt
#include "messages/config.hpp"
#endif

#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(banger::fuzz::as_text(data, size));

  if (auto settings = banger::parse_config_text(text)) {
    // init's reader takes back what init writes, unchanged.
    const auto written = banger::render_config(*settings);
    auto reread = banger::parse_config_text(written);
    if (!reread)
      std::fprintf(stderr, "init cannot read back:\n%s\n%s\n", written.c_str(),
                   reread.error().message.c_str());
    FUZZ_CHECK(reread);
    FUZZ_CHECK(banger::render_config(*reread) == written);
#ifndef BANGER_FUZZ_WITHOUT_CAF
    // ...and so do bangerd and banger-helper.
    banger::Config daemon;
    auto read = daemon.parse_text(written, "banger.conf", {});
    if (!read)
      std::fprintf(stderr, "daemon cannot read:\n%s\n%s\n", written.c_str(),
                   read.error().message.c_str());
    FUZZ_CHECK(read);
    FUZZ_CHECK(banger::render_config(daemon.settings) == written);
#endif
  }

#ifndef BANGER_FUZZ_WITHOUT_CAF
  // The daemons' reader on anything: refuses or accepts, never crashes.
  banger::Config daemon;
  (void)daemon.parse_text(text, "banger.conf", {});
#endif
  return 0;
}
