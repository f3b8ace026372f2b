// Inputs the fuzz targets (tests/fuzz/) found mishandled, against a real
// fc-stub process: the stub must answer them like Firecracker and keep
// serving.
#include "tests/fc_stub/stub_harness.hpp"

#include <doctest/doctest.h>

namespace banger::fc_stub::test {
namespace {

TEST_CASE("a body with UTF-8 that Rust refuses is a serde error and the stub keeps serving") {
  Stub stub;
  // Overlong NUL, an encoded UTF-16 surrogate, a code point above U+10FFFF.
  for (std::string_view bad : {"\xe0\x80\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80"}) {
    CAPTURE(bad.size());
    Reply mmds = stub.api().put("/mmds", "{\"a\":\"" + std::string(bad) + "\"}");
    CHECK(mmds.status == 400);
    CHECK(contains(mmds.fault(), "invalid unicode code point"));
    Reply drive = stub.api().put(
        "/drives/data", "{\"drive_id\":\"data\",\"path_on_host\":\"/x" + std::string(bad) +
                            "\",\"is_root_device\":false}");
    CHECK(drive.status == 400);
  }
  REQUIRE(stub.running());
  CHECK(stub.api().get("/mmds").status == 200);
  CHECK(stub.api().get("/vm/config").status == 200);
  // Valid multi-byte UTF-8 is still taken and echoed back unchanged.
  CHECK(stub.api().put("/mmds", "{\"a\":\"\xc3\xa9\xf0\x9f\x98\x80\"}").status == 204);
  CHECK(stub.api().get("/mmds").json()["a"] == "\xc3\xa9\xf0\x9f\x98\x80");
}

TEST_CASE("a request or header line too long for micro_http's buffer is a parse error even in one write") {
  Stub stub;
  ApiClient long_uri = stub.connect();
  long_uri.send_raw("GET /" + std::string(1100, 'a') + " HTTP/1.1\r\n\r\n");
  Reply uri_reply = long_uri.read_reply();
  CHECK(uri_reply.status == 400);
  CHECK(contains(uri_reply.body, "Parsing error: Invalid request."));

  ApiClient long_header = stub.connect();
  long_header.send_raw("GET / HTTP/1.1\r\nX-Long: " + std::string(2000, 'b') + "\r\n\r\n");
  Reply header_reply = long_header.read_reply();
  CHECK(header_reply.status == 400);
  CHECK(contains(header_reply.body, "Parsing error: Invalid header."));

  // A line that fits is served as usual.
  ApiClient fits = stub.connect();
  fits.send_raw("GET / HTTP/1.1\r\nX-Fits: " + std::string(900, 'c') + "\r\n\r\n");
  CHECK(fits.read_reply().status == 200);
}

TEST_CASE("a request whose path or body is not UTF-8 is answered and the stub keeps serving") {
  Stub stub;
  ApiClient raw_path = stub.connect();
  raw_path.send_raw("GET /drives/\xff\xfe HTTP/1.1\r\n\r\n");
  CHECK(raw_path.read_reply().status == 400);
  CHECK(stub.api().put("/drives/\xff", "{\"drive_id\":\"x\",\"is_root_device\":false}").status
        == 400);
  CHECK(stub.api().put("/vm", "\xff\xfe").status == 400);
  CHECK(stub.api().put("/drives/data", "{\"drive_id\":\"data\",\"path_on_host\":\"/x\xe0\x80\x80\","
                                       "\"is_root_device\":false}").status == 400);
  REQUIRE(stub.running());
  CHECK(stub.api().get("/").status == 200);
}

} // namespace
} // namespace banger::fc_stub::test
