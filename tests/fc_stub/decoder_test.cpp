// In-process checks of the pieces behind the API: serde-compatible decoding,
// HTTP framing and fault configuration.
#include "tests/support/process.hpp"
#include "tools/fc-stub/decoder.hpp"
#include "tools/fc-stub/faults.hpp"
#include "tools/fc-stub/http.hpp"

#include <doctest/doctest.h>
#include <fstream>
#include <map>

namespace banger::fc_stub {
namespace {

std::string decode_error(std::string_view text,
                         const schema::Definition& definition) {
  try {
    decode(text, definition);
  } catch (const DecodeError& error) {
    return error.what();
  }
  return "no error";
}

TEST_CASE("decoding fills defaults in Firecracker's field order") {
  auto drive =
      decode(R"({"is_root_device": false, "drive_id": "d"})", schema::drive);
  CHECK(drive.dump() ==
        R"({"drive_id":"d","partuuid":null,"is_root_device":false,)"
        R"("cache_type":"Unsafe","is_read_only":null,"path_on_host":null,)"
        R"("rate_limiter":null,"io_engine":null,"socket":null})");
}

TEST_CASE("Option fields accept null but serde-defaulted fields do not") {
  CHECK(decode(R"({"drive_id": "d", "is_root_device": true, "partuuid": null})",
               schema::drive)["partuuid"]
            .is_null());
  CHECK(decode_error(R"({"vcpu_count": 1, "mem_size_mib": 1, "smt": null})",
                     schema::machine_configuration) ==
        "invalid type: null, expected a boolean at line 1 column 48");
}

TEST_CASE("integer errors follow serde: sign, width and floats") {
  CHECK(decode_error(R"({"guest_cid": -3, "uds_path": "x"})", schema::vsock) ==
        "invalid value: integer `-3`, expected u32 at line 1 column 16");
  CHECK(decode_error(R"({"guest_cid": 4294967296, "uds_path": "x"})",
                     schema::vsock) ==
        "invalid value: integer `4294967296`, expected u32 at line 1 column "
        "24");
  CHECK(decode_error(R"({"guest_cid": 3e2, "uds_path": "x"})", schema::vsock) ==
        "invalid type: floating point `300.0`, expected u32 at line 1 column "
        "17");
}

TEST_CASE("nested objects report errors at serde's positions") {
  CHECK(decode_error(R"({"rate_limiter": {"bandwidth": {"size": 1}}})",
                     schema::entropy_device) ==
        "missing field `refill_time` at line 1 column 42");
  // TokenBucketConfig is not deny_unknown_fields in Firecracker.
  CHECK(
      decode(
          R"({"rate_limiter": {"ops": {"size": 1, "refill_time": 2, "x": 0}}})",
          schema::entropy_device)["rate_limiter"]["ops"]["size"] == 1);
  CHECK(decode_error(R"({"rate_limiter": "fast"})", schema::entropy_device) ==
        "invalid type: string \"fast\", expected struct RateLimiterConfig at "
        "line 1 column 23");
}

TEST_CASE("custom string formats are checked like Firecracker's types") {
  CHECK(decode_error(
            R"({"iface_id": "e", "host_dev_name": "t", "guest_mac": "zz"})",
            schema::network_interface) ==
        "The provided MAC address is invalid. at line 1 column 57");
  CHECK(decode(R"({"level": "warning"})", schema::logger)["level"] == "Warn");
  CHECK(decode_error(R"({"level": "loud"})", schema::logger) ==
        "Invalid LevelFilter at line 1 column 16");
  CHECK(decode_error(R"({"network_interfaces": [], "ipv4_address": "1.2.3"})",
                     schema::mmds_config) ==
        "invalid IPv4 address syntax at line 1 column 50");
  CHECK(decode_error(R"({"action_type": 1})", schema::instance_action_info) ==
        "expected value at line 1 column 17");
}

TEST_CASE("syntax errors use serde_json's wording and positions") {
  CHECK(decode_error("", schema::vm_state) ==
        "EOF while parsing a value at line 1 column 0");
  CHECK(decode_error(R"({"state": "Paused"} x)", schema::vm_state) ==
        "trailing characters at line 1 column 21");
  CHECK(decode_error(R"({"state": "Paused",})", schema::vm_state) ==
        "trailing comma at line 1 column 20");
  CHECK(decode_error(R"({state: 1})", schema::vm_state) ==
        "key must be a string at line 1 column 2");
  CHECK(decode_error(R"({"state": tru})", schema::vm_state) ==
        "expected ident at line 1 column 14");
}

TEST_CASE("free-form MMDS objects keep the last duplicate key") {
  auto contents =
      decode_object(R"({"b": 1, "a": {"x": [true, null]}, "b": 2})");
  CHECK(contents.dump() == R"({"a":{"x":[true,null]},"b":2})");
  CHECK_THROWS_AS(decode_object("[1]"), DecodeError);
}

TEST_CASE("the HTTP parser waits for whole requests and refuses chunking") {
  using http::ParseStatus;
  std::string request =
      "PUT /actions HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello";
  for (std::size_t cut = 0; cut < request.size(); ++cut)
    CHECK(http::parse_request(std::string_view(request).substr(0, cut), 100)
              .status == ParseStatus::Incomplete);
  auto complete = http::parse_request(request + "GET", 100);
  REQUIRE(complete.status == ParseStatus::Complete);
  CHECK(complete.consumed == request.size());
  CHECK(*complete.request.body == "hello");
  CHECK(
      http::parse_request("PUT /a HTTP/1.1\r\nContent-Length: 500\r\n\r\n", 100)
          .error ==
      "Request payload with size 500 is larger than the limit of 100 "
      "allowed by server.");
  CHECK(http::parse_request(
            "PUT /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 100)
            .status == ParseStatus::Invalid);
  CHECK(http::parse_request("GET http://localhost/vm/config HTTP/1.1\r\n\r\n",
                            100)
            .request.path == "/vm/config");
  CHECK(http::serialize({.status = 204, .body = {}, .deprecation = false}) ==
        "HTTP/1.1 204 \r\nServer: Firecracker API\r\nConnection: "
        "keep-alive\r\n\r\n");
}

TEST_CASE("fault settings merge flag, environment and the faults file") {
  banger::test::TempDir directory("fc-stub-faults-unit");
  std::string file = directory.path() + "/faults";
  std::ofstream(file) << "vm1 response-delay-ms 7\n"
                         "*   response-delay-ms 9\n"
                         "*   crash-after-boot-ms 11\n"
                         "vm2 crash-after-boot-ms 99\n"
                         "*   fail-endpoint PUT:/drives/*\n";
  std::map<std::string, std::string> environment = {
      {"FC_STUB_FAULTS", file},
      {"FC_STUB_SHUTDOWN_DELAY_MS", "5"},
      {"FC_STUB_FAIL_ENDPOINT", "GET:/"}};
  auto lookup = [&](const char* name) -> const char* {
    auto found = environment.find(name);
    return found == environment.end() ? nullptr : found->second.c_str();
  };
  Options options;
  options.id = "vm1";
  options.stub_shutdown_delay_ms = "6";
  Faults faults;
  REQUIRE_FALSE(load_faults(options, lookup, faults));
  CHECK(faults.response_delay_ms == 7);
  CHECK(faults.crash_after_boot_ms == 11);
  CHECK(faults.shutdown_delay_ms == 6);
  CHECK(faults.failing("PUT", "/drives/rootfs", ""));
  CHECK(faults.failing("GET", "/", ""));
  CHECK_FALSE(faults.failing("GET", "/version", ""));

  options.stub_socket_delay_ms = "soon";
  Faults rejected;
  auto error = load_faults(options, lookup, rejected);
  REQUIRE(error);
  CHECK(error->find("not a non-negative integer") != std::string::npos);
}

} // namespace
} // namespace banger::fc_stub
