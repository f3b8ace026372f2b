// The importer: one detached actor per `image add` that copies files in.
// Detached because the copy blocks on disk I/O for as long as the files
// are big; it works in bounded steps (a message to itself each), so it
// reports progress and sees an exit (daemon shutdown) between two steps.
#pragma once

#include "actors/image_import.hpp"
#include "actors/internal_protocol.hpp"

#include <caf/fwd.hpp>

#include <memory>
#include <string>

namespace banger {

/// Spawns the importer of `op_id`, watching `parent` (the images actor it
/// reports to, ImportProgress then ImportFinished): when the daemon shuts
/// down mid-copy, it ends and removes its partial folder.
void spawn_importer(images_actor::pointer parent, std::string op_id,
                    std::shared_ptr<ImageImport> job);

} // namespace banger
