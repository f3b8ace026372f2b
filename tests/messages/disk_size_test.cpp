// `vm create --disk SIZE`: sizes with a binary unit, whole MiB, bounded.
#include "messages/disk_size.hpp"

#include <doctest/doctest.h>

using namespace banger;

TEST_CASE("a disk size takes a binary unit and becomes bytes") {
  CHECK(*parse_disk_size("2G") == 2ull << 30);
  CHECK(*parse_disk_size("2GiB") == 2ull << 30);
  CHECK(*parse_disk_size("512M") == 512ull << 20);
  CHECK(*parse_disk_size("512MB") == 512ull << 20);
  CHECK(*parse_disk_size("65536K") == 64ull << 20);
  CHECK(*parse_disk_size("1T") == 1ull << 40);
  CHECK(format_disk_size(2ull << 30) == "2 GiB");
  CHECK(format_disk_size(1536ull << 20) == "1536 MiB");
}

TEST_CASE("a disk size without a unit, below 32 MiB, above 2 TiB or not whole MiB is refused") {
  for (const char* bad : {"", "2048", "G", "2X", "2Gb2", "-2G", "2.5G", "16M", "3T", "1000K",
                          "99999999999999999999G"}) {
    auto size = parse_disk_size(bad);
    CHECK_MESSAGE(!size, bad);
    if (!size)
      CHECK(size.error().code == Errc::invalid_argument);
  }
  CHECK(parse_disk_size("2048").error().message.find("no unit") != std::string::npos);
  CHECK_FALSE(check_disk_size((64ull << 20) + 512));
  CHECK(check_disk_size(32ull << 20));
  CHECK(check_disk_size(2ull << 40));
}
