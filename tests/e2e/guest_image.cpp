#include "tests/e2e/guest_image.hpp"

#include "messages/cli_protocol.hpp"
#include "tests/cli/cli_run.hpp"
#include "tests/support/host_fixture.hpp"

#include <doctest/doctest.h>

#include <map>
#include <sstream>

namespace banger::test {

using namespace std::chrono_literals;

Image build_deb_image(Host& host) {
  auto build = run({IMAGE_BUILDER, "--home", host.home(), "--name", "deb", "--vmm", "qemu"}, {},
                   300s);
  INFO("banger-image-build: " << build.err);
  REQUIRE(build.exit_code == 0);
  // The builder prints what to register as KEY=VALUE lines.
  std::map<std::string, std::string> out;
  std::stringstream lines(build.out);
  for (std::string line; std::getline(lines, line);)
    if (auto eq = line.find('='); eq != std::string::npos)
      out[line.substr(0, eq)] = line.substr(eq + 1);
  ImageAddRequest add;
  add.name = "deb";
  add.kernel_path = out["kernel"];
  add.initrd_path = out["initrd"];
  add.rootfs_path = out["rootfs"];
  add.boot_args = out["boot_args"];
  auto image = host.ask<Image>(add);
  REQUIRE_MESSAGE(image.ok(), (image.ok() ? "" : image.error().message));
  return *image;
}

} // namespace banger::test
