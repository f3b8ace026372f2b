// Shared steps of the integration suites.
#pragma once

#include "tests/support/host_fixture.hpp"

#include <doctest/doctest.h>

#include <fstream>
#include <unistd.h>

namespace banger::test {

inline bool root() {
  return ::geteuid() == 0;
}

#define BANGER_REQUIRE_ROOT()                                                  \
  if (!::banger::test::root()) {                                               \
    MESSAGE("skipped: needs root (taps, VMM launch)");                         \
    return;                                                                    \
  }

inline Result<VmRecord> create_vm(Host& host, const std::string& name, bool start) {
  VmCreateRequest request;
  request.spec.name = name;
  request.spec.image = "tiny";
  request.spec.start = start;
  return host.ask<VmRecord>(request);
}

inline Result<VmRecord> act(Host& host, const std::string& ref, VmAction action,
                            const std::string& signal = "") {
  VmActionRequest request;
  request.ref = ref;
  request.action = action;
  request.signal = signal;
  return host.ask<VmRecord>(request);
}

inline Result<VmRecord> show(Host& host, const std::string& ref) {
  VmShowRequest request;
  request.ref = ref;
  return host.ask<VmRecord>(request);
}

inline std::string text(const Error& e) {
  return e.message;
}

/// A faults file for fc-stub (read by each stub when it starts).
class Faults {
public:
  Faults() : path_(dir_.path() + "/faults") { set(""); }
  void set(const std::string& lines) {
    std::ofstream out(path_, std::ios::trunc);
    out << lines;
  }
  std::string env() const { return "FC_STUB_FAULTS=" + path_; }

private:
  TempDir dir_;
  std::string path_;
};

/// A host with helper and daemon up and the tiny image registered.
struct Running {
  Host host;
  explicit Running(HostOptions options = {}) : host(std::move(options)) {
    host.start_helper();
    host.start_daemon();
    host.wait_ready();
    host.add_image();
  }
};

} // namespace banger::test
