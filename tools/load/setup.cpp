#include "tools/load/setup.hpp"

#include "messages/error.hpp"
#include "messages/home_layout.hpp"
#include "messages/op_id.hpp"
#include "messages/remote_call.hpp"

#include <caf/all.hpp>

#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <thread>

namespace banger::load {

namespace {

using namespace std::chrono_literals;

/// Requests in flight at once during set-up and clean-up.
constexpr std::size_t batch = 64;

/// Blocking requests in batches; each fails at once if the link drops.
template <class Reply, class Request>
std::vector<caf::expected<Reply>> call_all(caf::actor_system& sys, const control_actor& target,
                                           const std::vector<Request>& requests,
                                           std::chrono::milliseconds timeout) {
  std::vector<caf::expected<Reply>> results;
  for (std::size_t begin = 0; begin < requests.size(); begin += batch) {
    auto end = std::min(requests.size(), begin + batch);
    std::vector<Request> part(requests.begin() + static_cast<std::ptrdiff_t>(begin),
                              requests.begin() + static_cast<std::ptrdiff_t>(end));
    for (auto& r : remote_call_all<Reply>(sys, target, part, timeout))
      results.push_back(std::move(r));
  }
  return results;
}

/// The link to `daemon` once it is up (waiting up to the request timeout
/// with --reconnect), or nothing.
std::optional<control_actor> link_to(Links& links, std::size_t daemon, const Options& o) {
  auto deadline = std::chrono::steady_clock::now() + o.request_timeout;
  for (;;) {
    auto link = links.get(daemon);
    if (link.up)
      return link.actor;
    if (!o.reconnect || std::chrono::steady_clock::now() >= deadline)
      return std::nullopt;
    std::this_thread::sleep_for(20ms);
  }
}

} // namespace

Envelope envelope() {
  return Envelope{};
}

VmActionRequest action(const std::string& ref, VmAction what) {
  VmActionRequest request;
  request.env = envelope();
  request.ref = ref;
  request.action = what;
  return request;
}

std::string message_of(const caf::error& err) {
  auto v = view(err);
  return std::string(to_string(v.code)) + ": " + v.message;
}

caf::expected<Image> ensure_image(caf::actor_system& sys, const control_actor& daemon,
                                  const Options& o, const std::string& home) {
  ImageShowRequest show{envelope(), o.image};
  auto found = call_all<Image>(sys, daemon, std::vector{show}, o.request_timeout).front();
  if (found || home.empty() || view(found.error()).code != Errc::not_found)
    return found;
  auto dir = HomeLayout{home}.images_dir() / o.image;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  {
    std::ofstream kernel(dir / "vmlinux");
    kernel << "not really a kernel";
    std::ofstream rootfs(dir / "rootfs.ext4");
    rootfs << std::string(64 * 1024, 'r');
  }
  ImageAddRequest add;
  add.env = envelope();
  add.name = o.image;
  add.kernel_path = (dir / "vmlinux").string();
  add.rootfs_path = (dir / "rootfs.ext4").string();
  return call_all<Image>(sys, daemon, std::vector{add}, o.request_timeout).front();
}

caf::expected<std::vector<MadeVm>> prepare_vms(caf::actor_system& sys, Links& links,
                                               const std::string& prefix, std::uint64_t count,
                                               const Options& o) {
  std::vector<MadeVm> out;
  for (std::size_t d = 0; d < links.size(); ++d) {
    std::vector<VmCreateRequest> creates;
    for (std::size_t i = d; i < count; i += links.size()) {
      VmCreateRequest create;
      create.env = envelope();
      create.spec.name = prefix + "-v" + std::to_string(i);
      create.spec.image = o.image;
      if (!o.hosts.empty())
        create.spec.host = o.hosts[i % o.hosts.size()];
      creates.push_back(std::move(create));
    }
    auto results = call_all<VmRecord>(sys, links.get(d).actor, creates, o.request_timeout);
    for (std::size_t k = 0; k < results.size(); ++k) {
      auto& result = results[k];
      if (!result)
        return std::move(result.error());
      out.push_back(MadeVm{result->id, d, result->host.empty() ? creates[k].spec.host : result->host});
    }
  }
  return out;
}

std::pair<std::uint64_t, std::uint64_t> clean_up(caf::actor_system& sys, Links& links,
                                                 const std::string& prefix, const Options& o,
                                                 Record* record) {
  std::uint64_t deleted = 0;
  std::uint64_t left = 0;
  std::set<std::string> handled;
  for (std::size_t d = 0; d < links.size(); ++d) {
    auto daemon = link_to(links, d, o);
    if (!daemon)
      continue;
    VmListRequest list{envelope()};
    auto listed = call_all<VmList>(sys, *daemon, std::vector{list}, o.request_timeout).front();
    if (!listed)
      continue;
    std::vector<VmActionRequest> removals;
    for (const auto& vm : listed->vms)
      if (vm.name.rfind(prefix + "-", 0) == 0 && handled.insert(vm.id).second) {
        removals.push_back(action(vm.id, VmAction::remove));
        if (record) {
          removals.back().env.op_id = mint_op_id();
          record->line("delete", vm.id, removals.back().env.op_id);
        }
      }
    auto results = call_all<VmRecord>(sys, *daemon, removals, o.request_timeout);
    for (std::size_t i = 0; i < results.size(); ++i) {
      auto& result = results[i];
      bool gone = !result && view(result.error()).code == Errc::not_found;
      if (record && (result || gone))
        record->line(result ? "deleted" : "delete_not_found", removals[i].ref,
                     removals[i].env.op_id);
      if (result || gone)
        ++deleted;
      else
        ++left;
    }
  }
  return {deleted, left};
}

} // namespace banger::load
