// `banger init`: its arguments, the order of its steps and the report. The
// steps themselves are one file per job (see init_steps.hpp).
#include "tools/cli/init_steps.hpp"

#include "messages/cluster_hosts.hpp"
#include "messages/settings_table.hpp"
#include "messages/host_network.hpp"
#include "messages/numbers.hpp"

#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <optional>
#include <vector>

namespace banger {

using namespace init;

namespace {

Result<gid_t> resolve_group(const std::string& group) {
  if (auto n = parse_uint(group, 0x7fffffff))
    return static_cast<gid_t>(*n);
  std::vector<char> buf(16384);
  struct group entry{};
  struct group* found = nullptr;
  int rc = ::getgrnam_r(group.c_str(), &entry, buf.data(), buf.size(), &found);
  if (rc != 0)
    return system_error("getgrnam_r", group, rc);
  if (!found)
    return invalid("--daemon-group: no such group '" + group + "'");
  return found->gr_gid;
}

} // namespace

std::string_view to_string(InitAction action) {
  switch (action) {
    case InitAction::created:
      return "created";
    case InitAction::kept:
      return "kept";
    case InitAction::updated:
      return "updated";
    case InitAction::replaced:
      return "replaced";
    case InitAction::removed:
      return "removed";
  }
  return "unknown";
}

std::string InitReport::render() const {
  std::size_t width = 0;
  for (const auto& e : entries)
    width = std::max(width, e.path.size());
  std::string out;
  for (const auto& e : entries) {
    auto action = std::string(to_string(e.action));
    out += action + std::string(10 - action.size(), ' ') + e.path;
    if (!e.note.empty())
      out += std::string(width - e.path.size() + 2, ' ') + "(" + e.note + ")";
    out += "\n";
  }
  return out;
}

std::string render_guest_network(const Settings& s, const std::vector<std::string>& dns) {
  auto subnet = parse_ipv4_subnet(s.network_subnet);
  std::string out = "guest network: bridge " + s.network_bridge + ", subnet " + s.network_subnet;
  if (subnet)
    out += " (gateway " + subnet->gateway_string() + ")";
  out += "\n";
  if (s.network_nat)
    out += "  NAT: on; guests reach the host's networks and beyond, masqueraded by "
           "banger-helper (network.nat=false turns it off)\n";
  else
    out += "  NAT: off; guests reach only the host (network.nat=true turns it on)\n";
  std::string servers;
  for (const auto& server : dns)
    servers += (servers.empty() ? "" : ", ") + server;
  if (s.network_dns == "none")
    out += "  DNS: none (network.dns=none); guests get no /etc/resolv.conf\n";
  else if (s.network_dns != "auto")
    out += "  DNS: " + servers + " (network.dns)\n";
  else if (!servers.empty())
    out += "  DNS: " + servers + ", the host's resolvers, read again at each VM start "
           "(network.dns=auto; network.dns=a.b.c.d chooses)\n";
  else
    out += "  DNS: none found: the host's resolv.conf names only loopback resolvers, which "
           "guests cannot reach; set network.dns=a.b.c.d\n";
  return out;
}

const InitEntry* InitReport::find(std::string_view path) const {
  for (const auto& e : entries)
    if (e.path == path)
      return &e;
  return nullptr;
}

Result<InitOptions> parse_init_args(const std::vector<std::string>& args) {
  InitOptions out;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string flag = args[i];
    std::optional<std::string> value;
    if (auto eq = flag.find('='); flag.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = flag.substr(eq + 1);
      flag.resize(eq);
    }
    auto take = [&]() -> Result<std::string> {
      if (value)
        return *value;
      if (i + 1 >= args.size())
        return invalid(flag + " needs a value");
      return args[++i];
    };
    if (flag == "--force" && !value) {
      out.force = true;
    } else if (flag == "--vmm" || flag == "--port" || flag == "--set" ||
               flag == "--daemon-group" || flag == "--cluster-ca" || flag == "--host-id") {
      auto v = take();
      if (!v)
        return std::move(v).error();
      if (flag == "--vmm") {
        Settings scratch;
        if (auto st = apply_setting(scratch, "vmm.kind", *v); !st)
          return invalid("--vmm: " + st.error().message);
        out.vmm_kind = *v;
      } else if (flag == "--port") {
        auto n = parse_uint(*v, 65534);
        if (!n || *n == 0)
          return invalid("--port: '" + *v + "' is not a port number (1-65534; the helper "
                                            "uses port + 1)");
        out.port = static_cast<std::uint16_t>(*n);
      } else if (flag == "--set") {
        out.sets.push_back(*v);
      } else if (flag == "--cluster-ca") {
        if (v->empty())
          return invalid("--cluster-ca needs a directory");
        out.cluster_ca = *v;
      } else if (flag == "--host-id") {
        if (!is_valid_host_id(*v))
          return invalid("--host-id: '" + *v + "' is not 1-32 of [a-z0-9-] starting with a "
                                               "letter or digit");
        out.host_id = *v;
      } else {
        out.daemon_group = *v;
      }
    } else {
      return invalid("banger init: unknown argument '" + args[i] +
                     "' (expected --vmm, --port, --set, --force, --daemon-group, "
                     "--cluster-ca, --host-id)");
    }
  }
  // The cluster CA issues this host's credential for its id: one without
  // the other would make a home that cannot join.
  if (!out.host_id.empty() && out.cluster_ca.empty())
    return invalid("--host-id needs --cluster-ca DIR: the cluster CA issues the host's "
                   "credential (make it once with banger cluster ca DIR)");
  if (out.host_id.empty() && !out.cluster_ca.empty())
    return invalid("--cluster-ca needs --host-id ID: this host's id in cluster.hosts");
  return out;
}

Result<InitReport> init_home(const InitOptions& options) {
  if (options.home.empty())
    return invalid("banger init: no home directory given");
  Context ctx{options.home};
  ctx.force = options.force;

  // Everything that can be refused is checked before the first write.
  if (!options.daemon_group.empty()) {
    auto gid = resolve_group(options.daemon_group);
    if (!gid)
      return std::move(gid).error();
    ctx.client_group = *gid;
    ctx.client_group_name = options.daemon_group;
  }
  std::optional<std::string> existing;
  if (exists_no_follow(ctx.layout.config_file())) {
    auto text = read_small_file(ctx.layout.config_file());
    if (!text)
      return std::move(text).error();
    existing = std::move(*text);
  }
  Settings settings;
  // What an existing banger.conf says, when this run keeps it untouched.
  std::optional<Settings> kept;
  if (existing && !options.force && has_setting_options(options)) {
    auto parsed = parse_config_text(*existing);
    if (!parsed)
      return invalid("cannot update " + ctx.layout.config_file().string() + ": " +
                     parsed.error().message +
                     " (edit it by hand, or use --force to rewrite it from defaults)");
    settings = std::move(*parsed);
  } else if (existing && !options.force) {
    if (auto parsed = parse_config_text(*existing); parsed)
      kept = std::move(*parsed);
  }
  if (auto st = apply_options(settings, options); !st)
    return std::move(st).error();
  if (auto st = prepare_cluster(ctx, options, kept ? kept->cluster_host_id
                                                   : settings.cluster_host_id);
      !st)
    return std::move(st).error();

  const auto& home = ctx.layout.home();
  struct stat st{};
  if (::stat(home.c_str(), &st) != 0) {
    if (errno != ENOENT)
      return system_error("stat", home.string(), errno);
    std::error_code ec;
    if (home.has_parent_path())
      fs::create_directories(home.parent_path(), ec);
    if (ec)
      return Error{Errc::system, "cannot create " + home.parent_path().string() + ": " +
                                   ec.message()};
    // 0755: CLI users read banger.conf (the port) and tls/{ca,client}.pem.
    if (::mkdir(home.c_str(), 0755) != 0 || ::chmod(home.c_str(), 0755) != 0)
      return system_error("mkdir", home.string(), errno);
    ctx.report.entries.push_back({".", InitAction::created, "mode 0755"});
  } else if (!S_ISDIR(st.st_mode)) {
    return invalid(home.string() + " exists and is not a directory");
  } else {
    ctx.report.entries.push_back({".", InitAction::kept, "mode " + octal(st.st_mode)});
  }

  // Secrets (database, token, SSH key) live under state/: the daemon's user
  // only. run/ and images/ leave room for a VMM group; tls/ is world-
  // traversable because the CLI needs client.pem and ca.pem, and the keys in
  // it carry their own narrow modes.
  const std::pair<fs::path, mode_t> dirs[] = {
    {ctx.layout.state_dir(), 0700},
    {ctx.layout.state_dir() / "vms", 0700},
    {ctx.layout.ssh_dir(), 0700},
    {ctx.layout.run_dir(), 0750},
    {ctx.layout.run_dir() / "vms", 0750},
    {ctx.layout.tls_dir(), 0755},
    {ctx.layout.images_dir(), 0750},
    {ctx.layout.logs_dir(), 0750},
  };
  for (const auto& [path, mode] : dirs)
    if (auto s = ensure_dir(ctx, path, mode); !s)
      return std::move(s).error();

  if (auto s = init_config(ctx, options, settings, existing); !s)
    return std::move(s).error();
  if (auto s = init_tls(ctx); !s)
    return std::move(s).error();
  if (auto s = init_token(ctx); !s)
    return std::move(s).error();
  if (auto s = init_ssh(ctx); !s)
    return std::move(s).error();
  ctx.report.settings = kept ? std::move(*kept) : settings;
  return std::move(ctx.report);
}

} // namespace banger
