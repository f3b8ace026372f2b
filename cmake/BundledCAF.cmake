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

set(_caf_prefix ${CMAKE_BINARY_DIR}/_deps/caf)
set(_caf_lib ${_caf_prefix}/lib)
set(_caf_include ${_caf_prefix}/include)
# Imported targets need their include directory to exist at generate time.
file(MAKE_DIRECTORY ${_caf_include})

set(_caf_launcher "")
if(CCACHE_PROGRAM)
  set(_caf_launcher -DCMAKE_CXX_COMPILER_LAUNCHER=${CCACHE_PROGRAM})
endif()

ExternalProject_Add(caf_bundled
  URL ${BANGER_CAF_TARBALL}
  URL_HASH SHA256=e2bf5bd243f08bb7d8adde197cfe3e6d71314ed3378fe0692f8932f4c3b3928c
  DOWNLOAD_EXTRACT_TIMESTAMP TRUE
  PREFIX ${_caf_prefix}/work
  INSTALL_DIR ${_caf_prefix}
  PATCH_COMMAND ${CMAKE_COMMAND} -DSOURCE_DIR=<SOURCE_DIR>
                -P ${CMAKE_CURRENT_LIST_DIR}/caf_patch.cmake
  CMAKE_ARGS
    -Wno-dev
    -DCMAKE_BUILD_TYPE=Release
    # -O2 as Debian builds it (CAF's own Release default is -O3).
    "-DCMAKE_CXX_FLAGS_RELEASE=-O2 -DNDEBUG"
    -DCMAKE_CXX_COMPILER=${CMAKE_CXX_COMPILER}
    ${_caf_launcher}
    -DCMAKE_INSTALL_PREFIX=<INSTALL_DIR>
    -DCMAKE_INSTALL_LIBDIR=lib
    -DCMAKE_POSITION_INDEPENDENT_CODE=ON
    -DCAF_BUILD_STATIC_ONLY=yes
    -DCAF_NO_EXAMPLES=yes
    -DCAF_NO_UNIT_TESTS=yes
    -DCAF_NO_TOOLS=yes
    -DCAF_NO_PYTHON=yes
    -DCAF_NO_OPENCL=yes
    -DCAF_NO_SUMMARY=yes
  BUILD_BYPRODUCTS
    ${_caf_lib}/libcaf_core_static.a
    ${_caf_lib}/libcaf_io_static.a
    ${_caf_lib}/libcaf_openssl_static.a
  LOG_CONFIGURE ON
  LOG_BUILD ON
  LOG_INSTALL ON
  LOG_OUTPUT_ON_FAILURE ON)

find_package(Threads REQUIRED)
find_package(OpenSSL REQUIRED)
add_library(CAF::core STATIC IMPORTED GLOBAL)
set_target_properties(CAF::core PROPERTIES
  IMPORTED_LOCATION ${_caf_lib}/libcaf_core_static.a
  INTERFACE_INCLUDE_DIRECTORIES ${_caf_include}
  INTERFACE_LINK_LIBRARIES Threads::Threads)
add_dependencies(CAF::core caf_bundled)
add_library(CAF::io STATIC IMPORTED GLOBAL)
set_target_properties(CAF::io PROPERTIES
  IMPORTED_LOCATION ${_caf_lib}/libcaf_io_static.a
  INTERFACE_LINK_LIBRARIES CAF::core)
add_dependencies(CAF::io caf_bundled)
add_library(CAF::openssl STATIC IMPORTED GLOBAL)
set_target_properties(CAF::openssl PROPERTIES
  IMPORTED_LOCATION ${_caf_lib}/libcaf_openssl_static.a
  INTERFACE_LINK_LIBRARIES "CAF::io;OpenSSL::SSL;OpenSSL::Crypto")
add_dependencies(CAF::openssl caf_bundled)
set(CAF_VERSION 0.17.6)
