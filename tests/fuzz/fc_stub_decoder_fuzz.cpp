// fc-stub's request body decoder (tools/fc-stub/decoder.hpp). The first byte
// picks the schema definition (or the free-form MMDS object); the rest is the
// body. A body is either refused with a DecodeError or normalized into JSON
// that fc-stub can serialize (it echoes it in GET answers) and that decodes
// again to itself.
#include "tests/fuzz/fuzz_check.hpp"
#include "tools/fc-stub/decoder.hpp"

#include <cstdio>
#include <string>

namespace fc = banger::fc_stub;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0)
    return 0;
  auto definitions = fc::schema::all_definitions();
  const std::size_t pick = data[0] % (definitions.size() + 1);
  const auto body = banger::fuzz::as_text(data + 1, size - 1);
  try {
    if (pick == definitions.size()) {
      auto object = fc::decode_object(body);
      FUZZ_CHECK(object.is_object());
      auto dumped = object.dump();
      FUZZ_CHECK(fc::decode_object(dumped) == object);
      return 0;
    }
    const auto& definition = *definitions[pick];
    auto value = fc::decode(body, definition);
    FUZZ_CHECK(value.is_object());
    auto dumped = value.dump();
    fc::OrderedJson again;
    try {
      again = fc::decode(dumped, definition);
    } catch (const fc::DecodeError& error) {
      std::fprintf(stderr, "%.*s: normalized %s refused: %s\n",
                   static_cast<int>(definition.spec_name.size()), definition.spec_name.data(),
                   dumped.c_str(), error.what());
      FUZZ_CHECK(false);
    }
    FUZZ_CHECK(again == value);
  } catch (const fc::DecodeError& error) {
    FUZZ_CHECK(std::string_view(error.what()).find(" at line ") != std::string_view::npos);
  }
  return 0;
}
