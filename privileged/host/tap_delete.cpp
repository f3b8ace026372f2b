#include "privileged/host/tap.hpp"

#include "privileged/host/errors.hpp"
#include "privileged/host/netlink.hpp"
#include "privileged/host/tap_owner.hpp"

#include <algorithm>
#include <cerrno>
#include <sys/random.h>

namespace banger::host {

namespace {

/// A link group no host configuration uses: /etc/iproute2/group names small
/// numbers; this is 0x6e000000 plus 24 random bits, fresh for every batch.
Result<std::uint32_t> fresh_link_group() {
  std::uint32_t bits = 0;
  if (::getrandom(&bits, sizeof bits, 0) != static_cast<ssize_t>(sizeof bits))
    return system_error("getrandom", "link group", errno);
  return 0x6e000000u | (bits & 0x00ffffffu);
}

Status delete_link_group(nl_sock* sock, std::uint32_t group) {
  nl_msg* msg = nlmsg_alloc_simple(RTM_DELLINK, 0);
  if (!msg)
    return Error{Errc::system, "nlmsg_alloc_simple: out of memory"};
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  if (nlmsg_append(msg, &ifi, sizeof ifi, NLMSG_ALIGNTO) < 0 ||
      nla_put_u32(msg, IFLA_GROUP, group) < 0) {
    nlmsg_free(msg);
    return Error{Errc::system, "RTM_DELLINK: message too long"};
  }
  // Sends, frees the message and waits for the kernel's acknowledgement.
  if (int err = nl_send_sync(sock, msg); err < 0)
    return netlink::error("RTM_DELLINK", "group " + std::to_string(group), err);
  return {};
}

Status delete_one(nl_sock* sock, rtnl_link* link, const std::string& tap) {
  int err = rtnl_link_delete(sock, link);
  if (err == -NLE_OBJ_NOTFOUND || err == -NLE_NODEV)
    return not_found("tap " + tap + " does not exist");
  if (err < 0)
    return netlink::error("rtnl_link_delete", "tap " + tap, err);
  return {};
}

} // namespace

Status delete_unmarked_tap(std::string_view tap_view) {
  std::string tap(tap_view);
  if (auto st = validate_tap_name(tap); !st)
    return st;
  auto sock = netlink::connect();
  if (!sock)
    return std::move(sock).error();
  auto link = netlink::get_link(sock->get(), tap);
  if (!link)
    return std::move(link).error();
  if (!*link)
    return not_found("tap " + tap + " does not exist");
  if (auto st = check_is_tap(link->get(), tap); !st)
    return st;
  const char* alias = rtnl_link_get_ifalias(link->get());
  if ((alias && *alias) || rtnl_link_get_master(link->get()) > 0)
    return Error{Errc::helper_refused, "tap " + tap + " is marked or attached: not a half-made tap"};
  return delete_one(sock->get(), link->get(), tap);
}

Status delete_tap(std::string_view tap, const TapScope& scope) {
  return std::move(delete_taps({std::string(tap)}, scope).front());
}

std::vector<Status> delete_taps(const std::vector<std::string>& taps, const TapScope& scope) {
  std::vector<Status> results(taps.size());
  auto sock = netlink::connect();
  if (!sock) {
    std::fill(results.begin(), results.end(), Status(sock.error()));
    return results;
  }
  // Each name checked as one delete would; the taps found are kept.
  std::vector<std::pair<std::size_t, netlink::Link>> found;
  for (std::size_t i = 0; i < taps.size(); ++i) {
    auto link = find_tap(sock->get(), taps[i], scope);
    if (!link)
      results[i] = std::move(link).error();
    else
      found.emplace_back(i, std::move(*link));
  }
  if (found.size() == 1) {
    auto& [i, link] = found.front();
    results[i] = delete_one(sock->get(), link.get(), taps[i]);
    return results;
  }
  if (found.empty())
    return results;

  // Several: into one fresh group, then one RTM_DELLINK for the group, so
  // the kernel unregisters them together (unregister_netdevice_many: one
  // round of grace periods for the batch).
  auto group = fresh_link_group();
  std::vector<std::size_t> grouped;
  if (group) {
    for (auto& [i, link] : found) {
      netlink::Link change(rtnl_link_alloc());
      if (!change)
        break;
      rtnl_link_set_group(change.get(), *group);
      int err = rtnl_link_change(sock->get(), link.get(), change.get(), 0);
      if (err == -NLE_OBJ_NOTFOUND || err == -NLE_NODEV)
        results[i] = not_found("tap " + taps[i] + " does not exist");
      else if (err == 0)
        grouped.push_back(i);
      else
        break; // the rest go one by one below
    }
  }
  if (!grouped.empty()) {
    if (auto st = delete_link_group(sock->get(), *group); !st) {
      grouped.clear(); // nothing was deleted: the kernel's group delete is all or nothing
    } else {
      for (auto i : grouped)
        results[i] = Status{};
    }
  }
  // Whatever the group did not cover (a failed regroup, a failed group
  // delete) is deleted the ordinary way.
  for (auto& [i, link] : found) {
    if (std::find(grouped.begin(), grouped.end(), i) != grouped.end() ||
        (!results[i] && results[i].error().code == Errc::not_found))
      continue;
    results[i] = delete_one(sock->get(), link.get(), taps[i]);
  }
  return results;
}

} // namespace banger::host
