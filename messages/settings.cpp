#include "messages/settings.hpp"

#include <cstdlib>

namespace banger {

HomeAndArgs take_home(int argc, char** argv) {
  HomeAndArgs out;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--home" && i + 1 < argc) {
      out.home = argv[++i];
    } else if (arg.rfind("--home=", 0) == 0) {
      out.home = arg.substr(7);
    } else {
      out.args.push_back(std::move(arg));
    }
  }
  if (out.home.empty()) {
    const char* env = std::getenv("BANGER_HOME");
    out.home = env && *env ? env : default_home;
  }
  return out;
}

std::string connect_host(const std::string& listen) {
  if (listen.empty() || listen == "0.0.0.0")
    return "127.0.0.1";
  if (listen == "::" || listen == "[::]")
    return "::1";
  return listen;
}

} // namespace banger
