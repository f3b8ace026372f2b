// What makes a short connection cheap, against a real tls_peer: TLS files
// parsed once per process (messages/tls_credentials.hpp), and TLS 1.3
// tickets that a CAF server accepts on its later connections
// (messages/tls_resume.hpp).
#include "messages/home_layout.hpp"
#include "messages/tls.hpp"
#include "messages/tls_credentials.hpp"
#include "tests/support/process.hpp"
#include "tests/support/raw_tls.hpp"
#include "tools/cli/init.hpp"

#include <doctest/doctest.h>

#include <openssl/pem.h>

#include <csignal>
#include <cstdio>
#include <filesystem>

using namespace banger;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

struct Served {
  test::TempDir tmp;
  fs::path home = fs::path(tmp.path()) / "home";
  std::uint16_t port = 0; // set by respawn(), so declared before peer
  test::Child peer;

  Served() : peer(start()) {}

  test::Child start() {
    auto report = init_home({.home = home});
    REQUIRE_MESSAGE(report.ok(), (report.ok() ? "" : report.error().message));
    return respawn();
  }
  test::Child respawn() {
    auto child = test::Child::spawn({TLS_PEER_BIN, home.string(), "helper"});
    auto line = child.read_line(20s);
    REQUIRE_MESSAGE(line, "tls_peer printed no port");
    port = static_cast<std::uint16_t>(std::stoi(*line));
    return child;
  }
  TlsFiles client() const { return tls_files(HomeLayout{home}, TlsRole::client); }
};

std::unique_ptr<X509, void (*)(X509*)> leaf_of(const fs::path& pem) {
  std::unique_ptr<X509, void (*)(X509*)> out{nullptr, X509_free};
  if (FILE* f = std::fopen(pem.c_str(), "r")) {
    out.reset(PEM_read_X509(f, nullptr, nullptr, nullptr));
    std::fclose(f);
  }
  return out;
}

// Replaces `to` by a copy of `from`, as an installer would: a new file
// renamed over the old one.
void replace(const fs::path& from, const fs::path& to) {
  auto tmp = to.string() + ".new";
  fs::copy_file(from, tmp, fs::copy_options::overwrite_existing);
  fs::rename(tmp, to);
}

} // namespace

TEST_CASE("a process parses each TLS file once, and a replaced certificate is used by the next "
          "connection") {
  Served served;
  auto files = served.client();
  auto before = tls_credentials::parses();
  {
    test::RawTls first(files, served.port);
    CHECK(first.greeted_within(5s));
  }
  CHECK(tls_credentials::parses() - before == 3); // certificate, key, CA
  {
    test::RawTls second(files, served.port);
    CHECK(second.greeted_within(5s));
  }
  CHECK(tls_credentials::parses() - before == 3);

  // Another identity of the same CA put in place of the client's files.
  auto daemon = tls_files(HomeLayout{served.home}, TlsRole::daemon);
  replace(daemon.certificate, files.certificate);
  replace(daemon.key, files.key);
  test::RawTls third(files, served.port);
  CHECK(third.greeted_within(5s));
  CHECK(tls_credentials::parses() - before == 5);
  auto expected = leaf_of(daemon.certificate);
  REQUIRE(expected);
  CHECK(X509_cmp(SSL_get_certificate(third.ssl), expected.get()) == 0);
}

TEST_CASE("a CAF server resumes its own tickets on later connections; a restarted one falls back "
          "to a full handshake") {
  Served served;
  auto files = served.client();
  SSL_SESSION* ticket = nullptr;
  {
    test::RawTls first(files, served.port);
    REQUIRE(first.greeted_within(5s)); // the ticket comes before the greeting
    CHECK_FALSE(first.resumed());
    ticket = first.ticket();
  }
  REQUIRE_MESSAGE(ticket, "the server sent no ticket");
  {
    test::RawTls again(files, served.port, ticket);
    CHECK(again.resumed());
    CHECK(again.greeted_within(5s));
  }
  // New process, new ticket keys: the ticket is refused, the client is not.
  served.peer.signal(SIGTERM);
  CHECK(served.peer.wait(10s).has_value());
  served.peer = served.respawn();
  {
    test::RawTls restarted(files, served.port, ticket);
    CHECK_FALSE(restarted.resumed());
    CHECK(restarted.greeted_within(5s));
  }
  SSL_SESSION_free(ticket);
}
