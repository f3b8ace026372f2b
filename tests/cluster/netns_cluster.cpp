#include "tests/cluster/netns_cluster.hpp"
#include "tests/cluster/netns_links.hpp"
#include "tests/support/skip.hpp"

#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <thread>

namespace banger::test {

using namespace std::chrono_literals;

namespace {

// Link names; they exist only inside the cluster's namespaces.
const char* const switch_bridge = "switch";
const char* const uplink = "uplink";
std::string port_name(int i) {
  return "port" + std::to_string(i);
}

/// Reaps `pid` if it has exited; true while it runs.
bool alive(pid_t& pid) {
  if (pid <= 0)
    return false;
  int status = 0;
  if (::waitpid(pid, &status, WNOHANG) == pid) {
    pid = -1;
    return false;
  }
  return true;
}

void kill_and_reap(pid_t& pid) {
  if (pid <= 0)
    return;
  ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  pid = -1;
}

std::string tail_of(const std::string& path, std::size_t lines) {
  std::ifstream in(path);
  std::vector<std::string> all;
  for (std::string line; std::getline(in, line);)
    all.push_back(line);
  std::string out;
  for (auto i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i)
    out += all[i] + "\n";
  return out;
}

/// Field 22 of /proc/<pid>/stat (when it started, in clock ticks since
/// boot), or "" when there is no such process or it is a zombie.
std::string start_time_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(in, line);
  auto rparen = line.rfind(')');
  if (rparen == std::string::npos)
    return {};
  // After "pid (comm) " come fields 3 (state), 4, ... one word each.
  std::istringstream rest(line.substr(rparen + 2));
  std::vector<std::string> fields;
  for (std::string word; rest >> word;)
    fields.push_back(word);
  if (fields.size() < 20 || fields[0] == "Z")
    return {};
  return fields[19];
}

std::string name_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/comm");
  std::string name;
  std::getline(in, name);
  return name;
}

std::atomic<int> clusters_made{0};

const std::string dir_prefix = "banger-cluster-";

/// What a test process killed outright (SIGKILL, a ctest timeout) left: its
/// bangerd and helpers died with it (PR_SET_PDEATHSIG), but the VMMs its
/// helpers started live on, and keep their namespaces alive, and its homes
/// stay. A cluster's directory names the process that made it: once that
/// process is gone, every process naming the directory is ended and the
/// directory removed.
void sweep_abandoned_clusters() {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(std::filesystem::temp_directory_path(), ec)) {
    auto name = entry.path().filename().string();
    if (!name.starts_with(dir_prefix))
      continue;
    auto owner = std::atoi(name.c_str() + dir_prefix.size());
    if (owner <= 0 || ::kill(owner, 0) == 0 || errno != ESRCH)
      continue;
    auto dir = entry.path().string() + "/";
    for (pid_t pid : processes_naming(dir))
      ::kill(pid, SIGKILL);
    std::filesystem::remove_all(entry.path(), ec);
  }
}

} // namespace

void run_parallel(int count, const std::function<void(int)>& work) {
  std::vector<std::exception_ptr> errors(static_cast<std::size_t>(count));
  std::vector<std::thread> threads;
  for (int i = 1; i <= count; ++i)
    threads.emplace_back([&, i] {
      try {
        work(i);
      } catch (...) {
        errors[static_cast<std::size_t>(i - 1)] = std::current_exception();
      }
    });
  for (auto& t : threads)
    t.join();
  for (auto& e : errors)
    if (e)
      std::rethrow_exception(e);
}

struct NetnsCluster::Host {
  int index;
  Namespace net;
  Namespace mnt;
  std::string home;
  pid_t helper = -1;
  pid_t daemon = -1;
};

std::optional<std::string> NetnsCluster::unavailable() {
  if (!is_root())
    return "needs root (network namespaces, bridges, banger-helper)";
  try {
    auto net = Namespace::network();
    auto mnt = Namespace::mounts_for(net);
    links::add_bridge(net.fd(), "probe");
  } catch (const std::exception& e) {
    return std::string("cannot make network namespaces here: ") + e.what();
  }
  return std::nullopt;
}

std::optional<std::string> NetnsCluster::cluster_mode_unavailable() {
  if (run_in({}, {BANGER_BIN, "cluster", "ca", "--help"}, {}, 30s).exit_code != 0)
    return "this banger has no `cluster ca` command (cluster set-up)";
  return std::nullopt;
}

NetnsCluster::NetnsCluster(NetnsClusterOptions options) : options_(std::move(options)) {
  // The label is unique per process and cluster; mkdtemp makes it unique
  // on the machine. Nothing else is named: namespaces are descriptors.
  sweep_abandoned_clusters();
  auto label = dir_prefix + std::to_string(::getpid()) + "-" + std::to_string(clusters_made++);
  dir_ = std::make_unique<TempDir>(label);
  try {
    switch_.emplace(Namespace::network());
    for (int i = 1; i <= options_.hosts; ++i) {
      auto net = Namespace::network();
      auto mnt = Namespace::mounts_for(net);
      hosts_.push_back(std::make_unique<Host>(
        Host{i, std::move(net), std::move(mnt), dir_->path() + "/" + host_id(i), -1, -1}));
    }
    make_network();
    make_homes();
    if (options_.start) {
      std::vector<int> all;
      for (int i = 1; i <= size(); ++i)
        all.push_back(i);
      start_hosts(all);
    }
  } catch (...) {
    teardown();
    throw;
  }
}

NetnsCluster::~NetnsCluster() {
  teardown();
}

NetnsCluster::Host& NetnsCluster::host(int i) {
  if (i < 1 || i > size())
    throw std::out_of_range("no host " + std::to_string(i) + " in this cluster");
  return *hosts_[static_cast<std::size_t>(i - 1)];
}

const NetnsCluster::Host& NetnsCluster::host(int i) const {
  return const_cast<NetnsCluster*>(this)->host(i);
}

const std::string& NetnsCluster::home(int i) const {
  return host(i).home;
}

int NetnsCluster::netns_fd(int i) const {
  return host(i).net.fd();
}

Place NetnsCluster::place(int i) const {
  return Place{host(i).net.fd(), host(i).mnt.fd()};
}

int NetnsCluster::switch_netns_fd() const {
  return switch_->fd();
}

std::string NetnsCluster::cluster_hosts() const {
  std::string out;
  for (int i = 1; i <= size(); ++i)
    out += (out.empty() ? "" : ",") + host_id(i) + "=" + address(i) + ":"
           + std::to_string(link_port);
  return out;
}

void NetnsCluster::make_network() {
  int sw = switch_->fd();
  links::add_bridge(sw, switch_bridge);
  links::set_up(sw, switch_bridge, true);
  for (auto& h : hosts_) {
    auto port = port_name(h->index);
    links::add_veth(sw, port, h->net.fd(), uplink);
    links::set_master(sw, port, switch_bridge);
    links::set_up(sw, port, true);
    links::set_up(h->net.fd(), "lo", true);
    links::add_address(h->net.fd(), uplink, address(h->index) + "/24");
    links::set_up(h->net.fd(), uplink, true);
  }
}

void NetnsCluster::make_homes() {
  std::string cluster_ca = dir_->path() + "/cluster-ca";
  if (options_.mode == ClusterMode::cluster) {
    auto made = run_in({}, {BANGER_BIN, "cluster", "ca", cluster_ca}, {}, 30s);
    if (made.exit_code != 0)
      throw std::runtime_error("banger cluster ca failed (" + std::to_string(made.exit_code)
                               + "): " + made.err);
  }
  // Every home is made the same way, by the real `banger init`: only the
  // arguments differ, and options_.init_args adds to them.
  run_parallel(size(), [&](int i) {
    std::vector<std::string> argv{BANGER_BIN, "init", "--home", home(i),
                                  "--set", std::string("vmm.firecracker-bin=") + FC_STUB_BIN,
                                  "--set", "network.subnet=" + subnet(i),
                                  "--set", "vmm.stop-grace=3s",
                                  "--set", "vmm.kill-grace=3s"};
    if (options_.mode == ClusterMode::cluster) {
      for (const auto& a : {std::string("--cluster-ca"), cluster_ca, std::string("--host-id"),
                            host_id(i), std::string("--set"), "cluster.hosts=" + cluster_hosts()})
        argv.push_back(a);
    }
    if (options_.init_args)
      for (auto& a : options_.init_args(i))
        argv.push_back(std::move(a));
    auto made = run_in({}, argv, {}, 60s);
    if (made.exit_code != 0)
      throw std::runtime_error("banger init of " + host_id(i) + " failed ("
                               + std::to_string(made.exit_code) + "): " + made.err);
  });
}

void NetnsCluster::spawn_host(int i) {
  auto& h = host(i);
  auto start = [&](pid_t& pid, const char* binary, const std::string& log,
                   const std::vector<std::string>& env) {
    if (alive(pid))
      return;
    int fd = ::open((h.home + "/logs/" + log).c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
                    0644);
    if (fd < 0)
      throw std::system_error(errno, std::generic_category(), "open " + log);
    try {
      pid = spawn_in(place(i), {binary, "--home", h.home}, env, fd, fd);
    } catch (...) {
      ::close(fd);
      throw;
    }
    ::close(fd);
  };
  start(h.helper, HELPER_BIN, "helper.log", options_.helper_env);
  start(h.daemon, BANGERD_BIN, "bangerd.log", {});
}

void NetnsCluster::wait_ready(int i) {
  auto& h = host(i);
  std::string last;
  bool ready = wait_until(
    [&] {
      // Serving comes first; the helper link may connect a moment later.
      auto status = cli(i, {"-o", "json", "daemon", "status"}, 10s);
      if (status.exit_code != 0) {
        last = status.err;
        if (!alive(h.daemon) || !alive(h.helper))
          throw std::runtime_error(host_id(i) + ": bangerd or banger-helper exited while starting\n"
                                   + daemon_log_tail(i) + helper_log_tail(i));
        return false;
      }
      auto json = nlohmann::json::parse(status.out, nullptr, false);
      last = status.out;
      return json.is_object() && json.value("helper_reachable", false);
    },
    30s, 20ms);
  if (!ready)
    throw std::runtime_error(host_id(i) + " not ready with its helper: " + last + "\n"
                             + daemon_log_tail(i));
}

void NetnsCluster::start_host(int i) {
  start_hosts({i});
}

void NetnsCluster::start_hosts(const std::vector<int>& hosts) {
  // Spawned here (they die with this thread, see spawn_in); waited for in
  // parallel.
  for (int i : hosts)
    spawn_host(i);
  run_parallel(static_cast<int>(hosts.size()),
               [&](int n) { wait_ready(hosts[static_cast<std::size_t>(n - 1)]); });
}

void NetnsCluster::kill_host(int i) {
  kill_and_reap(host(i).daemon);
}

void NetnsCluster::stop_host(int i) {
  if (host(i).daemon > 0)
    ::kill(host(i).daemon, SIGSTOP);
}

void NetnsCluster::cont_host(int i) {
  if (host(i).daemon > 0)
    ::kill(host(i).daemon, SIGCONT);
}

void NetnsCluster::link_down(int i) {
  links::set_up(switch_->fd(), port_name(i), false);
}

void NetnsCluster::link_up(int i) {
  links::set_up(switch_->fd(), port_name(i), true);
}

pid_t NetnsCluster::daemon_pid(int i) const {
  return host(i).daemon;
}

pid_t NetnsCluster::helper_pid(int i) const {
  return host(i).helper;
}

bool NetnsCluster::daemon_running(int i) {
  return alive(host(i).daemon);
}

CliResult NetnsCluster::cli(int i, const std::vector<std::string>& args,
                            std::chrono::milliseconds deadline) {
  std::vector<std::string> argv{BANGER_BIN, "--home", home(i)};
  argv.insert(argv.end(), args.begin(), args.end());
  auto ran = run_in(place(i), argv, {}, deadline);
  return CliResult{ran.exit_code, std::move(ran.out), std::move(ran.err)};
}

void NetnsCluster::add_image(int i, const std::string& name) {
  // Beneath <home>/images: used in place, as the helper only clones from there.
  auto dir = std::filesystem::path(home(i)) / "images" / name;
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "vmlinux") << "not really a kernel";
  std::ofstream(dir / "rootfs.ext4") << std::string(64 * 1024, 'r');
  auto added = cli(i, {"image", "add", name, "--kernel", (dir / "vmlinux").string(), "--rootfs",
                       (dir / "rootfs.ext4").string()});
  if (added.exit_code != 0)
    throw std::runtime_error(host_id(i) + ": image add failed: " + added.err);
}

bool NetnsCluster::reaches(int from, int to, std::chrono::milliseconds bound) {
  int fd = socket_in(netns_fd(from), AF_INET, SOCK_STREAM | SOCK_NONBLOCK);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(9); // discard: no banger process listens there
  ::inet_pton(AF_INET, address(to).c_str(), &addr.sin_addr);
  int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  int error = rc == 0 ? 0 : errno;
  if (error == EINPROGRESS) {
    pollfd pfd{fd, POLLOUT, 0};
    if (::poll(&pfd, 1, static_cast<int>(bound.count())) == 1) {
      socklen_t len = sizeof error;
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len);
    } else {
      error = ETIMEDOUT;
    }
  }
  ::close(fd);
  return error == 0 || error == ECONNREFUSED;
}

bool NetnsCluster::wait_until(const std::function<bool()>& predicate,
                              std::chrono::milliseconds deadline, std::chrono::milliseconds step) {
  return eventually(predicate, deadline, step);
}

std::vector<pid_t> NetnsCluster::pids_inside() const {
  std::vector<std::string> nets;
  for (const auto& h : hosts_)
    nets.push_back(h->net.identity());
  if (switch_)
    nets.push_back(switch_->identity());
  return processes_in(nets);
}

ClusterFootprint NetnsCluster::footprint() const {
  ClusterFootprint out;
  if (switch_)
    out.namespaces.push_back(switch_->identity());
  out.links = {switch_bridge, uplink};
  for (const auto& h : hosts_) {
    out.namespaces.push_back(h->net.identity());
    out.namespaces.push_back(h->mnt.identity());
    out.links.push_back(port_name(h->index));
  }
  auto pids = pids_inside();
  for (const auto& h : hosts_)
    for (pid_t pid : {h->helper, h->daemon})
      if (pid > 0 && std::find(pids.begin(), pids.end(), pid) == pids.end())
        pids.push_back(pid);
  for (pid_t pid : pids)
    out.processes.push_back({pid, start_time_of(pid), name_of(pid)});
  out.dir = dir_ ? dir_->path() : "";
  return out;
}

void NetnsCluster::teardown() {
  if (torn_down_)
    return;
  torn_down_ = true;
  // The processes first: a namespace goes with the last of them (and the
  // last descriptor). SIGKILL reaches a stopped process too.
  for (auto& h : hosts_) {
    kill_and_reap(h->daemon);
    kill_and_reap(h->helper);
  }
  // What the helpers started (fc-stub) is not a child of ours: found by
  // its namespace, and gone once no process is left in any.
  bool emptied = wait_until(
    [&] {
      auto left = pids_inside();
      for (pid_t pid : left)
        ::kill(pid, SIGKILL);
      return left.empty();
    },
    10s, 5ms);
  if (!emptied)
    std::fprintf(stderr, "netns cluster: processes still inside after 10 s\n");
  hosts_.clear();
  switch_.reset();
  dir_.reset();
}

std::vector<std::string> NetnsCluster::leftovers(const ClusterFootprint& footprint) {
  std::vector<std::string> out;
  // A holder is ours if it is this process or was started for one of the
  // homes (every banger process names its home, every fc-stub its socket
  // beneath it); anyone else holds a newer namespace with a reused number.
  for (const auto& holder : holders_of(footprint.namespaces))
    if (holder.pid == ::getpid()
        || (!footprint.dir.empty()
            && command_line(holder.pid).find(footprint.dir) != std::string::npos))
      out.push_back(holder.what);
  for (const auto& p : footprint.processes)
    if (!p.start_time.empty() && start_time_of(p.pid) == p.start_time)
      out.push_back("process " + std::to_string(p.pid) + " (" + p.name + ") still runs");
  for (const auto& link : footprint.links)
    if (::if_nametoindex(link.c_str()) != 0)
      out.push_back("link " + link + " exists in the root network namespace");
  std::error_code ec;
  const char* keep = std::getenv("BANGER_TEST_KEEP"); // kept on purpose (TempDir)
  if (!(keep && *keep == '1') && !footprint.dir.empty()
      && std::filesystem::exists(footprint.dir, ec))
    out.push_back("directory " + footprint.dir + " still exists");
  return out;
}

std::string NetnsCluster::daemon_log_tail(int i, std::size_t lines) const {
  return tail_of(home(i) + "/logs/bangerd.log", lines);
}

std::string NetnsCluster::helper_log_tail(int i, std::size_t lines) const {
  return tail_of(home(i) + "/logs/helper.log", lines);
}

} // namespace banger::test
