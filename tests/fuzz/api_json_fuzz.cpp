// The HTTP API's request bodies (api/json_input.hpp): any bytes as the body
// of POST /v1/vms, under each content type a client may send. Whatever the
// bytes, the reader either refuses them with a BadRequest whose status is
// 400 or 415 and whose message is bounded, or yields a VmSpec that names an
// image, with the CLI's own disk and port parsers' values.
#include "api/json_input.hpp"
#include "tests/fuzz/fuzz_check.hpp"

#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace banger;
  auto text = std::string(fuzz::as_text(data, size));
  for (const char* type : {"", "application/json", "application/x-www-form-urlencoded",
                           "text/plain"}) {
    try {
      auto body = api::parse_body(text, type, api::vm_spec_fields);
      FUZZ_CHECK(body.is_object());
      auto spec = api::vm_spec_of(body);
      FUZZ_CHECK(!spec.image.empty());
      for (auto& port : spec.ports)
        FUZZ_CHECK(port.host_port != 0 && port.guest_port != 0);
    } catch (const api::BadRequest& bad) {
      FUZZ_CHECK(bad.status == 400 || bad.status == 415);
      FUZZ_CHECK(std::string(bad.what()).size() < 4096);
    }
  }
  return 0;
}
