// What an error may repeat of a client's input: a bounded, escaped excerpt.
#include "messages/error.hpp"
#include "messages/excerpt.hpp"

#include <doctest/doctest.h>

using namespace banger;

TEST_CASE("a short value is quoted whole") {
  CHECK(excerpt("web1") == "'web1'");
  CHECK(excerpt("") == "''");
}

TEST_CASE("a long value is cut after its first characters and marked") {
  std::string input(1 << 20, 'a');
  auto uut = excerpt(input);
  CHECK(uut == "'" + std::string(max_excerpt, 'a') + "...'");
}

TEST_CASE("quotes, backslashes and control or non-ASCII bytes are escaped") {
  CHECK(excerpt("it's") == "'it\\'s'");
  CHECK(excerpt("a\\b") == "'a\\\\b'");
  CHECK(excerpt("line\nnext\x1b[2J") == "'line\\x0anext\\x1b[2J'");
  CHECK(excerpt(std::string("nul\0x", 5)) == "'nul\\x00x'");
  CHECK(excerpt("\xc3\xa9") == "'\\xc3\\xa9'");
}

TEST_CASE("a quoted value never grows past its bound whatever the bytes") {
  std::string worst(10000, '\x01');
  CHECK(excerpt(worst).size() <= 4 * max_excerpt + 5);
}

TEST_CASE("an error reply built from a huge message stays small") {
  auto uut = view(make_error(Errc::internal, std::string(1 << 20, 'x'), "op-0123456789ab"));
  CHECK(uut.message.size() == max_error_message);
  CHECK(uut.message.substr(uut.message.size() - 3) == "...");
  CHECK(uut.op_id == "op-0123456789ab");
}

TEST_CASE("a cut message does not end in the middle of a UTF-8 character") {
  // 'x' then two-byte characters: the limit falls inside one of them.
  std::string message = "x";
  while (message.size() < 2 * max_error_message)
    message += "\xc3\xa9";
  auto uut = bounded_message(message);
  CHECK(uut.size() <= max_error_message);
  auto body = uut.substr(0, uut.size() - 3);
  CHECK((body.size() - 1) % 2 == 0); // whole characters only after the 'x'
}

TEST_CASE("a message within the bound is kept as it is") {
  CHECK(bounded_message("no VM named 'web'") == "no VM named 'web'");
}
