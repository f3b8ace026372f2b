// fc-stub's HTTP request reader (tools/fc-stub/http.hpp). The first byte picks
// the payload limit; the rest is what a client wrote on the API socket. A
// request must read the same whether it arrives whole or in pieces.
#include "tests/fuzz/fuzz_check.hpp"
#include "tools/fc-stub/http.hpp"

#include <string>

namespace http = banger::fc_stub::http;

namespace {

bool same_request(const http::ParseResult& a, const http::ParseResult& b) {
  return a.status == b.status && a.consumed == b.consumed && a.request.method == b.request.method
         && a.request.uri == b.request.uri && a.request.path == b.request.path
         && a.request.body == b.request.body;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0)
    return 0;
  const std::size_t limit = data[0] < 128 ? data[0] : 51200; // 51200: fc-stub's default
  const std::string_view buffer = banger::fuzz::as_text(data + 1, size - 1);
  auto result = http::parse_request(buffer, limit);
  switch (result.status) {
  case http::ParseStatus::Invalid:
    FUZZ_CHECK(!result.error.empty());
    // What micro_http answers to it is a well-formed response.
    FUZZ_CHECK(http::serialize(http::parse_error_response(result.error)).starts_with("HTTP/1.1 400"));
    break;
  case http::ParseStatus::Incomplete:
    FUZZ_CHECK(result.error.empty());
    break;
  case http::ParseStatus::Complete: {
    const auto& request = result.request;
    FUZZ_CHECK(result.consumed > 0 && result.consumed <= buffer.size());
    FUZZ_CHECK(request.method == "GET" || request.method == "PUT" || request.method == "PATCH"
               || request.method == "DELETE");
    FUZZ_CHECK(!request.uri.empty());
    FUZZ_CHECK(request.path.empty() || request.path.front() == '/');
    FUZZ_CHECK(!request.body || (!request.body->empty() && request.body->size() <= limit));
    // The request ends where consumed says: bytes after it (the next
    // pipelined request) do not change it, and the request alone reads the same.
    auto alone = http::parse_request(buffer.substr(0, result.consumed), limit);
    FUZZ_CHECK(same_request(alone, result));
    auto followed = http::parse_request(std::string(buffer) + "GET / HTTP/1.1\r\n", limit);
    FUZZ_CHECK(same_request(followed, result));
    break;
  }
  }
  // Arriving in pieces: a prefix of a request is incomplete or already shows
  // the same verdict, never a different one.
  for (std::size_t cut : {buffer.size() / 2, buffer.size() / 3, buffer.size() * 9 / 10}) {
    if (cut >= buffer.size())
      continue;
    auto prefix = http::parse_request(buffer.substr(0, cut), limit);
    if (result.status == http::ParseStatus::Complete && cut < result.consumed)
      FUZZ_CHECK(prefix.status == http::ParseStatus::Incomplete);
    if (result.status == http::ParseStatus::Incomplete)
      FUZZ_CHECK(prefix.status == http::ParseStatus::Incomplete);
  }
  return 0;
}
