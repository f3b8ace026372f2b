// QEMU's accelerator: KVM only where it runs ordinary guests. The facts are
// made up here (every host combination), then read off this machine.
#include "privileged/host/accel.hpp"

#include <doctest/doctest.h>

using namespace banger;
using namespace banger::host;

namespace {

KvmFacts hardware() {
  return KvmFacts{true, true, true, false};
}

} // namespace

TEST_CASE("auto picks KVM only with hardware virtualization and never kvm_pvm") {
  auto hw = choose_accel("auto", hardware());
  REQUIRE(hw.ok());
  CHECK(hw->accel == Accel::kvm);

  auto pvm = hardware();
  pvm.kvm_pvm = true; // /dev/kvm opens, but guests hang
  auto chosen = choose_accel("auto", pvm);
  REQUIRE(chosen.ok());
  CHECK(chosen->accel == Accel::tcg);
  CHECK(chosen->reason.find("kvm_pvm") != std::string::npos);

  for (auto broken : {KvmFacts{false, true, true, false}, KvmFacts{true, false, true, false},
                      KvmFacts{true, true, false, false}}) {
    auto c = choose_accel("auto", broken);
    REQUIRE(c.ok());
    CHECK(c->accel == Accel::tcg);
    CHECK_FALSE(c->reason.empty());
  }
}

TEST_CASE("kvm is refused with the reason where it would hang; tcg always works") {
  auto pvm = hardware();
  pvm.kvm_pvm = true;
  auto refused = choose_accel("kvm", pvm);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code == Errc::invalid_argument);
  CHECK(refused.error().message.find("kvm_pvm") != std::string::npos);
  CHECK(choose_accel("kvm", hardware())->accel == Accel::kvm);
  CHECK(choose_accel("tcg", hardware())->accel == Accel::tcg);
  auto bad = choose_accel("hvf; rm -rf /", hardware());
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == Errc::invalid_argument);
}

TEST_CASE("this host: the choice agrees with what /sys and /proc say") {
  auto facts = kvm_facts();
  auto chosen = choose_accel("auto", facts);
  REQUIRE(chosen.ok());
  MESSAGE("auto -> " << to_string(chosen->accel) << " (" << chosen->reason << ")");
  bool usable = facts.dev_kvm && facts.cpu_vmx_or_svm && facts.kvm_hw_module && !facts.kvm_pvm;
  CHECK((chosen->accel == Accel::kvm) == usable);
}
