#include <cnikit/toolkit/LinkReaper.hpp>

#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>

#include "Nl.hpp"

namespace cnikit::toolkit {

using detail::LinkPtr;

namespace {

bool notFound(int err) { return err == -NLE_OBJ_NOTFOUND || err == -NLE_NODEV; }

// The link by name; an empty pointer when there is none.
Result<LinkPtr> lookup(NetlinkSocket& sock, const std::string& name) {
  rtnl_link* raw = nullptr;
  int err = rtnl_link_get_kernel(sock.get(), 0, name.c_str(), &raw);
  if (notFound(err)) return LinkPtr();
  if (err < 0) return nlError(err, "looking up link '" + name + "'");
  return LinkPtr(raw);
}

}  // namespace

Result<std::unique_ptr<LinkReaper>> LinkReaper::create(Netns ns, std::chrono::milliseconds batchWindow,
                                                       uint32_t group) {
  auto sock = NetlinkSocket::openIn(ns);
  if (!sock) return sock.error();
  std::unique_ptr<LinkReaper> reaper(new LinkReaper(std::move(sock).value(), std::move(ns), batchWindow, group));
  if (auto flushed = reaper->flush(); !flushed) return flushed.error();
  return reaper;
}

LinkReaper::LinkReaper(NetlinkSocket reaperSocket, Netns ns, std::chrono::milliseconds batchWindow, uint32_t group)
    : reaperSocket_(std::move(reaperSocket)), ns_(std::move(ns)), batchWindow_(batchWindow), group_(group) {
  thread_ = std::thread([this] { run(); });
}

LinkReaper::~LinkReaper() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
  (void)flush();
}

Result<bool> LinkReaper::retire(const std::string& name) {
  auto sock = NetlinkSocket::openIn(ns_);  // its own socket: callers retire from many threads
  if (!sock) return sock.error();
  auto link = lookup(sock.value(), name);
  if (!link) return link.error();
  if (!link.value()) return false;
  LinkPtr change(rtnl_link_alloc());
  if (!change) return Error{ENOMEM, "retiring link '" + name + "': out of memory"};
  rtnl_link_unset_flags(change.get(), IFF_UP);
  rtnl_link_set_master(change.get(), 0);  // off the bridge: no frame reaches it any more
  rtnl_link_set_group(change.get(), group_);
  int err = rtnl_link_change(sock->get(), link.value().get(), change.get(), 0);
  if (notFound(err)) return false;
  if (err < 0) return nlError(err, "retiring link '" + name + "'");
  {
    std::lock_guard lock(mutex_);
    pending_ = true;
  }
  wake_.notify_all();
  return true;
}

Result<bool> LinkReaper::isRetired(const std::string& name) {
  auto sock = NetlinkSocket::openIn(ns_);
  if (!sock) return sock.error();
  auto link = lookup(sock.value(), name);
  if (!link) return link.error();
  return link.value() && rtnl_link_get_group(link.value().get()) == group_;
}

Status LinkReaper::flush() {
  std::lock_guard lock(flushMutex_);
  // RTM_DELLINK without an index or name but with IFLA_GROUP deletes the whole group.
  detail::MsgPtr msg(nlmsg_alloc_simple(RTM_DELLINK, NLM_F_REQUEST | NLM_F_ACK));
  if (!msg) return Error{ENOMEM, "deleting retired links: out of memory"};
  ifinfomsg header{};
  header.ifi_family = AF_UNSPEC;
  if (nlmsg_append(msg.get(), &header, sizeof(header), NLMSG_ALIGNTO) < 0 ||
      nla_put_u32(msg.get(), IFLA_GROUP, group_) < 0)
    return Error{ENOMEM, "deleting retired links: message too small"};
  int err = nl_send_sync(reaperSocket_.get(), msg.release());  // frees the message
  if (err < 0 && !notFound(err)) return nlError(err, "deleting retired links (device group " + std::to_string(group_) + ")");
  return {};
}

void LinkReaper::run() {
  std::unique_lock lock(mutex_);
  while (!stop_) {
    wake_.wait(lock, [&] { return stop_ || pending_; });
    if (stop_) break;
    // Let concurrent DELs join this batch: one barrier for all of them.
    wake_.wait_for(lock, batchWindow_, [&] { return stop_; });
    pending_ = false;
    lock.unlock();
    (void)flush();  // a failure leaves them retired; the next batch or the destructor retries
    lock.lock();
  }
}

}  // namespace cnikit::toolkit
