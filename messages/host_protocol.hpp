// The protocol between the bangerd of two cluster hosts (docs/cluster.md).
// Each host publishes one host actor on its cluster.hosts address over the
// same mutual TLS as every banger port. TLS proves only "a certificate of
// this cluster's CA", which CLI certificates have too, so a link is opened
// by a handshake that proves a *host* credential:
//
//   dialer (lower id)                      acceptor
//   HostChallengeRequest           ->
//                                  <-      HostChallenge{nonce_a}
//   HostHelloRequest{intro_d, sig_d over nonce_a, host actor}  ->
//                                  <-      HostWelcome{intro_a, sig_a over intro_d.nonce, host actor}
//
// A signature is made with the host key whose certificate (CN
// "banger-host:<id>", issued by the cluster CA) is in the intro; the signed
// text covers every field of the intro and the other side's nonce
// (cluster/host_credential.hpp). Each side's intro names a random session
// token; every later request on the link carries the *receiver's* token in
// Envelope::credential and is refused (unauthenticated) without it. Both
// sides monitor the other's host actor; a down message ends the link and
// fails every request pending on it.
#pragma once

#include "messages/cli_protocol.hpp"
#include "messages/records.hpp"
#include "messages/wire.hpp"

#include <caf/actor.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace banger {

/// What a host says about itself when a link opens.
struct HostIntro {
  std::string host_id;       ///< the sender
  std::string to_id;         ///< the host it means to talk to
  std::uint64_t epoch = 0;   ///< random per bangerd start: a new epoch is a new incarnation
  std::uint32_t protocol = 0; ///< protocol_version
  std::string version;       ///< bangerd version
  std::string subnet;        ///< network.subnet: guest subnets must not overlap
  std::uint32_t cpus = 0;    ///< online CPUs
  std::uint64_t memory_mib = 0; ///< what guests may use
  std::string certificate;   ///< PEM host certificate
  std::string nonce;         ///< 32 lowercase hex digits, for the other side to sign
  std::string token;         ///< the session token the other side sends in credential

  bool operator==(const HostIntro&) const = default;
};
BANGER_INSPECT(HostIntro, x.host_id, x.to_id, x.epoch, x.protocol, x.version, x.subnet, x.cpus,
               x.memory_mib, x.certificate, x.nonce, x.token)

struct HostChallengeRequest {
  Envelope env;

  bool operator==(const HostChallengeRequest&) const = default;
};
BANGER_INSPECT(HostChallengeRequest, x.env)

struct HostChallenge {
  std::string nonce; ///< valid for one hello, for a few seconds

  bool operator==(const HostChallenge&) const = default;
};
BANGER_INSPECT(HostChallenge, x.nonce)

struct HostHelloRequest {
  Envelope env;
  HostIntro intro;
  std::string challenge; ///< the acceptor's nonce from HostChallenge
  std::string signature; ///< hex, over (intro, challenge)
  caf::actor host;       ///< the dialer's host actor

  bool operator==(const HostHelloRequest&) const = default;
};
BANGER_INSPECT(HostHelloRequest, x.env, x.intro, x.challenge, x.signature, x.host)

struct HostWelcome {
  HostIntro intro;
  std::string signature; ///< hex, over (intro, the hello's intro.nonce)
  caf::actor host;       ///< the acceptor's host actor (may be the published one)

  bool operator==(const HostWelcome&) const = default;
};
BANGER_INSPECT(HostWelcome, x.intro, x.signature, x.host)

/// The application ping: every second on every link that is up.
struct HostPing {
  Envelope env;

  bool operator==(const HostPing&) const = default;
};
BANGER_INSPECT(HostPing, x.env)

struct HostPong {
  std::uint64_t epoch = 0;
  std::uint32_t vms = 0;
  std::uint32_t cpus_free = 0;
  std::uint64_t memory_free_mib = 0;

  bool operator==(const HostPong&) const = default;
};
BANGER_INSPECT(HostPong, x.epoch, x.vms, x.cpus_free, x.memory_free_mib)

/// A name's entry at its owner host.
struct NameBinding {
  std::string name;
  std::string host;   ///< where the VM is (or is being created)
  std::string vm_id;  ///< empty while only reserved
  std::string op_id;  ///< the create that reserved it
  bool bound = false; ///< the VM exists; else a reservation
  std::int64_t expires_at_us = 0; ///< a reservation's end; 0 once bound

  bool operator==(const NameBinding&) const = default;
};
BANGER_INSPECT(NameBinding, x.name, x.host, x.vm_id, x.op_id, x.bound, x.expires_at_us)

/// One host's share of a cluster listing: its own VMs, and the names it
/// owns whose VMs live on `names_of` (hosts the asker cannot reach).
struct HostListRequest {
  Envelope env;
  std::vector<std::string> names_of;

  bool operator==(const HostListRequest&) const = default;
};
BANGER_INSPECT(HostListRequest, x.env, x.names_of)

struct HostListReply {
  std::vector<VmRecord> vms;
  std::vector<NameBinding> names;

  bool operator==(const HostListReply&) const = default;
};
BANGER_INSPECT(HostListReply, x.vms, x.names)

/// At the name's owner: hold `name` for the create env.op_id on `host`.
/// Idempotent for the same op_id; already_exists (naming the host) when
/// another VM or create holds it.
struct NameReserveRequest {
  Envelope env;
  std::string name;
  std::string host;

  bool operator==(const NameReserveRequest&) const = default;
};
BANGER_INSPECT(NameReserveRequest, x.env, x.name, x.host)

/// The create env.op_id made VM `vm_id` on `host`: the name is bound.
struct NameBindRequest {
  Envelope env;
  std::string name;
  std::string vm_id;
  std::string host;

  bool operator==(const NameBindRequest&) const = default;
};
BANGER_INSPECT(NameBindRequest, x.env, x.name, x.vm_id, x.host)

/// The create env.op_id failed: its reservation goes (nothing else does).
struct NameReleaseRequest {
  Envelope env;
  std::string name;

  bool operator==(const NameReleaseRequest&) const = default;
};
BANGER_INSPECT(NameReleaseRequest, x.env, x.name)

/// VM `vm_id` was deleted: its binding goes (only if it is that VM's).
struct NameDropRequest {
  Envelope env;
  std::string name;
  std::string vm_id;

  bool operator==(const NameDropRequest&) const = default;
};
BANGER_INSPECT(NameDropRequest, x.env, x.name, x.vm_id)

/// When a link comes up: every VM `host` has whose name the receiver owns.
/// The owner binds what is missing and drops bindings of `host` that are
/// not in the list (deleted while it could not say so); reservations in
/// flight are left alone.
struct NamesHeldRequest {
  Envelope env;
  std::string host;
  std::vector<NameBinding> held;

  bool operator==(const NamesHeldRequest&) const = default;
};
BANGER_INSPECT(NamesHeldRequest, x.env, x.host, x.held)

/// A host's host actor. VM requests arriving here are answered from this
/// host's VMs only (the asking host did the cluster-wide part); their
/// op_id is the one minted where the request entered the cluster.
using host_actor = caf::typed_actor<
  caf::replies_to<HostChallengeRequest>::with<HostChallenge>,
  caf::replies_to<HostHelloRequest>::with<HostWelcome>,
  caf::replies_to<HostPing>::with<HostPong>,
  caf::replies_to<HostListRequest>::with<HostListReply>,
  caf::replies_to<VmShowRequest>::with<VmRecord>,
  caf::replies_to<VmActionRequest>::with<VmRecord>,
  caf::replies_to<VmCreateRequest>::with<VmRecord>,
  caf::replies_to<VmCreateBeginRequest>::with<OpAccepted>,
  caf::replies_to<VmCloneRequest>::with<VmRecord>,
  caf::replies_to<OpStatusRequest>::with<OperationStatus>,
  caf::replies_to<NameReserveRequest>::with<Ack>,
  caf::replies_to<NameBindRequest>::with<Ack>,
  caf::replies_to<NameReleaseRequest>::with<Ack>,
  caf::replies_to<NameDropRequest>::with<Ack>,
  caf::replies_to<NamesHeldRequest>::with<Ack>,
  caf::replies_to<VmLogReadRequest>::with<VmLogChunk>,
  caf::replies_to<VmExecRequest>::with<VmSessionStarted>,
  caf::replies_to<VmSessionIoRequest>::with<VmSessionIo>,
  caf::replies_to<VmFileReadRequest>::with<VmSessionStarted>,
  caf::replies_to<VmFileWriteRequest>::with<VmFileWritten>>;

} // namespace banger
