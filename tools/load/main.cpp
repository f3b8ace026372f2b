// banger-load: drives bangerd with many client actors and reports what it
// measured (see tools/load/options.cpp for the command line).
#include "messages/log.hpp"
#include "tools/load/driver.hpp"
#include "tools/load/floor.hpp"
#include "tools/load/options.hpp"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <unistd.h>

using namespace banger::load;

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  auto parsed = parse(args, std::getenv("BANGER_HOME"));
  if (parsed.kind == Parsed::Kind::help) {
    std::cout << parsed.text;
    return 0;
  }
  if (parsed.kind == Parsed::Kind::usage_error) {
    std::cerr << parsed.text;
    return 2;
  }
  const auto& options = parsed.options;
  if (options.floor && ::geteuid() != 0) {
    std::cerr << "banger-load: --floor creates taps and runs VMMs itself: run it as root\n";
    return 2;
  }
  // Host operations of the floor log like the helper; keep them quiet.
  banger::log::init_stderr("banger-load", banger::log::Level::error);

  auto outcome = run_driver(options);
  if (!outcome.setup_error.empty()) {
    std::cerr << "banger-load: " << outcome.setup_error << "\n";
    std::fflush(nullptr);
    std::_Exit(1);
  }
  auto& report = outcome.report;
  report.floor_only = options.floor_only;
  if (options.floor) {
    std::string error;
    report.floor = run_floor(FloorInput{options, outcome.image_rootfs, outcome.image_kernel}, error);
    if (!error.empty()) {
      std::cerr << "banger-load: floor: " << error << "\n";
      report.floor.reset();
    }
  }
  std::cout << to_text(report) << std::flush;
  if (!options.json_file.empty()) {
    std::ofstream out(options.json_file);
    out << to_json(report).dump(2) << "\n";
    if (!out) {
      std::cerr << "banger-load: cannot write " << options.json_file << "\n";
      std::fflush(nullptr);
      std::_Exit(1);
    }
  }
  bool clean = report.banger.stats.errors() == 0 && report.left_behind == 0
               && (!report.floor || report.floor->stats.errors() == 0);
  std::fflush(nullptr);
  // An actor system with open TLS connections may hang on destruction.
  std::_Exit(clean ? 0 : 1);
}
