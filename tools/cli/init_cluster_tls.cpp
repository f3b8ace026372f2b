// tls/ of a cluster host (--cluster-ca DIR --host-id ID): tls/ca.pem is the
// cluster CA's certificate, the helper, daemon and client leaves are issued
// by it, and so is the host credential that opens host links. The CA's key
// is read from DIR for this run only and never written into the home: a
// home that held it could mint any other host's credential.
#include "tools/cli/cluster_ca.hpp"
#include "tools/cli/init_tls.hpp"

#include "messages/tls.hpp"

#include <openssl/x509.h>

#include <unistd.h>

#include <cerrno>

namespace banger::init {

namespace {

std::string missing_cluster_key(const Context& ctx) {
  return "issuing needs the cluster CA: run banger init --cluster-ca DIR --host-id " +
         ctx.host_id;
}

Status write_cluster_certificate(Context& ctx, const fs::path& path) {
  auto action = fresh(ctx, path);
  if (auto st = write_certificate(path, ctx.cluster_ca->certificate.get(), 0644); !st)
    return st;
  ctx.record(path, action,
             "the cluster CA of " + ctx.cluster_ca_dir.string() + "; its key stays there");
  return {};
}

} // namespace

Leaf host_leaf(const Context& ctx) {
  // Readable by bangerd only, certificate included: the daemon's user is the
  // only one that ever presents it.
  return {.name = "host",
          .common_name = host_certificate_name(ctx.host_id),
          .certificate_mode = 0600,
          .check_name = true};
}

Status prepare_cluster(Context& ctx, const InitOptions& options, const std::string& host_id) {
  ctx.host_id = host_id;
  auto ca_pem = ctx.layout.tls_dir() / "ca.pem";
  if (!options.cluster_ca.empty()) {
    auto ca = load_cluster_ca(options.cluster_ca);
    if (!ca)
      return std::move(ca).error();
    ctx.cluster_ca = std::move(*ca);
    ctx.cluster_ca_dir = options.cluster_ca;
    // Checked before anything is written, like the CA itself.
    auto ssh = load_cluster_ssh_key(options.cluster_ca);
    if (!ssh)
      return std::move(ssh).error();
    ctx.cluster_ssh_key = std::move(ssh->private_key);
    ctx.cluster_ssh_pub = std::move(ssh->public_key);
    if (ctx.force || !exists_no_follow(ca_pem))
      return {};
    auto kept = load_certificate(ctx, ca_pem);
    if (!kept)
      return std::move(kept).error();
    if (X509_cmp(kept->get(), ctx.cluster_ca->certificate.get()) != 0)
      return invalid(ca_pem.string() + " is not the cluster CA of " +
                     options.cluster_ca.string() +
                     " (this home has its own CA, or another cluster's); run banger init "
                     "--force --cluster-ca " + options.cluster_ca.string() + " --host-id " +
                     host_id + " to reissue all its TLS files from the cluster CA");
    return {};
  }
  if (host_id.empty())
    return {};
  // A cluster host's home without the cluster CA: what is there can be
  // kept and checked, nothing can be issued.
  if (ctx.force)
    return invalid("--force on a cluster host reissues its TLS files from the cluster CA: "
                   "add --cluster-ca DIR --host-id " + host_id);
  if (!exists_no_follow(ca_pem))
    return invalid("cluster.host-id is " + host_id + ": this home's TLS files come from the "
                   "cluster CA, and tls/ca.pem is missing; run banger init --cluster-ca DIR "
                   "--host-id " + host_id);
  return {};
}

Status init_cluster_tls(Context& ctx) {
  auto ca_pem = ctx.layout.tls_dir() / "ca.pem";
  auto ca_key = tls_ca_key(ctx.layout);
  const pki::Authority* cluster = ctx.cluster_ca ? &*ctx.cluster_ca : nullptr;
  // A CA key in a cluster host's home is a per-home CA left from before the
  // home joined: whatever it signed would not be trusted by the others, and
  // it must not be mistaken for the cluster's.
  if (exists_no_follow(ca_key)) {
    if (!ctx.force)
      return invalid(ca_key.string() + " exists, but a cluster host's home holds no CA key "
                     "(its files are issued by the cluster CA, whose key stays where banger "
                     "cluster ca made it); " + regenerate_hint(ctx));
    if (::unlink(ca_key.c_str()) != 0)
      return system_error("unlink", ca_key.string(), errno);
    ctx.record(ca_key, InitAction::removed, "the cluster CA signs for this home now");
  }
  auto all = leaves(ctx);
  all.push_back(host_leaf(ctx));
  if (ctx.force) {
    // prepare_cluster refused --force without the cluster CA.
    if (auto st = write_cluster_certificate(ctx, ca_pem); !st)
      return st;
    for (const auto& leaf : all)
      if (auto st = issue_new_leaf(ctx, leaf, cluster->certificate.get(), cluster->key.get());
          !st)
        return st;
    return {};
  }
  if (!exists_no_follow(ca_pem)) {
    // prepare_cluster refused a missing tls/ca.pem without the cluster CA.
    if (auto st = write_cluster_certificate(ctx, ca_pem); !st)
      return st;
  } else if (auto st = keep_file(ctx, ca_pem, 0644); !st) {
    return st;
  }
  // The kept tls/ca.pem is the trust anchor (prepare_cluster checked that it
  // is the given cluster CA's).
  auto ca = load_certificate(ctx, ca_pem);
  if (!ca)
    return std::move(ca).error();
  for (const auto& leaf : all)
    if (auto st = keep_or_issue_leaf(ctx, leaf, ca->get(), cluster ? cluster->key.get() : nullptr,
                                     missing_cluster_key(ctx));
        !st)
      return st;
  return {};
}

} // namespace banger::init
