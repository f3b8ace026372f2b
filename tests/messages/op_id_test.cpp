#include "messages/op_id.hpp"

#include <doctest/doctest.h>

#include <set>

using namespace banger;

TEST_CASE("a minted op_id is op- followed by 12 lowercase hex digits") {
  auto uut = mint_op_id();
  CHECK(uut.size() == 15);
  CHECK(uut.rfind("op-", 0) == 0);
  CHECK(is_valid_op_id(uut));
}

TEST_CASE("minted op_ids do not repeat") {
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i)
    seen.insert(mint_op_id());
  CHECK(seen.size() == 10000);
}

TEST_CASE("the op_id validator rejects everything but the exact format") {
  CHECK(is_valid_op_id("op-0123456789ab"));
  CHECK_FALSE(is_valid_op_id(""));
  CHECK_FALSE(is_valid_op_id("op-"));
  CHECK_FALSE(is_valid_op_id("op-0123456789a"));    // too short
  CHECK_FALSE(is_valid_op_id("op-0123456789abc"));  // too long
  CHECK_FALSE(is_valid_op_id("op-0123456789AB"));   // uppercase
  CHECK_FALSE(is_valid_op_id("OP-0123456789ab"));
  CHECK_FALSE(is_valid_op_id("xx-0123456789ab"));
  CHECK_FALSE(is_valid_op_id("op-0123456789ag"));   // not hex
  CHECK_FALSE(is_valid_op_id("op_0123456789ab"));
  CHECK_FALSE(is_valid_op_id(std::string("op-01234\0" "6789ab", 15)));
  CHECK_FALSE(is_valid_op_id(" op-0123456789a"));
}

TEST_CASE("object ids are 16 lowercase hex digits") {
  auto uut = mint_object_id();
  CHECK(uut.size() == 16);
  CHECK(uut.find_first_not_of("0123456789abcdef") == std::string::npos);
}
