#include "privileged/host/vmm_registry.hpp"

#include "privileged/host/errors.hpp"
#include "privileged/host/pidfd.hpp"
#include "privileged/host/validate.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <dirent.h>
#include <fstream>
#include <poll.h>
#include <iterator>
#include <unistd.h>

namespace banger::host {

namespace {

constexpr std::string_view deleted_suffix = " (deleted)";

std::string pid_text(pid_t pid) {
  return "pid " + std::to_string(pid);
}

/// /proc/<pid>/exe; an upgraded (unlinked) binary keeps its old path.
Result<std::string> read_exe(pid_t pid) {
  std::string link = "/proc/" + std::to_string(pid) + "/exe";
  char buf[4096 + 32];
  ssize_t n = ::readlink(link.c_str(), buf, sizeof buf);
  if (n < 0) {
    if (errno == ENOENT || errno == ESRCH)
      return refused(pid_text(pid) + " has no executable (exited or kernel "
                                     "thread)");
    return system_error("readlink", link, errno);
  }
  std::string exe(buf, static_cast<std::size_t>(n));
  if (exe.size() > deleted_suffix.size() &&
      exe.compare(exe.size() - deleted_suffix.size(), deleted_suffix.size(),
                  deleted_suffix) == 0)
    exe.resize(exe.size() - deleted_suffix.size());
  return exe;
}

Result<std::vector<std::string>> read_cmdline(pid_t pid) {
  std::string path = "/proc/" + std::to_string(pid) + "/cmdline";
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return not_found(pid_text(pid) + " does not exist");
  std::string text((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  std::vector<std::string> args;
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\0', start);
    if (end == std::string::npos)
      end = text.size();
    args.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return args;
}

/// The ways a configured path may show up: as written (normalised) and
/// with symlinks resolved.
std::vector<std::string> spellings(const std::filesystem::path& path) {
  std::vector<std::string> out;
  std::string normal = path.lexically_normal().string();
  while (normal.size() > 1 && normal.back() == '/')
    normal.pop_back();
  out.push_back(normal);
  std::error_code ec;
  auto canonical = std::filesystem::weakly_canonical(path, ec);
  if (!ec && canonical.string() != normal)
    out.push_back(canonical.string());
  return out;
}

bool is_beneath(std::string_view path, std::string_view dir) {
  return path.size() > dir.size() + 1 && path.substr(0, dir.size()) == dir &&
         path[dir.size()] == '/';
}

/// Whether the process of `pidfd` has exited (a pidfd polls readable then,
/// reaped or not).
bool pidfd_exited(int pidfd) {
  pollfd p{pidfd, POLLIN, 0};
  int n = ::poll(&p, 1, 0);
  return n > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR));
}

bool has_id_flag(const std::vector<std::string>& args, std::string_view id) {
  for (std::size_t i = 0; i + 1 < args.size(); ++i)
    if (args[i] == "--id" && args[i + 1] == id)
      return true;
  return false;
}

} // namespace

void LaunchedVmms::add(VmmEntry entry) {
  std::lock_guard lock(mutex_);
  // Each entry holds a descriptor: let go of those of VMMs that have exited
  // (cheap: a poll each), so a helper that launches VMMs for months between
  // inventories does not run out of descriptors.
  std::erase_if(entries_, [](const auto& item) {
    return item.second.pidfd && pidfd_exited(item.second.pidfd->get());
  });
  auto pid = entry.identity.pid;
  entries_[pid] = std::move(entry);
}

bool LaunchedVmms::remove(const ProcessIdentity& identity) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(identity.pid);
  if (it == entries_.end() || it->second.identity != identity)
    return false;
  entries_.erase(it);
  return true;
}

bool LaunchedVmms::contains(const ProcessIdentity& identity,
                            std::string_view vm_id) const {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(identity.pid);
  return it != entries_.end() && it->second.identity == identity &&
         it->second.vm_id == vm_id;
}

std::optional<VmmEntry> LaunchedVmms::find(pid_t pid) const {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(pid);
  if (it == entries_.end())
    return std::nullopt;
  return it->second;
}

std::vector<VmmEntry> LaunchedVmms::list() const {
  std::lock_guard lock(mutex_);
  std::vector<VmmEntry> out;
  for (const auto& [pid, entry] : entries_)
    out.push_back(entry);
  return out;
}

void LaunchedVmms::replace_all(std::vector<VmmEntry> entries) {
  std::lock_guard lock(mutex_);
  std::map<pid_t, VmmEntry> fresh;
  for (auto& entry : entries) {
    auto pid = entry.identity.pid;
    auto known = entries_.find(pid);
    if (known != entries_.end() && known->second == entry && known->second.pidfd)
      entry.pidfd = known->second.pidfd;
    fresh[pid] = std::move(entry);
  }
  entries_.swap(fresh);
}

std::optional<Status> LaunchedVmms::signal_known(const ProcessIdentity& identity,
                                                 std::string_view vm_id,
                                                 int signo) const {
  std::shared_ptr<const UniqueFd> pidfd;
  {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(identity.pid);
    if (it == entries_.end() || it->second.identity != identity ||
        it->second.vm_id != vm_id || !it->second.pidfd)
      return std::nullopt;
    pidfd = it->second.pidfd;
  }
  // The pidfd, never the pid: after the VMM's exit the pid may already
  // belong to a process that started in the same clock tick.
  if (pidfd_exited(pidfd->get()))
    return Status{not_found(pid_text(identity.pid) + " (the VMM of vm " +
                            std::string(vm_id) + ") has exited")};
  if (send_signal_through_pidfd(pidfd->get(), signo) != 0) {
    if (errno == ESRCH)
      return Status{not_found(pid_text(identity.pid) + " has exited")};
    return Status{system_error("pidfd_send_signal", pid_text(identity.pid), errno)};
  }
  return Status{};
}

std::size_t LaunchedVmms::prune() {
  std::lock_guard lock(mutex_);
  std::size_t dropped = 0;
  for (auto it = entries_.begin(); it != entries_.end();) {
    auto stat = read_process_stat(it->first);
    bool alive = stat && stat->identity == it->second.identity &&
                 stat->state != 'Z' && stat->state != 'X' &&
                 !(it->second.pidfd && pidfd_exited(it->second.pidfd->get()));
    if (alive) {
      ++it;
    } else {
      it = entries_.erase(it);
      ++dropped;
    }
  }
  return dropped;
}

std::size_t LaunchedVmms::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

Status verify_banger_vmm(const ProcessIdentity& identity,
                         std::string_view vm_id, const VmmMatcher& matcher) {
  if (auto st = validate_vm_id(vm_id); !st)
    return st;
  auto stat = read_process_stat(identity.pid);
  if (!stat)
    return std::move(stat).error();
  if (stat->identity.start_time != identity.start_time)
    return refused(pid_text(identity.pid) +
                   " was recycled: it started at tick " +
                   std::to_string(stat->identity.start_time) + ", not " +
                   std::to_string(identity.start_time));
  if (stat->state == 'Z' || stat->state == 'X')
    return not_found(pid_text(identity.pid) + " has exited");

  auto exe = read_exe(identity.pid);
  if (!exe)
    return std::move(exe).error();
  auto run_dirs = spellings(matcher.layout.vm_run_dir(vm_id));
  bool configured = false;
  bool jailed = false;
  for (const auto& bin : matcher.executables) {
    auto names = spellings(bin);
    configured = configured ||
                 std::find(names.begin(), names.end(), *exe) != names.end();
    for (const auto& run_dir : run_dirs)
      jailed =
          jailed || (is_beneath(*exe, run_dir) &&
                     std::filesystem::path(*exe).filename() == bin.filename());
  }
  if (!configured && !jailed)
    return refused(pid_text(identity.pid) + " runs " + printable(*exe) +
                   ", not a configured VMM");

  auto args = read_cmdline(identity.pid);
  if (!args)
    return std::move(args).error();
  bool names_run_dir = false;
  for (const auto& arg : *args)
    for (const auto& run_dir : run_dirs)
      names_run_dir =
          names_run_dir || arg.find(run_dir + "/") != std::string::npos;
  if (!names_run_dir && !(jailed && has_id_flag(*args, vm_id)))
    return refused(pid_text(identity.pid) + " is not the VMM of vm " +
                   std::string(vm_id));

  // The checks above read /proc by pid: make sure it was one process.
  auto again = read_identity(identity.pid);
  if (!again)
    return std::move(again).error();
  if (*again != identity)
    return refused(pid_text(identity.pid) + " was recycled during the check");
  return {};
}

bool is_banger_vmm(const ProcessIdentity& identity, std::string_view vm_id,
                   const VmmMatcher& matcher) {
  return verify_banger_vmm(identity, vm_id, matcher).ok();
}

Result<std::vector<VmmEntry>> rediscover(const VmmMatcher& matcher) {
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr)
    return system_error("opendir", "/proc", errno);
  std::vector<pid_t> pids;
  while (auto* entry = ::readdir(proc)) {
    std::string_view name = entry->d_name;
    pid_t pid = 0;
    auto [end, err] =
        std::from_chars(name.data(), name.data() + name.size(), pid);
    if (err == std::errc() && end == name.data() + name.size() && pid > 0)
      pids.push_back(pid);
  }
  ::closedir(proc);

  auto vms_dirs = spellings(matcher.layout.run_dir() / "vms");
  std::vector<VmmEntry> found;
  for (pid_t pid : pids) {
    if (pid == ::getpid())
      continue;
    auto exe = read_exe(pid);
    auto args = read_cmdline(pid);
    if (!exe || !args)
      continue;
    std::vector<std::string> candidates;
    for (const auto& vms : vms_dirs) {
      std::string prefix = vms + "/";
      for (const auto& arg : *args)
        for (auto pos = arg.find(prefix); pos != std::string::npos;
             pos = arg.find(prefix, pos + 1))
          candidates.push_back(arg.substr(pos + prefix.size(), 16));
      if (is_beneath(*exe, vms))
        candidates.push_back(exe->substr(prefix.size(), 16));
    }
    std::sort(candidates.begin(), candidates.end());
    candidates.erase(std::unique(candidates.begin(), candidates.end()),
                     candidates.end());
    for (const auto& vm_id : candidates) {
      if (!validate_vm_id(vm_id))
        continue;
      // The pidfd first: if the pid is recycled during the checks, the
      // pidfd names the process that exited, not the newcomer.
      auto pidfd = std::make_shared<UniqueFd>(open_pidfd(pid));
      if (!*pidfd)
        break;
      auto identity = read_identity(pid);
      if (identity && verify_banger_vmm(*identity, vm_id, matcher) &&
          !pidfd_exited(pidfd->get())) {
        found.push_back(VmmEntry{*identity, vm_id, std::move(pidfd)});
        break;
      }
    }
  }
  return found;
}

Result<int> signal_vmm(const ProcessIdentity& target, std::string_view vm_id,
                       std::string_view signal, const LaunchedVmms& launched,
                       const VmmMatcher& matcher,
                       std::optional<pid_t> caller_pid) {
  // Validation first, no system call before it passes.
  if (auto st = validate_vm_id(vm_id); !st)
    return std::move(st).error();
  auto signo = parse_signal(signal);
  if (!signo)
    return std::move(signo).error();
  auto pid = validate_pid(target.pid, caller_pid);
  if (!pid)
    return std::move(pid).error();
  if (target.start_time == 0)
    return invalid_argument(pid_text(*pid) + ": a start time is required");

  // A VMM this helper launched (or adopted): its own pidfd decides.
  if (auto known = launched.signal_known(target, vm_id, *signo)) {
    if (!*known)
      return std::move(*known).error();
    return *signo;
  }

  // The pidfd pins whichever process holds the pid now. If the identity
  // check below still sees the target's start time, that process is the
  // target; if the pid was recycled in between, the pidfd names the exited
  // process and pidfd_send_signal fails with ESRCH instead of hitting the new
  // one.
  UniqueFd pidfd(open_pidfd(*pid));
  if (!pidfd) {
    if (errno == ESRCH)
      return not_found(pid_text(*pid) + " does not exist");
    return system_error("pidfd_open", pid_text(*pid), errno);
  }
  auto now = read_identity(*pid);
  if (!now)
    return std::move(now).error();
  if (now->start_time != target.start_time)
    return refused(pid_text(*pid) + " was recycled: it started at tick " +
                   std::to_string(now->start_time) + ", not " +
                   std::to_string(target.start_time));
  // Not known with a pidfd: exe and command line as well as the start
  // time, whatever the registry says.
  if (auto st = verify_banger_vmm(target, vm_id, matcher); !st)
    return std::move(st).error();

  if (send_signal_through_pidfd(pidfd.get(), *signo) != 0) {
    if (errno == ESRCH)
      return not_found(pid_text(*pid) + " has exited");
    return system_error("pidfd_send_signal", pid_text(*pid), errno);
  }
  return *signo;
}

} // namespace banger::host
