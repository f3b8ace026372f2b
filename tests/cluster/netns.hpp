// Namespaces for tests, held by file descriptor only: never named,
// never bind-mounted under /run/netns (what `ip netns add` does), so no other
// process can see one or collide with it, nothing in the root namespace
// changes, and the kernel frees one with its links once the last descriptor
// and the last process in it are gone. To look inside while a test runs:
// `nsenter --net=/proc/<pid of its bangerd>/ns/net ip addr`.
//
// The calling thread never changes namespace: work inside one runs on a
// short-lived thread that joins it (a socket belongs to the namespace of the
// thread that made it, wherever it is used later), and processes join it
// between fork and exec.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace banger::test {

/// A namespace the test made, held by an O_CLOEXEC descriptor (so no child
/// inherits it: an inherited one would keep it alive after the fixture let
/// it go).
class Namespace {
public:
  /// A new, empty network namespace (a loopback, down). Throws
  /// std::system_error (EPERM when not allowed to make one).
  static Namespace network();

  /// A mount namespace like the caller's, with a /sys of its own mounted
  /// from inside `network`: sysfs shows the links of the network namespace
  /// of whoever mounted it, and banger reads /sys/class/net. (`ip netns
  /// exec` does the same, per command.) Mount events reach it from the
  /// caller's namespace, never the other way.
  static Namespace mounts_for(const Namespace& network);

  Namespace(Namespace&& other) noexcept;
  Namespace& operator=(Namespace&& other) noexcept;
  Namespace(const Namespace&) = delete;
  Namespace& operator=(const Namespace&) = delete;
  ~Namespace();

  int fd() const { return fd_; }
  /// As /proc/<pid>/ns/* shows it: "net:[4026532593]".
  const std::string& identity() const { return identity_; }

private:
  explicit Namespace(int fd);
  int fd_ = -1;
  std::string identity_;
};

/// Where a child runs: a network and a mount namespace (-1: the caller's).
struct Place {
  int net = -1;
  int mnt = -1;
};

/// Runs `work` on a thread inside the namespace `netns_fd`; exceptions reach
/// the caller.
void inside(int netns_fd, const std::function<void()>& work);

/// A socket(domain, type | SOCK_CLOEXEC) of the namespace `netns_fd`.
int socket_in(int netns_fd, int domain, int type);

/// Forks and execs argv (argv[0] an absolute path) in `place`, with `extra_env` added, stdin from /dev/null and stdout/stderr
/// on the given descriptors. The child gets SIGKILL if the thread that
/// called this exits first (PR_SET_PDEATHSIG), so a test process that dies
/// takes its daemons along: call it from a thread that outlives the child.
pid_t spawn_in(Place place, const std::vector<std::string>& argv,
               const std::vector<std::string>& extra_env, int stdout_fd, int stderr_fd);

struct RunOutput {
  int exit_code = -1; ///< -1: killed at the deadline, or did not exit normally
  std::string out;
  std::string err;
};

/// Runs argv in `place` to completion, capturing stdout and stderr; killed
/// at `deadline`.
RunOutput run_in(Place place, const std::vector<std::string>& argv,
                 const std::vector<std::string>& extra_env, std::chrono::milliseconds deadline);

struct Holder {
  pid_t pid = -1;
  std::string what; ///< "task 12 of process 10 (bangerd) is in net:[4026532593]"
};

/// What keeps one of the namespaces `identities` ("net:[N]", "mnt:[N]")
/// alive: every task on the machine inside one and every descriptor that
/// refers to one. Zombies hold none and are not listed. The kernel reuses
/// the number of a freed namespace for the next one made, by anyone: a
/// holder found after a namespace was let go may hold a newer namespace.
/// (A socket made inside also holds its network namespace without showing
/// it here: the fixture closes its own.)
std::vector<Holder> holders_of(const std::vector<std::string>& identities);

/// /proc/<pid>/cmdline with NULs as spaces; "" when gone.
std::string command_line(pid_t pid);

/// Processes whose command line contains `text`.
std::vector<pid_t> processes_naming(const std::string& text);

/// Processes (not threads) whose network namespace is one of `identities`.
std::vector<pid_t> processes_in(const std::vector<std::string>& identities);

} // namespace banger::test
