// Shared steps of the integration suites.
#pragma once

#include "messages/excerpt.hpp"
#include "tests/support/host_fixture.hpp"
#include "tests/support/skip.hpp"

#include <doctest/doctest.h>

#include <fstream>

namespace banger::test {

/// Says what a request got when it failed (code, message, op_id), so a
/// failing REQUIRE(vm.ok()) further on has the reason next to it.
template <class T>
Result<T> reported(Result<T> result, const std::string& what) {
  if (!result.ok())
    MESSAGE(excerpt(what) << " failed: " << to_string(result.error().code) << ": "
                          << result.error().message.substr(0, 2000));
  return result;
}

inline Result<VmRecord> create_vm(Host& host, const std::string& name, bool start,
                                  std::vector<PortMapping> ports = {}) {
  VmCreateRequest request;
  request.spec.name = name;
  request.spec.image = "tiny";
  request.spec.start = start;
  request.spec.ports = std::move(ports);
  return reported(host.ask<VmRecord>(request), "create " + name);
}

inline Result<VmRecord> act(Host& host, const std::string& ref, VmAction action,
                            const std::string& signal = "") {
  VmActionRequest request;
  request.ref = ref;
  request.action = action;
  request.signal = signal;
  const char* names[] = {"start", "stop", "kill", "restart", "rm"};
  auto index = static_cast<std::size_t>(action);
  std::string what = index < std::size(names) ? names[index] : "action";
  return reported(host.ask<VmRecord>(request), what + " " + ref);
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
