// Precompiled header shared by every target that talks CAF (see CMakeLists.txt).
#pragma once
#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>
