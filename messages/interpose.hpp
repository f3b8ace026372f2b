// For banger's interposers of libc and libssl calls (tls_error_queue,
// tls_guard, tls_poll_guard, tls_sigpipe): the definition the executable's
// own one stands in front of. Missing means the process cannot work as
// built, so it stops at once with the name.
#pragma once

#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>

namespace banger {

template <class Fn>
Fn next_definition(const char* name) {
  void* sym = ::dlsym(RTLD_NEXT, name);
  if (sym == nullptr) {
    std::fprintf(stderr, "banger: cannot find the next definition of %s: %s\n", name, ::dlerror());
    std::abort();
  }
  return reinterpret_cast<Fn>(sym);
}

} // namespace banger
