// The guest image every QEMU e2e suite of guest_e2e_test boots: Debian's
// kernel, busybox and dropbear from banger-image-build, registered as "deb".
#pragma once

#include "messages/records.hpp"

namespace banger::test {

class Host;

/// Builds the image into `host`'s home and registers it; REQUIREs both.
Image build_deb_image(Host& host);

} // namespace banger::test
