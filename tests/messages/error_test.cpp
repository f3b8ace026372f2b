#include "messages/error.hpp"

#include <caf/sec.hpp>
#include <doctest/doctest.h>

using namespace banger;

TEST_CASE("every error code has a stable name that maps back to it") {
  for (int code = 0; code <= static_cast<int>(Errc::agent_unavailable); ++code) {
    auto errc = static_cast<Errc>(code);
    auto name = to_string(errc);
    CHECK(name != "unknown_error");
    CHECK(errc_from_string(name) == errc);
    CHECK_FALSE(describe(errc).empty());
  }
  CHECK_FALSE(errc_from_string("no_such_code"));
}

TEST_CASE("CAF's own errors map onto banger codes") {
  CHECK(view(caf::make_error(caf::sec::request_timeout)).code == Errc::timeout);
  CHECK(view(caf::make_error(caf::sec::unexpected_message)).code
        == Errc::unknown_method);
  CHECK(view(caf::error{}).code == Errc::none);
}

TEST_CASE("a lost or never made connection is told apart from every other error") {
  for (auto code : {caf::sec::request_receiver_down, caf::sec::cannot_connect_to_node,
                    caf::sec::remote_linking_failed}) {
    CAPTURE(caf::to_string(code));
    auto uut = view(caf::make_error(code));
    CHECK(uut.peer_lost);
    CHECK(uut.from_caf);
  }
  auto timeout = view(caf::make_error(caf::sec::request_timeout));
  CHECK(timeout.from_caf);
  CHECK_FALSE(timeout.peer_lost);
  // A timeout a banger process reports (a boot that took too long) is not CAF's.
  auto boot = view(make_error(Errc::timeout, "guest not ready within 30 s", "op-aaaaaaaaaaaa"));
  CHECK_FALSE(boot.from_caf);
  CHECK_FALSE(boot.peer_lost);
}

TEST_CASE("a CAF-free Error converts into a wire error with the op_id") {
  Error plain{Errc::storage, "disk full"};
  auto uut = view(to_caf_error(plain, "op-aaaaaaaaaaaa"));
  CHECK(uut.code == Errc::storage);
  CHECK(uut.message == "disk full");
  CHECK(uut.op_id == "op-aaaaaaaaaaaa");
}

TEST_CASE("system_error names the call, the object and errno's text") {
  auto uut = system_error("open", "/x/y", ENOENT);
  CHECK(uut.code == Errc::system);
  CHECK(uut.message == "open /x/y: No such file or directory");
}
