// banger-guest-agent: runs as root inside a guest and serves the host's
// exec, file and identity requests over one byte stream (docs/agent.md).
// It trusts the host, which owns the VM anyway; it still bounds everything
// it holds, so a broken host cannot make it grow without end.
#include "banger/version.hpp"
#include "tools/guest-agent/link.hpp"
#include "tools/guest-agent/transport.hpp"

#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <cstdio>
#include <cstring>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

namespace {

constexpr const char* usage =
    "usage: banger-guest-agent [--connect-unix PATH | --serial PATH | --fd N]\n"
    "  default: the virtio-serial port org.banger.agent.0, else vsock port 1024\n"
    "  --fd N: serve the one connection already open on descriptor N, then exit\n"
    "  --identity-root DIR: apply identities as files under DIR only (an agent\n"
    "    that runs on a host, as under fc-stub, must not change the host)\n";

} // namespace

int main(int argc, char** argv) {
  using namespace banger::guest;
  TransportChoice choice;
  int given_fd = -1;
  std::string identity_root;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--fd" && i + 1 < argc) {
      char* end = nullptr;
      long n = std::strtol(argv[++i], &end, 10);
      if (!end || *end || n < 0 || n > 1 << 20) {
        std::fputs(usage, stderr);
        return 2;
      }
      given_fd = static_cast<int>(n);
    } else if ((arg == "--connect-unix" || arg == "--serial") && i + 1 < argc) {
      choice.kind = arg == "--serial" ? TransportChoice::Kind::serial
                                      : TransportChoice::Kind::unix_socket;
      choice.path = argv[++i];
    } else if (arg == "--identity-root" && i + 1 < argc) {
      identity_root = argv[++i];
      if (identity_root.empty() || identity_root.front() != '/') {
        std::fputs("banger-guest-agent: --identity-root needs an absolute folder\n", stderr);
        return 2;
      }
    } else if (arg == "--version") {
      std::printf("banger-guest-agent %s\n", banger::version);
      return 0;
    } else {
      std::fputs(usage, arg == "--help" ? stdout : stderr);
      return arg == "--help" ? 0 : 2;
    }
  }
  // A host that closes its end mid-write is a closed link, not a reason
  // to die.
  std::signal(SIGPIPE, SIG_IGN);
  // Files the agent creates get the modes it asks for; the working
  // directory pins no mount point.
  ::umask(022);
  if (::chdir("/") != 0)
    std::perror("banger-guest-agent: chdir /");
  // Commands run by an agent that init started with no PATH still find
  // their programs.
  ::setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 0);

  Children children;
  AgentInfo info{banger::version, read_first_line("/proc/sys/kernel/random/boot_id"),
                 identity_root};
  if (given_fd >= 0) {
    // One connection someone else made (fc-stub's vsock, docs/fc-stub.md):
    // there is nothing to reconnect to once it ends.
    ::fcntl(given_fd, F_SETFD, FD_CLOEXEC);
    ::fcntl(given_fd, F_SETFL, ::fcntl(given_fd, F_GETFL) | O_NONBLOCK);
    Link link(Fd(given_fd), info, children, -1);
    link.run();
    std::fprintf(stderr, "banger-guest-agent: link ended: %s\n", link.why().c_str());
    return 0;
  }
  Transport transport(choice);
  for (;;) {
    Link link(transport.connect(children), info, children, transport.listener());
    auto end = link.run();
    std::fprintf(stderr, "banger-guest-agent: link ended: %s\n", link.why().c_str());
    (void)end;
  }
}
