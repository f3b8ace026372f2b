#include "messages/error.hpp"
#include "messages/register.hpp"
#include "samples.hpp"

#include <caf/all.hpp>
#include <doctest/doctest.h>

#include <typeinfo>

using namespace banger;

namespace {

struct Config : caf::actor_system_config {
  Config() { register_messages(*this); }
};

template <class T>
void check_round_trip(caf::actor_system& sys, const T& original) {
  std::vector<char> buffer;
  caf::binary_serializer sink{sys, buffer};
  auto copy = original;
  REQUIRE_FALSE(sink(copy));
  T decoded{};
  caf::binary_deserializer source{sys, buffer};
  REQUIRE_FALSE(source(decoded));
  CHECK_MESSAGE(decoded == original, "type " << typeid(T).name());
  // Through a type-erased message too, as the mailbox and BASP carry it.
  auto msg = caf::make_message(original);
  std::vector<char> msg_buffer;
  caf::binary_serializer msg_sink{sys, msg_buffer};
  REQUIRE_FALSE(msg_sink(msg));
  caf::message msg_decoded;
  caf::binary_deserializer msg_source{sys, msg_buffer};
  REQUIRE_FALSE(msg_source(msg_decoded));
  REQUIRE_MESSAGE(msg_decoded.match_elements<T>(), "type " << typeid(T).name());
  CHECK(msg_decoded.get_as<T>(0) == original);
}

} // namespace

TEST_CASE("every wire type survives CAF's binary serializer unchanged") {
  Config cfg;
  caf::actor_system sys{cfg};
  std::apply([&](const auto&... sample) { (check_round_trip(sys, sample), ...); },
             samples::all());
}

TEST_CASE("a banger error keeps its code, message and op_id through serialization") {
  Config cfg;
  caf::actor_system sys{cfg};
  auto original = make_error(Errc::not_found, "no VM named 'x'", "op-0123456789ab");
  std::vector<char> buffer;
  caf::binary_serializer sink{sys, buffer};
  REQUIRE_FALSE(sink(original));
  caf::error decoded;
  caf::binary_deserializer source{sys, buffer};
  REQUIRE_FALSE(source(decoded));
  auto v = view(decoded);
  CHECK(v.code == Errc::not_found);
  CHECK(v.message == "no VM named 'x'");
  CHECK(v.op_id == "op-0123456789ab");
}
