#include "messages/settings.hpp"

#include <cstdlib>
#include <sstream>

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

namespace {

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\')
      out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

} // namespace

std::string render_config(const Settings& s) {
  std::ostringstream out;
  out << "; banger configuration (CAF config format). Every key can also be\n"
         "; given on the command line as --KEY=VALUE.\n\n"
      << "[daemon]\n"
      << "listen=" << quoted(s.daemon_listen) << "\n"
      << "port=" << s.daemon_port << "\n"
      << "log-level=" << quoted(s.daemon_log_level) << "\n"
      << "vm-queue=" << s.daemon_vm_queue << "\n\n"
      << "[helper]\n"
      << "port=" << s.helper_port << "\n\n"
      << "[vmm]\n"
      << "kind=" << quoted(s.vmm_kind) << "\n"
      << "firecracker-bin=" << quoted(s.vmm_firecracker_bin) << "\n"
      << "jailer-bin=" << quoted(s.vmm_jailer_bin) << "\n"
      << "qemu-bin=" << quoted(s.vmm_qemu_bin) << "\n"
      << "accel=" << quoted(s.vmm_accel) << "\n"
      << "user=" << quoted(s.vmm_user) << "\n"
      << "stop-grace=" << s.vmm_stop_grace.count() << "ms\n"
      << "kill-grace=" << s.vmm_kill_grace.count() << "ms\n"
      << "boot-timeout=" << s.vmm_boot_timeout.count() << "ms\n\n"
      << "[network]\n"
      << "bridge=" << quoted(s.network_bridge) << "\n"
      << "subnet=" << quoted(s.network_subnet) << "\n"
      << "nat=" << (s.network_nat ? "true" : "false") << "\n\n"
      << "[rootfs]\n"
      << "strategy=" << quoted(s.rootfs_strategy) << "\n";
  return out.str();
}

std::string connect_host(const std::string& listen) {
  if (listen.empty() || listen == "0.0.0.0")
    return "127.0.0.1";
  if (listen == "::" || listen == "[::]")
    return "::1";
  return listen;
}

} // namespace banger
