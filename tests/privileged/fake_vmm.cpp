// A stand-in VMM for the host-operation tests: reports what it was started
// with (argv, environment variable, user, signal state, open descriptors) on
// stdout, which launch_vmm points at the VM's log; binds --api-sock if given,
// as firecracker does; answers SIGUSR1 with a line; dies on SIGTERM.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <signal.h>
#include <string>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace {

void on_usr1(int) {
  const char line[] = "fake-vmm: got USR1\n";
  ssize_t ignored = ::write(1, line, sizeof line - 1);
  (void)ignored;
}

std::string open_fds() {
  std::string out;
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr)
    return "?";
  int own = ::dirfd(dir);
  while (auto* entry = ::readdir(dir)) {
    if (entry->d_name[0] == '.' || std::atoi(entry->d_name) == own)
      continue;
    out += out.empty() ? "" : ",";
    out += entry->d_name;
  }
  ::closedir(dir);
  return out;
}

void bind_api_socket(const char* path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path, sizeof addr.sun_path - 1);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) ||
      ::listen(fd, 1)) {
    std::printf("fake-vmm: cannot bind %s: %s\n", path, std::strerror(errno));
    return;
  }
  std::printf("fake-vmm: listening on %s\n", path);
}

} // namespace

int main(int argc, char** argv) {
  std::printf("fake-vmm: argv");
  for (int i = 0; i < argc; ++i)
    std::printf(" [%s]", argv[i]);
  std::printf("\n");

  struct sigaction current {};
  ::sigaction(SIGCHLD, nullptr, &current);
  std::printf("fake-vmm: sigchld=%s\n",
              current.sa_handler == SIG_IGN ? "ignored" : "default");
  sigset_t mask;
  ::sigprocmask(SIG_SETMASK, nullptr, &mask);
  std::printf("fake-vmm: sigmask=%s\n",
              sigisemptyset(&mask) ? "empty" : "blocked");
  const char* echo = std::getenv("BANGER_FAKE_VMM_ECHO");
  std::printf("fake-vmm: echo=%s\n", echo ? echo : "");
  std::printf("fake-vmm: uid=%u gid=%u sid=%d pid=%d\n", ::getuid(), ::getgid(),
              static_cast<int>(::getsid(0)), static_cast<int>(::getpid()));
  std::printf("fake-vmm: fds=%s\n", open_fds().c_str());

  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], "--api-sock") == 0)
      bind_api_socket(argv[i + 1]);

  struct sigaction usr1 {};
  usr1.sa_handler = on_usr1;
  ::sigaction(SIGUSR1, &usr1, nullptr);
  std::printf("fake-vmm: ready\n");
  std::fflush(stdout);
  for (;;)
    ::pause();
}
