// The image catalog: kernels and root filesystems VMs are created from.
// Add uses regular files beneath <home>/images in place and imports any
// other into <home>/images/_imported/<id>/ (actors/image_import.hpp) with
// the daemon's own rights; remove refuses an image a VM still uses (asked
// of the directory), naming them all, and deletes what was imported.
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
