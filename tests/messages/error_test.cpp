#include "messages/error.hpp"

#include <caf/sec.hpp>
#include <doctest/doctest.h>

using namespace banger;

TEST_CASE("the CLI renders an error as its message followed by the op_id") {
  auto uut = make_error(Errc::not_found, "no VM named 'web'", "op-3f9a0c12d4e1");
  CHECK(render_for_cli(uut) == "error: no VM named 'web' (op-3f9a0c12d4e1)");
}

TEST_CASE("an error without op_id renders without the parenthesis") {
  auto uut = make_error(Errc::invalid_argument, "bad name", "");
  CHECK(render_for_cli(uut) == "error: bad name");
}

TEST_CASE("every error code has a stable name that maps back to it") {
  for (int code = 0; code <= static_cast<int>(Errc::system); ++code) {
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
