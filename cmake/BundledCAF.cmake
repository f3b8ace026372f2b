# BundledCAF: CAF 0.17.6 built from Debian's own source package
# (actor-framework_0.17.6.orig.tar.gz, the source of libcaf-dev) as static
# libraries, and defined as CAF::core, CAF::io and CAF::openssl.
#
# Why not Debian's shared libcaf: its ~12,000 symbolic relocations (vtables
# and typeinfo across libcaf_core and libcaf_io) are resolved by the dynamic
# loader at every process start, about 3 ms of each CLI call on a machine where
# the whole `vm show` takes 12-15 ms (BENCHMARKS.md "CLI start-up"). Linked
# statically, the linker resolves them once. The version, the options and
# build_config.hpp are those of Debian's build (logging compiled out, C++11);
# the one header fix Debian's packaged headers carry (receive_buffer.hpp
# includes <limits>) is applied by caf_patch.cmake.
#
# The tarball is fetched by tools/install-deps.sh from Debian's archive and
# checked against the SHA-256 of Debian's source index; without it the build
# uses Debian's shared libcaf (cmake/FindCAF.cmake).
include(ExternalProject)

set(_caf_sha256 e2bf5bd243f08bb7d8adde197cfe3e6d71314ed3378fe0692f8932f4c3b3928c)
set(_caf_args
  -Wno-dev
  -DCMAKE_BUILD_TYPE=Release
  # -O2 as Debian builds it (CAF's own Release default is -O3).
  "-DCMAKE_CXX_FLAGS_RELEASE=-O2 -DNDEBUG"
  -DCMAKE_CXX_COMPILER=${CMAKE_CXX_COMPILER}
  -DCMAKE_INSTALL_LIBDIR=lib
  -DCMAKE_POSITION_INDEPENDENT_CODE=ON
  -DCAF_BUILD_STATIC_ONLY=yes
  -DCAF_NO_EXAMPLES=yes
  -DCAF_NO_UNIT_TESTS=yes
  -DCAF_NO_TOOLS=yes
  -DCAF_NO_PYTHON=yes
  -DCAF_NO_OPENCL=yes
  -DCAF_NO_SUMMARY=yes)

# Built once per machine and compiler, outside any build tree: every clone
# and build directory uses the same headers at the same path, so the
# precompiled CAF header (banger_caf_pch) and the compiler cache's entries
# carry over between clones, and a fresh clone does not build CAF again.
file(READ ${CMAKE_CURRENT_LIST_DIR}/caf_patch.cmake _caf_patch)
string(SHA256 _caf_key
  "${_caf_sha256};${_caf_patch};${_caf_args};${CMAKE_CXX_COMPILER_ID};${CMAKE_CXX_COMPILER_VERSION}")
string(SUBSTRING ${_caf_key} 0 16 _caf_key)
set(BANGER_CAF_PREFIX "$ENV{HOME}/.cache/banger/caf/0.17.6-${_caf_key}"
    CACHE PATH "Where the static CAF is installed (made when missing)")
set(_caf_lib ${BANGER_CAF_PREFIX}/lib)
set(_caf_include ${BANGER_CAF_PREFIX}/include)
set(_caf_libs
  ${_caf_lib}/libcaf_core_static.a
  ${_caf_lib}/libcaf_io_static.a
  ${_caf_lib}/libcaf_openssl_static.a)
# Imported targets need their include directory to exist at generate time.
file(MAKE_DIRECTORY ${_caf_include})

if(NOT EXISTS ${BANGER_CAF_PREFIX}/complete)
  set(_caf_launcher "")
  if(CCACHE_PROGRAM)
    set(_caf_launcher -DCMAKE_CXX_COMPILER_LAUNCHER=${CCACHE_PROGRAM})
  endif()
  set(_caf_stage ${CMAKE_BINARY_DIR}/_deps/caf/stage)
  ExternalProject_Add(caf_bundled
    URL ${BANGER_CAF_TARBALL}
    URL_HASH SHA256=${_caf_sha256}
    DOWNLOAD_EXTRACT_TIMESTAMP TRUE
    PREFIX ${CMAKE_BINARY_DIR}/_deps/caf/work
    INSTALL_DIR ${_caf_stage}
    PATCH_COMMAND ${CMAKE_COMMAND} -DSOURCE_DIR=<SOURCE_DIR>
                  -P ${CMAKE_CURRENT_LIST_DIR}/caf_patch.cmake
    CMAKE_ARGS ${_caf_args} ${_caf_launcher} -DCMAKE_INSTALL_PREFIX=<INSTALL_DIR>
    LOG_CONFIGURE ON
    LOG_BUILD ON
    LOG_INSTALL ON
    LOG_OUTPUT_ON_FAILURE ON)
  # Into the shared prefix file by file (each renamed into place, so another
  # build linking meanwhile never reads half a library), "complete" last.
  ExternalProject_Add_Step(caf_bundled publish
    COMMAND ${CMAKE_COMMAND} -DSTAGE=${_caf_stage} -DPREFIX=${BANGER_CAF_PREFIX}
            -P ${CMAKE_CURRENT_LIST_DIR}/caf_publish.cmake
    DEPENDEES install
    BYPRODUCTS ${_caf_libs})
endif()

find_package(Threads REQUIRED)
find_package(OpenSSL REQUIRED)
add_library(CAF::core STATIC IMPORTED GLOBAL)
set_target_properties(CAF::core PROPERTIES
  IMPORTED_LOCATION ${_caf_lib}/libcaf_core_static.a
  INTERFACE_INCLUDE_DIRECTORIES ${_caf_include}
  INTERFACE_LINK_LIBRARIES Threads::Threads)
add_library(CAF::io STATIC IMPORTED GLOBAL)
set_target_properties(CAF::io PROPERTIES
  IMPORTED_LOCATION ${_caf_lib}/libcaf_io_static.a
  INTERFACE_LINK_LIBRARIES CAF::core)
add_library(CAF::openssl STATIC IMPORTED GLOBAL)
set_target_properties(CAF::openssl PROPERTIES
  IMPORTED_LOCATION ${_caf_lib}/libcaf_openssl_static.a
  INTERFACE_LINK_LIBRARIES "CAF::io;OpenSSL::SSL;OpenSSL::Crypto")
if(TARGET caf_bundled)
  foreach(_t core io openssl)
    add_dependencies(CAF::${_t} caf_bundled)
  endforeach()
endif()
set(CAF_VERSION 0.17.6)
