// Assertions on banger results by error code.
#pragma once

#include "messages/result.hpp"

namespace banger::test {

/// The error code of a result; Errc::none when it succeeded.
template <class T>
Errc code_of(const Result<T>& r) {
  return r ? Errc::none : r.error().code;
}

} // namespace banger::test
