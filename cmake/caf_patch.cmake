# The one change Debian's packaged CAF 0.17.6 headers carry against the
# upstream tarball: receive_buffer.hpp uses std::numeric_limits without
# including <limits> (GCC 12 no longer includes it transitively). Patched,
# the header is byte for byte the one libcaf-dev installs.
set(_file ${SOURCE_DIR}/libcaf_io/caf/io/network/receive_buffer.hpp)
file(READ ${_file} _text)
if(NOT _text MATCHES "#include <limits>")
  string(REPLACE "#include <cstring>\n" "#include <cstring>\n#include <limits>\n" _patched "${_text}")
  if(_patched STREQUAL _text)
    message(FATAL_ERROR "caf_patch: ${_file} has changed; cannot add <limits>")
  endif()
  file(WRITE ${_file} "${_patched}")
endif()
