// The image catalog: kernels and root filesystems VMs are created from.
// Add checks that every file is a regular file beneath <home>/images;
// remove refuses an image a VM still uses (asked of the directory).
#pragma once

#include "actors/internal_protocol.hpp"

#include <caf/fwd.hpp>

#include <vector>

namespace banger {

struct ImagesInit {
  store_actor store;
  directory_actor directory;
  std::string home;
  std::vector<Image> images; ///< recovered from the store
};

images_actor spawn_images(caf::actor_system& sys, ImagesInit init);

} // namespace banger
