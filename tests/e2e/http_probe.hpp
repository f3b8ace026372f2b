// A one-file HTTP server for guest network tests: listens on an address of
// the host or of a network namespace the test made, answers every GET with
// a fixed body and records the source address of each connection (what
// tells a masqueraded guest from one that was routed as is).
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace banger::test {

class HttpProbe {
public:
  /// Listens on `address`:<ephemeral port>, inside the network namespace
  /// /run/netns/`netns` when that is not empty. REQUIREs that it listens.
  HttpProbe(const std::string& address, std::string body, const std::string& netns = {});
  ~HttpProbe();
  HttpProbe(const HttpProbe&) = delete;
  HttpProbe& operator=(const HttpProbe&) = delete;

  std::uint16_t port() const { return port_; }
  /// "http://address:port/"
  std::string url() const;
  /// Source addresses of the requests answered so far.
  std::vector<std::string> peers();

private:
  void serve(int listener);

  std::string address_;
  std::string body_;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::vector<std::string> peers_;
  std::thread thread_;
};

} // namespace banger::test
