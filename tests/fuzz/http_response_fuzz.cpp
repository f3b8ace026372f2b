// The reactor's HTTP/1.1 response reader (actors/http_response.hpp), fed what
// a VMM's API socket could send.
#include "actors/http_response.hpp"
#include "tests/fuzz/fuzz_check.hpp"

#include <string>

using banger::HttpResponse;
using banger::parse_http_response;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string input(banger::fuzz::as_text(data, size));
  for (bool eof : {false, true}) {
    HttpResponse response;
    std::string error;
    bool complete = parse_http_response(input, eof, response, error);
    // Complete and failed exclude each other, and only a closed peer or a
    // non-HTTP answer can fail.
    FUZZ_CHECK(!(complete && !error.empty()));
    if (!complete)
      continue;
    // The body is the input's own bytes, right after the blank line.
    auto body_start = input.find("\r\n\r\n") + 4;
    FUZZ_CHECK(response.body.size() <= input.size() - body_start);
    FUZZ_CHECK(input.compare(body_start, response.body.size(), response.body) == 0);
    // A 204 carries no body (RFC 9110), whatever follows it on the socket.
    if (response.status == 204)
      FUZZ_CHECK(response.body.empty());
    if (eof)
      continue;
    // Complete before the peer closed: bytes arriving later belong to no one
    // and must not change the answer.
    HttpResponse again;
    std::string again_error;
    FUZZ_CHECK(parse_http_response(input + "trailing", false, again, again_error));
    FUZZ_CHECK(again.status == response.status && again.body == response.body);
  }
  // A prefix of an answer is never an error while the peer is still there:
  // the reactor reads in chunks of any size.
  for (std::size_t cut : {size / 2, size / 3, size > 0 ? size - 1 : 0}) {
    HttpResponse partial;
    std::string error;
    const std::string prefix = input.substr(0, cut);
    parse_http_response(prefix, false, partial, error);
    if (!error.empty()) {
      // ...unless the prefix already shows it is not HTTP at all.
      FUZZ_CHECK(prefix.find("\r\n\r\n") != std::string::npos);
      FUZZ_CHECK(prefix.compare(0, 9, "HTTP/1.1 ") != 0 && prefix.compare(0, 9, "HTTP/1.0 ") != 0);
    }
  }
  return 0;
}
