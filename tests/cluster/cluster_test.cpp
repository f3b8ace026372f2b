// A cluster of five real hosts, each in a network namespace with its own
// banger-helper, bangerd and fc-stub (netns_cluster.hpp): what a user on
// any host sees of every VM, and how failures of one host look from the
// others.
#include "cluster/host_credential.hpp"
#include "messages/cli_protocol.hpp"
#include "messages/config.hpp"
#include "messages/error.hpp"
#include "messages/host_protocol.hpp"
#include "messages/tls.hpp"
#include "pki/pki.hpp"
#include "tests/cluster/netns.hpp"
#include "tests/cluster/netns_cluster.hpp"
#include "tests/cluster/netns_links.hpp"
#include "tests/cluster/port_probe.hpp"
#include "tests/support/skip.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <openssl/evp.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <future>
#include <map>
#include <regex>
#include <set>
#include <sstream>

using namespace banger;
using namespace banger::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

constexpr int host_count = 5;

/// The cluster the cases share, with the tiny image on every host; nullptr
/// (and the case skipped) where namespaces cannot be made.
NetnsCluster* shared_cluster() {
  static std::unique_ptr<NetnsCluster> cluster;
  static std::optional<std::string> why_not = [] {
    if (auto why = NetnsCluster::unavailable())
      return why;
    return NetnsCluster::cluster_mode_unavailable();
  }();
  if (why_not) {
    skip(*why_not);
    return nullptr;
  }
  if (!cluster) {
    // The real guest agent behind fc-stub's vsock (as a host process,
    // writing identities under its guest-root folder): vm clone needs it.
    cluster = std::make_unique<NetnsCluster>(
      NetnsClusterOptions{.hosts = host_count,
                          .mode = ClusterMode::cluster,
                          .helper_env = {std::string("FC_STUB_GUEST_AGENT=") + GUEST_AGENT_BIN}});
    cluster->on_every_host([&](int i) {
      cluster->add_image(i);
      return 0;
    });
  }
  return cluster.get();
}

json json_of(const CliResult& r) {
  INFO("exit " << r.exit_code << ", stdout: " << r.out << ", stderr: " << r.err);
  auto parsed = json::parse(r.out, nullptr, false);
  REQUIRE_FALSE(parsed.is_discarded());
  return parsed;
}

/// host `about` as host `asker` sees it in `cluster status -o json`.
json status_of(NetnsCluster& cluster, int asker, int about) {
  auto status = json::parse(cluster.cli(asker, {"-o", "json", "cluster", "status"}, 5s).out, nullptr, false);
  if (status.is_object())
    for (auto& h : status["hosts"])
      if (h.value("id", "") == cluster.host_id(about))
        return h;
  return json::object();
}

bool everyone_sees(NetnsCluster& cluster, int about, const std::string& state, int except = 0) {
  auto seen = cluster.on_every_host([&](int i) {
    return i == about || i == except || status_of(cluster, i, about).value("state", "") == state;
  });
  return std::all_of(seen.begin(), seen.end(), [](bool b) { return b; });
}

bool all_up(NetnsCluster& cluster) {
  for (int i = 1; i <= host_count; ++i)
    if (!everyone_sees(cluster, i, "up"))
      return false;
  return true;
}

std::int64_t realtime_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

/// Since when the hosts other than `about` (and `except`) have seen it
/// down, at the latest: the daemons' own timestamps, not the polling's.
std::int64_t latest_down_since(NetnsCluster& cluster, int about, int except = 0) {
  std::int64_t latest = 0;
  for (int i = 1; i <= host_count; ++i)
    if (i != about && i != except)
      latest = std::max<std::int64_t>(latest, status_of(cluster, i, about).value("since_us", std::int64_t{0}));
  return latest;
}

/// Runs `work` with a CAF actor system whose threads live in host i's
/// namespace and whose TLS identity is host i's CLI certificate.
template <class Work>
void as_client_of(NetnsCluster& cluster, int i, Work work) {
  inside(cluster.netns_fd(i), [&] {
    Config cfg;
    std::vector<std::string> none;
    REQUIRE(cfg.read(cluster.home(i), none));
    REQUIRE(enable_tls(cfg, HomeLayout{cluster.home(i)}, TlsRole::client));
    caf::actor_system sys{cfg};
    work(sys);
  });
}

struct Tally {
  int ok = 0;
  std::map<std::string, int> errors;
};

/// `n` creates of VM `name` sent to host i's daemon at once.
Tally create_storm(NetnsCluster& cluster, int i, int n, const std::string& name) {
  Tally tally;
  as_client_of(cluster, i, [&](caf::actor_system& sys) {
    auto ctl = caf::openssl::remote_actor<control_actor>(sys, "127.0.0.1", 7420);
    REQUIRE(ctl);
    std::promise<void> done;
    auto left = std::make_shared<int>(n);
    sys.spawn([&, ctl = *ctl, left](caf::event_based_actor* self) {
      for (int k = 0; k < n; ++k) {
        VmCreateRequest req;
        req.spec.name = name;
        req.spec.image = "tiny";
        self->request(ctl, std::chrono::seconds(120), req)
          .then(
            [&, left](VmRecord&) {
              ++tally.ok;
              if (--*left == 0)
                done.set_value();
            },
            [&, left](caf::error& err) {
              ++tally.errors[std::string(to_string(view(err).code))];
              if (--*left == 0)
                done.set_value();
            });
      }
    });
    done.get_future().wait();
  });
  return tally;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string sign_hex(EVP_PKEY* key, const std::string& text) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  std::size_t size = 0;
  EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key);
  EVP_DigestSign(ctx.get(), nullptr, &size, reinterpret_cast<const unsigned char*>(text.data()), text.size());
  std::string sig(size, '\0');
  EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &size,
                 reinterpret_cast<const unsigned char*>(text.data()), text.size());
  static constexpr char digits[] = "0123456789abcdef";
  std::string hex;
  for (std::size_t k = 0; k < size; ++k) {
    hex.push_back(digits[static_cast<unsigned char>(sig[k]) >> 4]);
    hex.push_back(digits[static_cast<unsigned char>(sig[k]) & 0xf]);
  }
  return hex;
}

/// A dotted quad from /proc/net/route's hex (the address's bytes in
/// memory order, printed as a host-order number).
std::string proc_route_address(const std::string& hex) {
  auto value = static_cast<std::uint32_t>(std::stoul(hex, nullptr, 16));
  in_addr addr{};
  addr.s_addr = value; // already network byte order in memory
  char text[INET_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET, &addr, text, sizeof text);
  return text;
}

/// Host i's IPv4 routes in its main table, as "172.31.3.0/24 via 10.77.0.3".
std::set<std::string> routes_of(NetnsCluster& cluster, int i) {
  std::set<std::string> out;
  inside(cluster.netns_fd(i), [&] {
    std::ifstream in("/proc/thread-self/net/route");
    std::string line;
    std::getline(in, line); // the header
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string iface, destination, gateway, flags, refs, use, metric, mask;
      if (!(fields >> iface >> destination >> gateway >> flags >> refs >> use >> metric >> mask))
        continue;
      auto prefix = std::popcount(static_cast<std::uint32_t>(std::stoul(mask, nullptr, 16)));
      out.insert(proc_route_address(destination) + "/" + std::to_string(prefix) + " via "
                 + proc_route_address(gateway));
    }
  });
  return out;
}

/// The op id in a CLI's "created vm NAME (op-...)".
std::string op_id_in(const std::string& text) {
  std::smatch m;
  static const std::regex op("op-[0-9a-f]{12}");
  return std::regex_search(text, m, op) ? m.str() : "";
}

} // namespace

TEST_CASE("every host sees every host up") {
  auto* cluster = shared_cluster();
  if (!cluster)
    return;
  CHECK(NetnsCluster::wait_until([&] { return all_up(*cluster); }, 20s));
}

TEST_CASE("a VM created on any host is listed and shown from every other host, with its host") {
  auto* cluster = shared_cluster();
  if (!cluster)
    return;
  REQUIRE(NetnsCluster::wait_until([&] { return all_up(*cluster); }, 20s));
  // Each VM is created through another host than its own.
  for (int i = 1; i <= host_count; ++i) {
    int entry = i % host_count + 1;
    auto created = cluster->cli(entry, {"vm", "create", "--image", "tiny", "--name",
                                        "on-" + cluster->host_id(i), "--host", cluster->host_id(i)});
    REQUIRE_MESSAGE(created.exit_code == 0, created.err);
  }
  auto listings = cluster->on_every_host([&](int i) { return cluster->cli(i, {"-o", "json", "vm", "ls"}); });
  for (int i = 1; i <= host_count; ++i) {
    INFO("listed from h" << i);
    auto listed = json_of(listings[static_cast<std::size_t>(i - 1)]);
    CHECK(listed["unreachable"].empty());
    std::map<std::string, std::string> host_of;
    for (auto& vm : listed["vms"])
      host_of[vm["name"]] = vm["host"];
    for (int h = 1; h <= host_count; ++h)
      CHECK(host_of["on-" + cluster->host_id(h)] == cluster->host_id(h));
  }
  auto shown = json_of(cluster->cli(1, {"-o", "json", "vm", "show", "on-h4"}));
  CHECK(shown["host"] == "h4");
  CHECK(shown["guest_ip"].get<std::string>().starts_with("172.31.4."));
}

TEST_CASE("a VM on h3 goes through its whole lifecycle driven from h1 and shown from the others") {
  auto* cluster = shared_cluster();
  if (!cluster)
    return;
  REQUIRE(NetnsCluster::wait_until([&] { return all_up(*cluster); }, 20s));
  auto step = [&](std::vector<std::string> args) {
    auto r = cluster->cli(1, args);
    INFO(args[1] << ": " << r.err);
    REQUIRE(r.exit_code == 0);
    return r;
  };
  auto created = json_of(step({"-o", "json", "vm", "create", "--image", "tiny", "--name", "cycle", "--host",
                               "h3", "--start"}));
  CHECK(created["host"] == "h3");
  CHECK(created["state"] == "running");
  auto state_from = [&](int i) {
    return json_of(cluster->cli(i, {"-o", "json", "vm", "show", "cycle"})).value("state", "");
  };
  step({"vm", "stop", "cycle"});
  CHECK(state_from(4) == "stopped");
  step({"vm", "start", "cycle"});
  CHECK(state_from(2) == "running");
  step({"vm", "restart", "cycle"});
  CHECK(state_from(3) == "running");
  auto shown = json_of(cluster->cli(2, {"-o", "json", "vm", "show", "cycle"}));
  CHECK(shown["state"] == "running");
  step({"vm", "kill", "cycle"});
  step({"vm", "rm", "cycle"});
  auto gone = cluster->cli(5, {"vm", "show", "cycle"});
  CHECK(gone.exit_code != 0);
  CHECK(gone.err.find("no VM named") != std::string::npos);
  // The name is free again, cluster-wide: its owner dropped it with the VM.
  REQUIRE(NetnsCluster::wait_until(
    [&] {
      auto again = cluster->cli(4, {"vm", "create", "--image", "tiny", "--name", "cycle", "--host", "h2"});
      return again.exit_code == 0;
    },
    5s));
  CHECK(cluster->cli(1, {"vm", "rm", "cycle"}).exit_code == 0);
}

TEST_CASE("exactly one of 1,000 concurrent creates of one name from two hosts succeeds") {
  auto* cluster = shared_cluster();
  if (!cluster)
    return;
  REQUIRE(NetnsCluster::wait_until([&] { return all_up(*cluster); }, 20s));
  Tally from_h2, from_h5;
  run_parallel(2, [&](int k) {
    if (k == 1)
      from_h2 = create_storm(*cluster, 2, 500, "contested");
    else
      from_h5 = create_storm(*cluster, 5, 500, "contested");
  });
  INFO("h2: " << from_h2.ok << " ok, h5: " << from_h5.ok << " ok");
  CHECK(from_h2.ok + from_h5.ok == 1);
  int refused = from_h2.errors["already_exists"] + from_h5.errors["already_exists"];
  CHECK(refused == 999);
  int listed = 0;
  auto listing = json_of(cluster->cli(3, {"-o", "json", "vm", "ls"}));
  for (auto& vm : listing["vms"])
    listed += vm["name"] == "contested";
  CHECK(listed == 1);
  CHECK(cluster->cli(2, {"daemon", "status"}, 5s).exit_code == 0);
  CHECK(cluster->cli(5, {"daemon", "status"}, 5s).exit_code == 0);
  CHECK(cluster->cli(1, {"vm", "rm", "contested"}).exit_code == 0);
}

TEST_CASE("a clone asked of any host is made on its source's host, and its name is the cluster's") {
  auto* cluster = shared_cluster();
  if (!cluster)
    return;
  REQUIRE(NetnsCluster::wait_until([&] { return all_up(*cluster); }, 20s));
  auto created = cluster->cli(1, {"vm", "create", "--image", "tiny", "--name", "orig", "--host", "h3",
                                  "--start"});
  REQUIRE_MESSAGE(created.exit_code == 0, created.err);
  REQUIRE(NetnsCluster::wait_until(
    [&] {
      return !json_of(cluster->cli(1, {"-o", "json", "vm", "show", "orig"})).value("agent", "").empty();
    },
    20s));
  // Asked of h2, made on h3 where the source and its files are.
  auto cloned = cluster->cli(2, {"-o", "json", "vm", "clone", "orig", "twin"});
  INFO(cloned.err);
  REQUIRE(cloned.exit_code == 0);
  auto twin = json_of(cloned)["vm"];
  CHECK(twin["host"] == "h3");
  CHECK(twin["state"] == "running");
  auto shown = json_of(cluster->cli(4, {"-o", "json", "vm", "show", "twin"}));
  CHECK(shown["host"] == "h3");
  CHECK(shown["guest_ip"] != json_of(cluster->cli(4, {"-o", "json", "vm", "show", "orig"}))["guest_ip"]);
  // The name is taken cluster-wide: no other host can make a second twin.
  auto again = cluster->cli(5, {"-o", "json", "vm", "create", "--image", "tiny", "--name", "twin",
                                "--host", "h1"});
  CHECK(again.exit_code != 0);
  CHECK(again.out.find("already_exists") != std::string::npos);
  CHECK(cluster->cli(1, {"vm", "rm", "twin", "orig"}).exit_code == 0);
}

TEST_CASE("a killed host is down everywhere within 1 s, the others keep serving, and it rejoins with its VMs") {
  auto* cluster = shared_cluster();
  if (!cluster)
    return;
  REQUIRE(NetnsCluster::wait_until([&] { return all_up(*cluster); }, 20s));
  REQUIRE(cluster->cli(1, {"vm", "create", "--image", "tiny", "--name", "survivor", "--host", "h5", "--start"})
            .exit_code == 0);
  REQUIRE(cluster->cli(1, {"vm", "create", "--image", "tiny", "--name", "bystander", "--host", "h2"}).exit_code
          == 0);
  auto killed_at = realtime_us();
  cluster->kill_host(5);
  REQUIRE(NetnsCluster::wait_until([&] { return everyone_sees(*cluster, 5, "down"); }, 5s));
  auto detected_us = latest_down_since(*cluster, 5) - killed_at;
  MESSAGE("SIGKILL seen as down by every other host after " << detected_us / 1000 << " ms");
  CHECK(detected_us < 1'000'000);
  // The others serve their own VMs and each other's.
  CHECK(cluster->cli(3, {"vm", "stop", "bystander"}).exit_code == 0);
  auto listed = json_of(cluster->cli(1, {"-o", "json", "vm", "ls"}));
  CHECK(listed["unreachable"] == json::array({"h5"}));
  // Nothing deleted: the VM on h5 is listed wherever its name's owner
  // answers, its state unknown.
  bool owner_is_h5 = false;
  std::string survivor_state;
  for (auto& vm : listed["vms"])
    if (vm["name"] == "survivor")
      survivor_state = vm["state"];
  if (survivor_state.empty())
    owner_is_h5 = true; // the name's owner is the host that is down
  if (!owner_is_h5)
    CHECK(survivor_state == "unknown");
  cluster->start_host(5);
  REQUIRE(NetnsCluster::wait_until([&] { return everyone_sees(*cluster, 5, "up"); }, 10s));
  auto back = json_of(cluster->cli(2, {"-o", "json", "vm", "show", "survivor"}));
  CHECK(back["host"] == "h5");
  CHECK(back["state"] == "running");
  CHECK(cluster->cli(4, {"vm", "rm", "survivor"}).exit_code == 0);
  CHECK(cluster->cli(4, {"vm", "rm", "bystander"}).exit_code == 0);
}

TEST_CASE("a hung host and a cut link are down everywhere within 5 s and up again once they answer") {
  auto* cluster = shared_cluster();
  if (!cluster)
    return;
  REQUIRE(NetnsCluster::wait_until([&] { return all_up(*cluster); }, 20s));
  auto stopped_at = realtime_us();
  cluster->stop_host(4);
  REQUIRE(NetnsCluster::wait_until([&] { return everyone_sees(*cluster, 4, "down", 4); }, 8s));
  auto hung_us = latest_down_since(*cluster, 4) - stopped_at;
  MESSAGE("SIGSTOP seen as down after " << hung_us / 1000 << " ms");
  CHECK(hung_us < 5'000'000);
  CHECK(cluster->cli(1, {"daemon", "status"}, 5s).exit_code == 0);
  cluster->cont_host(4);
  REQUIRE(NetnsCluster::wait_until([&] { return all_up(*cluster); }, 15s));

  auto cut_at = realtime_us();
  cluster->link_down(2);
  REQUIRE(NetnsCluster::wait_until([&] { return everyone_sees(*cluster, 2, "down", 2); }, 8s));
  auto cut_us = latest_down_since(*cluster, 2) - cut_at;
  MESSAGE("link cut seen as down after " << cut_us / 1000 << " ms");
  CHECK(cut_us < 5'000'000);
  // h2 keeps serving its own CLI, and sees the others down.
  CHECK(cluster->cli(2, {"daemon", "status"}, 5s).exit_code == 0);
  cluster->link_up(2);
  CHECK(NetnsCluster::wait_until([&] { return all_up(*cluster); }, 15s));
}

TEST_CASE("every host routes every other host's guest subnet via it, and h1 reaches a guest address on h3") {
  auto* cluster = shared_cluster();
  if (!cluster)
    return;
  REQUIRE(NetnsCluster::wait_until([&] { return all_up(*cluster); }, 20s));
  std::string missing;
  bool routed = NetnsCluster::wait_until(
    [&] {
      missing.clear();
      for (int i = 1; i <= host_count; ++i) {
        auto routes = routes_of(*cluster, i);
        for (int j = 1; j <= host_count; ++j)
          if (j != i && !routes.count(cluster->subnet(j) + " via " + cluster->address(j)))
            missing += " h" + std::to_string(i) + ": " + cluster->subnet(j);
      }
      return missing.empty();
    },
    10s);
  INFO("missing routes:" << missing);
  CHECK(routed);

  // A "guest" of h3: a namespace on h3's guest bridge with an address of
  // h3's guest subnet, listening on TCP. h3's bridge exists once a VM runs.
  REQUIRE(cluster->cli(1, {"vm", "create", "--image", "tiny", "--name", "bridge-h3", "--host", "h3", "--start"})
            .exit_code
          == 0);
  auto guest = Namespace::network();
  links::add_veth(cluster->netns_fd(3), "guestport", guest.fd(), "eth0");
  links::set_master(cluster->netns_fd(3), "guestport", "banger0");
  links::set_up(cluster->netns_fd(3), "guestport", true);
  links::set_up(guest.fd(), "lo", true);
  links::add_address(guest.fd(), "eth0", "172.31.3.250/24");
  links::set_up(guest.fd(), "eth0", true);
  links::add_default_route(guest.fd(), "172.31.3.1");
  sockaddr_in at{};
  at.sin_family = AF_INET;
  at.sin_port = htons(7000);
  ::inet_pton(AF_INET, "172.31.3.250", &at.sin_addr);
  timeval bound{5, 0}; // every socket call below gives up after 5 s
  int listener = socket_in(guest.fd(), AF_INET, SOCK_STREAM);
  ::setsockopt(listener, SOL_SOCKET, SO_RCVTIMEO, &bound, sizeof bound);
  REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&at), sizeof at) == 0);
  REQUIRE(::listen(listener, 1) == 0);

  int client = socket_in(cluster->netns_fd(1), AF_INET, SOCK_STREAM);
  ::setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &bound, sizeof bound);
  ::setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &bound, sizeof bound);
  REQUIRE_MESSAGE(::connect(client, reinterpret_cast<sockaddr*>(&at), sizeof at) == 0,
                  "connect from h1 to 172.31.3.250:7000: " << std::string(std::strerror(errno)));
  // Data first: this process's listeners get TCP_DEFER_ACCEPT
  // (messages/tls_guard.hpp), so accept waits for the first bytes.
  REQUIRE(::write(client, "ping", 4) == 4);
  sockaddr_in peer{};
  socklen_t peer_size = sizeof peer;
  int accepted = ::accept(listener, reinterpret_cast<sockaddr*>(&peer), &peer_size);
  REQUIRE(accepted >= 0);
  ::setsockopt(accepted, SOL_SOCKET, SO_RCVTIMEO, &bound, sizeof bound);
  char from[INET_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET, &peer.sin_addr, from, sizeof from);
  // Routed, not masqueraded: the guest sees h1's own address.
  CHECK(std::string(from) == cluster->address(1));
  char buf[8] = {};
  REQUIRE(::read(accepted, buf, sizeof buf) == 4);
  CHECK(std::string(buf, 4) == "ping");
  REQUIRE(::write(accepted, "pong", 4) == 4);
  REQUIRE(::read(client, buf, sizeof buf) == 4);
  CHECK(std::string(buf, 4) == "pong");
  for (int fd : {accepted, client, listener})
    ::close(fd);
  CHECK(cluster->cli(2, {"vm", "rm", "bridge-h3"}).exit_code == 0);
}

TEST_CASE("vm logs of a VM on h3 prints from h1 the same bytes as from h3") {
  auto* cluster = shared_cluster();
  if (!cluster)
    return;
  REQUIRE(NetnsCluster::wait_until([&] { return all_up(*cluster); }, 20s));
  auto created = json_of(cluster->cli(2, {"-o", "json", "vm", "create", "--image", "tiny", "--name",
                                          "console-h3", "--host", "h3", "--start"}));
  // Where h3 keeps it: the path in the VM's record, read here directly.
  auto log_file = created["log_path"].get<std::string>();
  REQUIRE(log_file.starts_with(cluster->home(3) + "/"));
  // Once the log stops growing (fc-stub writes it as it boots), every
  // reader sees the same bytes: the file itself.
  CliResult from_h1, from_h3;
  bool same = NetnsCluster::wait_until(
    [&] {
      from_h3 = cluster->cli(3, {"vm", "logs", "console-h3"});
      from_h1 = cluster->cli(1, {"vm", "logs", "console-h3"});
      return from_h1.exit_code == 0 && from_h3.exit_code == 0 && !from_h1.out.empty()
             && from_h1.out == from_h3.out && from_h1.out == read_file(log_file);
    },
    10s, 100ms);
  INFO("h1 (exit " << from_h1.exit_code << "): " << from_h1.err << "\nh3: " << from_h3.err);
  CHECK(same);

  REQUIRE(cluster->cli(1, {"vm", "create", "--image", "tiny", "--name", "quiet-h4", "--host", "h4"}).exit_code
          == 0);
  auto never = cluster->cli(1, {"vm", "logs", "quiet-h4"});
  CHECK(never.exit_code == 1);
  CHECK(never.err.find("has no console yet") != std::string::npos);
  CHECK(cluster->cli(1, {"vm", "rm", "console-h3"}).exit_code == 0);
  CHECK(cluster->cli(1, {"vm", "rm", "quiet-h4"}).exit_code == 0);
}

TEST_CASE("vm logs -f from h1 of a VM on h3 goes on after the log is truncated there") {
  auto* cluster = shared_cluster();
  if (!cluster)
    return;
  REQUIRE(NetnsCluster::wait_until([&] { return all_up(*cluster); }, 20s));
  auto created = json_of(cluster->cli(2, {"-o", "json", "vm", "create", "--image", "tiny", "--name",
                                          "tail-h3", "--host", "h3", "--start"}));
  auto log_file = created["log_path"].get<std::string>();
  int out[2];
  REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
  int devnull = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  auto follower = spawn_in(cluster->place(1), {BANGER_BIN, "--home", cluster->home(1), "vm", "logs", "-f", "tail-h3"},
                           {}, out[1], devnull);
  ::close(out[1]);
  ::close(devnull);
  std::string printed;
  // What the follower has printed once `done` holds, read as it comes.
  auto read_until = [&](const std::function<bool()>& done) {
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!done()) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0)
        return false;
      pollfd pfd{out[0], POLLIN, 0};
      if (::poll(&pfd, 1, static_cast<int>(left.count())) != 1)
        continue;
      char buf[4096];
      auto n = ::read(out[0], buf, sizeof buf);
      if (n <= 0)
        return done();
      printed.append(buf, static_cast<std::size_t>(n));
    }
    return true;
  };
  CHECK(read_until([&] { return !printed.empty() && printed == read_file(log_file); }));
  auto before = printed.size();
  const std::string after = "after the truncation\n";
  REQUIRE(before > after.size()); // shorter than what the follower read: a truncation
  std::ofstream(log_file, std::ios::trunc) << after;
  CHECK(read_until([&] { return printed.size() > before && printed.ends_with(after); }));
  CHECK(printed.substr(before) == after);
  ::kill(follower, SIGINT);
  int status = 0;
  ::waitpid(follower, &status, 0);
  ::close(out[0]);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(cluster->cli(1, {"vm", "rm", "tail-h3"}).exit_code == 0);
}

TEST_CASE("the op id minted at h1 for a create on h3 is in h3's daemon and helper logs, and op show finds it from h2") {
  auto* cluster = shared_cluster();
  if (!cluster)
    return;
  REQUIRE(NetnsCluster::wait_until([&] { return all_up(*cluster); }, 20s));
  auto made = cluster->cli(1, {"vm", "create", "--image", "tiny", "--name", "traced", "--host", "h3", "--start"});
  REQUIRE_MESSAGE(made.exit_code == 0, made.err);
  auto op_id = op_id_in(made.err);
  REQUIRE_MESSAGE(!op_id.empty(), made.err);
  auto lines_with = [&](const std::string& path, const std::string& needle) {
    std::ifstream in(path);
    int n = 0;
    for (std::string line; std::getline(in, line);)
      n += line.find("\"op_id\":\"" + op_id + "\"") != std::string::npos
           && line.find(needle) != std::string::npos;
    return n;
  };
  CHECK(lines_with(cluster->home(3) + "/logs/bangerd.log", "operation completed") == 1);
  // The helper's work for it (rootfs, launch) under the same id.
  CHECK(lines_with(cluster->home(3) + "/logs/helper.log", "vmm.launch") == 1);
  CHECK(lines_with(cluster->home(3) + "/logs/helper.log", "rootfs.prepare") == 1);
  auto shown = json_of(cluster->cli(2, {"-o", "json", "op", "show", op_id}));
  CHECK(shown["op_id"] == op_id);
  CHECK(shown["kind"] == "vm.create");
  CHECK(shown["outcome"] == "succeeded");
  CHECK(cluster->cli(4, {"vm", "rm", "traced"}).exit_code == 0);
}

TEST_CASE("a CLI certificate of the cluster cannot open a host link or use one") {
  auto* cluster = shared_cluster();
  if (!cluster)
    return;
  REQUIRE(NetnsCluster::wait_until([&] { return all_up(*cluster); }, 20s));
  as_client_of(*cluster, 2, [&](caf::actor_system& sys) {
    auto host = caf::openssl::remote_actor<host_actor>(sys, "10.77.0.1", NetnsCluster::link_port);
    REQUIRE(host); // TLS itself lets any certificate of the cluster CA in
    caf::scoped_actor self{sys};
    auto code_of = [&](auto reply, auto request) {
      using Reply = decltype(reply);
      Errc code = Errc::none;
      self->request(*host, 10s, request)
        .receive([&](Reply&) { code = Errc::none; }, [&](caf::error& err) { code = view(err).code; });
      return code;
    };
    CHECK(code_of(HostPong{}, HostPing{Envelope{}}) == Errc::unauthenticated);
    CHECK(code_of(VmRecord{}, VmShowRequest{Envelope{}, "anything"}) == Errc::unauthenticated);
    CHECK(code_of(HostListReply{}, HostListRequest{Envelope{}, {}}) == Errc::unauthenticated);
    CHECK(code_of(Ack{}, NameReserveRequest{Envelope{}, "stolen", "h2"}) == Errc::unauthenticated);
    // A hello signed with the CLI key, carrying the CLI certificate.
    HostChallenge challenge;
    self->request(*host, 10s, HostChallengeRequest{Envelope{}})
      .receive([&](HostChallenge& c) { challenge = c; }, [&](caf::error&) {});
    REQUIRE(challenge.nonce.size() == 32);
    HostIntro intro;
    intro.host_id = "h2";
    intro.to_id = "h1";
    intro.epoch = 1;
    intro.protocol = protocol_version;
    intro.subnet = "172.31.2.0/24";
    intro.certificate = read_file(cluster->home(2) + "/tls/client.pem");
    intro.nonce = std::string(32, 'a');
    intro.token = std::string(32, 'b');
    auto key = pki::parse_key_pem(read_file(cluster->home(2) + "/tls/client.key"));
    REQUIRE(key);
    HostHelloRequest hello{Envelope{}, intro, challenge.nonce,
                           sign_hex(key->get(), cluster::signed_text(intro, challenge.nonce)),
                           caf::actor_cast<caf::actor>(self)};
    CHECK(code_of(HostWelcome{}, hello) == Errc::unauthenticated);
  });
  CHECK(cluster->daemon_log_tail(1, 50).find("not a host credential") != std::string::npos);
  // The real links of h1 are untouched.
  CHECK(everyone_sees(*cluster, 1, "up"));
  CHECK(status_of(*cluster, 1, 2).value("state", "") == "up");
}

TEST_CASE("no port on any cluster host serves plain BASP or TLS without a certificate") {
  auto* cluster = shared_cluster();
  if (!cluster)
    return;
  for (int i = 1; i <= host_count; ++i) {
    std::set<std::uint16_t> seen;
    for (pid_t pid : {cluster->daemon_pid(i), cluster->helper_pid(i)})
      for (auto& port : listening_ports(pid)) {
        if (!seen.insert(port.port).second)
          continue;
        INFO("h" << i << " " << port.text());
        auto plain = probe_plain_basp(cluster->netns_fd(i), port);
        CHECK_MESSAGE(plain.verdict == ProbeVerdict::refused, plain.detail);
        auto anonymous = probe_tls_without_certificate(cluster->netns_fd(i), port);
        CHECK_MESSAGE(anonymous.verdict == ProbeVerdict::refused, anonymous.detail);
      }
    CHECK(seen.count(NetnsCluster::link_port));
  }
}
