// `banger image build NAME`: runs banger-image-build, the bash script copied
// next to the banger binary, to make <home>/images/NAME/ from Debian 12
// (--distro minimal or debian), then registers the result the way `banger
// image add` does (in place: the files are beneath <home>/images). --force
// and --size are the builder's --force and --size-mib; --force also replaces
// the image's record. --distro, --packages and --agent are passed through;
// without --agent, the banger-guest-agent next to this binary is, when there
// is one. The build runs on this machine, so like `vm logs` it assumes the
// CLI shares the daemon's host and home.
#include "tools/cli/client.hpp"
#include "tools/cli/commands.hpp"

#include "messages/error.hpp"

#include <caf/all.hpp>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>

extern char** environ;

namespace banger::cli {

namespace {

constexpr const char* builder_name = "banger-image-build";
constexpr const char* agent_name = "banger-guest-agent";

/// `name` next to this executable; "" if /proc/self/exe is unreadable.
std::filesystem::path beside_self(const char* name) {
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec)
    return {};
  return self.parent_path() / name;
}

/// What the builder prints on stdout: kernel=, initrd=, rootfs=, boot_args=.
using BuildOutput = std::map<std::string, std::string>;

/// Runs the builder with stderr passed through (its progress lines) and
/// stdout collected. On failure, `error` says why.
std::optional<BuildOutput> run_builder(const std::vector<std::string>& argv, std::string& error) {
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) {
    error = std::string("pipe: ") + std::strerror(errno);
    return std::nullopt;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  std::vector<char*> cargv;
  for (const auto& arg : argv)
    cargv.push_back(const_cast<char*>(arg.c_str()));
  cargv.push_back(nullptr);
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, cargv[0], &actions, nullptr, cargv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  if (rc != 0) {
    ::close(out[0]);
    error = "cannot run " + argv[0] + ": " + std::strerror(rc);
    return std::nullopt;
  }
  std::string text;
  char buf[4096];
  for (;;) {
    auto n = ::read(out[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    text.append(buf, static_cast<std::size_t>(n));
  }
  ::close(out[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    error = std::string(builder_name)
            + (WIFEXITED(status) ? " exited with status " + std::to_string(WEXITSTATUS(status))
                                 : " was killed by signal " + std::to_string(WTERMSIG(status)))
            + " (its messages are above)";
    return std::nullopt;
  }
  BuildOutput values;
  for (std::size_t pos = 0; pos < text.size();) {
    auto end = text.find('\n', pos);
    auto line = text.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    pos = end == std::string::npos ? text.size() : end + 1;
    if (auto eq = line.find('='); eq != std::string::npos)
      values[line.substr(0, eq)] = line.substr(eq + 1);
  }
  for (const auto* key : {"kernel", "rootfs"})
    if (values[key].empty()) {
      error = std::string(builder_name) + " printed no " + key + "=";
      return std::nullopt;
    }
  return values;
}

} // namespace

int cmd_image_build(Context& ctx) {
  const auto& name = ctx.inv.args[0];
  auto builder = beside_self(builder_name);
  if (builder.empty() || ::access(builder.c_str(), X_OK) != 0)
    return report_error(ctx, Errc::not_found,
                        "cannot find the image builder " + builder.string()
                          + " (it is built next to banger: build/bin/" + builder_name + ")",
                        "");

  // Fail before a build that would end in a name clash, or, with --force,
  // in replacing an image VMs still use.
  bool force = ctx.inv.has("--force");
  auto existing = ctx.session->call<Image>(ImageShowRequest{client_envelope(), name},
                                           ctx.timeout());
  if (existing && !force)
    return report_error(ctx, Errc::already_exists,
                        "an image named '" + name + "' already exists (--force replaces it, "
                          "banger image rm " + name + " removes it)",
                        "");
  if (!existing && view(existing.error()).code != Errc::not_found)
    return report_error(ctx, existing.error());
  if (existing) {
    auto list = ctx.session->call<VmList>(VmListRequest{client_envelope()}, ctx.timeout());
    if (!list)
      return report_error(ctx, list.error());
    std::string users;
    for (const auto& vm : list->vms)
      if (vm.image_id == existing->id)
        users += (users.empty() ? "'" : ", '") + vm.name + "'";
    if (!users.empty())
      return report_error(ctx, Errc::conflict,
                          "image '" + name + "' is used by " + users
                            + ": remove those VMs before replacing it",
                          "");
  }

  auto vmm = ctx.inv.value("--vmm");
  if (vmm.empty()) {
    auto status = ctx.session->call<DaemonStatus>(DaemonStatusRequest{client_envelope()},
                                                  ctx.timeout());
    if (!status)
      return report_error(ctx, status.error());
    vmm = status->vmm_kind;
  }

  std::string error;
  std::vector<std::string> argv{builder.string(), "--home", ctx.inv.global.home,
                                "--name",         name,    "--vmm", vmm};
  if (ctx.inv.has("--size"))
    argv.insert(argv.end(), {"--size-mib", ctx.inv.value("--size")});
  if (ctx.inv.has("--distro"))
    argv.insert(argv.end(), {"--distro", ctx.inv.value("--distro")});
  if (ctx.inv.has("--packages"))
    argv.insert(argv.end(), {"--packages", ctx.inv.value("--packages")});
  // The agent built with banger goes into every image unless one is named;
  // the builder checks that it is a static x86-64 executable.
  auto agent = ctx.inv.value("--agent");
  if (agent.empty())
    if (auto beside = beside_self(agent_name);
        !beside.empty() && ::access(beside.c_str(), X_OK) == 0)
      agent = beside.string();
  if (!agent.empty())
    argv.insert(argv.end(), {"--agent", std::filesystem::absolute(agent).string()});
  if (force)
    argv.push_back("--force");
  auto built = run_builder(argv, error);
  if (!built)
    return report_error(ctx, Errc::internal, error, "");

  auto& values = *built;
  auto dir = std::filesystem::path(values["rootfs"]).parent_path().string();
  // The builder has replaced the files; now the record. The old record's
  // files are the ones just rewritten in place, so removing it deletes
  // nothing (only imported files go with a record).
  if (existing) {
    auto removed = ctx.session->call<Image>(
      ImageRemoveRequest{client_envelope(), existing->id}, ctx.timeout());
    if (!removed)
      return report_error(ctx, removed.error(),
                          "built " + dir + " but could not replace image '" + name + "': ");
  }
  ImageAddRequest req{client_envelope(), name,           values["kernel"],
                      values["rootfs"],  values["initrd"], values["boot_args"]};
  req.ssh = true; // both distributions run an SSH server on port 22 (dropbear, OpenSSH)
  auto image = ctx.session->call<Image>(req, ctx.timeout());
  if (!image)
    return report_error(ctx, image.error(), "built " + dir + " but could not register it: ");
  print(ctx, render_image(*image), to_json(*image));
  return exit_ok;
}

} // namespace banger::cli
