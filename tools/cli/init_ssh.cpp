// state/ssh/: banger's SSH key for guests, made by ssh-keygen (the OpenSSH
// format is ssh-keygen's business), renamed into place private key first;
// on a cluster host, the cluster's key from the cluster CA directory.
#include "tools/cli/init_steps.hpp"

#include <openssl/crypto.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <sstream>
#include <vector>

namespace banger::init {

namespace {

Result<std::string> find_in_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::string dirs = path && *path ? path : "/usr/local/bin:/usr/bin:/bin";
  std::stringstream in(dirs);
  for (std::string dir; std::getline(in, dir, ':');) {
    auto candidate = (dir.empty() ? "." : dir) + "/" + program;
    if (::access(candidate.c_str(), X_OK) == 0)
      return candidate;
  }
  return Error{Errc::invalid_argument,
               program + " not found in PATH (install the openssh-client package)"};
}

// Runs ssh-keygen with stdin from /dev/null, stdout to `out_fd` (or
// /dev/null), stderr captured for the error message.
Status run_ssh_keygen(std::vector<std::string> args, int out_fd = -1) {
  auto bin = find_in_path("ssh-keygen");
  if (!bin)
    return std::move(bin).error();
  args.insert(args.begin(), *bin);
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  int err_pipe[2];
  if (::pipe2(err_pipe, O_CLOEXEC) != 0)
    return system_error("pipe2", "", errno);
  int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (devnull < 0) {
    int err = errno;
    ::close(err_pipe[0]);
    ::close(err_pipe[1]);
    return system_error("open", "/dev/null", err);
  }
  pid_t pid = ::fork();
  if (pid == 0) {
    // Only async-signal-safe calls between fork and exec.
    ::dup2(devnull, 0);
    ::dup2(out_fd >= 0 ? out_fd : devnull, 1);
    ::dup2(err_pipe[1], 2);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  int fork_errno = errno;
  ::close(err_pipe[1]);
  ::close(devnull);
  if (pid < 0) {
    ::close(err_pipe[0]);
    return system_error("fork", "ssh-keygen", fork_errno);
  }
  std::string errors;
  char chunk[1024];
  for (;;) {
    auto n = ::read(err_pipe[0], chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    if (errors.size() < 4096)
      errors.append(chunk, static_cast<std::size_t>(n));
  }
  ::close(err_pipe[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR)
      return system_error("waitpid", "ssh-keygen", errno);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
    return {};
  while (!errors.empty() && (errors.back() == '\n' || errors.back() == '\r'))
    errors.pop_back();
  return Error{Errc::internal, "ssh-keygen failed (" +
                                (WIFEXITED(status) ? "exit " + std::to_string(WEXITSTATUS(status))
                                                   : "signal " + std::to_string(WTERMSIG(status))) +
                                ")" + (errors.empty() ? "" : ": " + errors)};
}

} // namespace

Status make_ssh_key(Context& ctx, const fs::path& dir, const std::string& comment) {
  auto priv = dir / "id_ed25519";
  auto pub = dir / "id_ed25519.pub";
  auto priv_action = fresh(ctx, priv);
  // Without force, a public key with no private key is useless: replace it.
  auto pub_action = exists_no_follow(pub) ? InitAction::replaced : InitAction::created;
  std::string templ = (dir / ".keygen-XXXXXX").string();
  if (!::mkdtemp(templ.data()))
    return system_error("mkdtemp", templ, errno);
  fs::path tmp = templ;
  auto cleanup = [&] {
    std::error_code ec;
    fs::remove_all(tmp, ec);
  };
  auto tmp_priv = tmp / "id_ed25519";
  auto tmp_pub = tmp / "id_ed25519.pub";
  auto st = run_ssh_keygen({"-q", "-t", "ed25519", "-N", "", "-C", comment, "-f",
                            tmp_priv.string()});
  // ssh-keygen's modes went through the umask; the private key was never
  // wider than 0600 and the directory is 0700.
  if (st && ::chmod(tmp_priv.c_str(), 0600) != 0)
    st = system_error("chmod", tmp_priv.string(), errno);
  if (st && ::chmod(tmp_pub.c_str(), 0644) != 0)
    st = system_error("chmod", tmp_pub.string(), errno);
  if (st)
    st = fsync_path(tmp_priv, false);
  if (st)
    st = fsync_path(tmp_pub, false);
  if (st && ::rename(tmp_priv.c_str(), priv.c_str()) != 0)
    st = system_error("rename", priv.string(), errno);
  if (st && ::rename(tmp_pub.c_str(), pub.c_str()) != 0)
    st = system_error("rename", pub.string(), errno);
  cleanup();
  if (!st)
    return st;
  (void)fsync_path(dir, true); // the renames are done; a failed fsync only weakens durability
  ctx.record(priv, priv_action, "ed25519, mode 0600");
  ctx.record(pub, pub_action, "mode 0644");
  return {};
}

namespace {

/// A cluster host's key is the cluster's (--cluster-ca DIR: DIR/id_ed25519,
/// read by prepare_cluster): an image built on any member then accepts the
/// CLI of every member. A home that has another key keeps it unless
/// --force: images built with it would stop accepting this home's CLI.
Status install_cluster_ssh(Context& ctx) {
  auto dir = ctx.layout.ssh_dir();
  auto priv = dir / "id_ed25519";
  auto pub = dir / "id_ed25519.pub";
  auto from = ctx.cluster_ca_dir / "id_ed25519";
  if (!ctx.force && exists_no_follow(priv)) {
    auto kept = read_small_file(priv);
    if (!kept)
      return std::move(kept).error();
    bool same = *kept == ctx.cluster_ssh_key;
    OPENSSL_cleanse(kept->data(), kept->size());
    if (!same)
      return invalid(priv.string() + " is not the cluster's SSH key (" + from.string() +
                     "), and images built with it accept only this home's CLI; run banger "
                     "init --force --cluster-ca " + ctx.cluster_ca_dir.string() +
                     " --host-id " + ctx.host_id + " to install the cluster's (it reissues "
                     "the TLS files too; rebuild the images built here)");
    if (auto st = keep_file(ctx, priv, 0600); !st)
      return st;
  } else {
    auto action = fresh(ctx, priv);
    if (auto st = write_atomic(priv, 0600, no_group, ctx.cluster_ssh_key.data(),
                               ctx.cluster_ssh_key.size());
        !st)
      return st;
    ctx.record(priv, action, "the cluster's SSH key from " + from.string() + ", mode 0600");
  }
  if (!ctx.force && exists_no_follow(pub)) {
    auto kept = read_small_file(pub);
    if (kept && *kept == ctx.cluster_ssh_pub)
      return keep_file(ctx, pub, 0644);
  }
  auto action = exists_no_follow(pub) ? InitAction::replaced : InitAction::created;
  if (auto st = write_atomic(pub, 0644, no_group, ctx.cluster_ssh_pub.data(),
                             ctx.cluster_ssh_pub.size());
      !st)
    return st;
  ctx.record(pub, action, "the cluster's, mode 0644");
  return {};
}

} // namespace

// banger's SSH key for guests. ssh-keygen writes OpenSSH's format (0600 /
// 0644) into a private temporary directory; the files are then renamed into
// place, private key first, so a crash never leaves a public key that
// belongs to no private key next to a kept one.
Status init_ssh(Context& ctx) {
  if (!ctx.cluster_ssh_key.empty())
    return install_cluster_ssh(ctx);
  auto dir = ctx.layout.ssh_dir();
  auto priv = dir / "id_ed25519";
  auto pub = dir / "id_ed25519.pub";
  if (!ctx.force && exists_no_follow(priv)) {
    if (auto st = keep_file(ctx, priv, 0600); !st)
      return st;
    if (exists_no_follow(pub))
      return keep_file(ctx, pub, 0644);
    auto st = write_atomic(pub, 0644, no_group, [&](int fd) {
      return run_ssh_keygen({"-y", "-f", priv.string()}, fd);
    });
    if (!st)
      return st;
    ctx.record(pub, InitAction::created, "derived from the kept private key");
    return {};
  }
  return make_ssh_key(ctx, dir, "banger");
}

} // namespace banger::init
