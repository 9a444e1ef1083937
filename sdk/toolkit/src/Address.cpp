#include <cnikit/toolkit/Address.hpp>

#include <linux/if_addr.h>
#include <netlink/errno.h>

#include <algorithm>
#include <cerrno>

#include "Nl.hpp"

namespace cnikit::toolkit {

namespace {
Result<detail::AddrPtr> build(int ifindex, const IpPrefix& prefix, const std::string& what) {
  detail::AddrPtr addr(rtnl_addr_alloc());
  detail::NlAddrPtr local = detail::toNlAddr(prefix);
  if (!addr || !local) return Error{ENOMEM, what + ": out of memory"};
  rtnl_addr_set_ifindex(addr.get(), ifindex);
  rtnl_addr_set_family(addr.get(), prefix.family());
  if (int err = rtnl_addr_set_local(addr.get(), local.get()); err < 0) return nlError(err, what);
  rtnl_addr_set_prefixlen(addr.get(), prefix.prefixLength());
  return addr;
}
}  // namespace

Status addAddress(NetlinkSocket& sock, int ifindex, const IpPrefix& prefix, const AddressOptions& options) {
  std::string what = "adding address " + prefix.str() + " to " + detail::linkLabel(ifindex);
  auto addr = build(ifindex, prefix, what);
  if (!addr) return addr.error();
  if (options.noDad && prefix.family() == AF_INET6) rtnl_addr_set_flags(addr.value().get(), IFA_F_NODAD);
  int err = rtnl_addr_add(sock.get(), addr.value().get(), NLM_F_EXCL);
  if (err == -NLE_EXIST && options.existOk) return {};
  if (err < 0) return nlError(err, what);
  return {};
}

Result<bool> deleteAddress(NetlinkSocket& sock, int ifindex, const IpPrefix& prefix) {
  std::string what = "deleting address " + prefix.str() + " from " + detail::linkLabel(ifindex);
  auto addr = build(ifindex, prefix, what);
  if (!addr) return addr.error();
  int err = rtnl_addr_delete(sock.get(), addr.value().get(), 0);
  if (err == -NLE_NOADDR || err == -NLE_OBJ_NOTFOUND || err == -NLE_NODEV) return false;
  if (err < 0) return nlError(err, what);
  return true;
}

Result<std::vector<AddressInfo>> listAddresses(NetlinkSocket& sock, int ifindex, int family) {
  nl_cache* raw = nullptr;
  if (int err = rtnl_addr_alloc_cache(sock.get(), &raw); err < 0) return nlError(err, "listing addresses");
  detail::CachePtr cache(raw);
  std::vector<AddressInfo> out;
  for (nl_object* o = nl_cache_get_first(cache.get()); o; o = nl_cache_get_next(o)) {
    auto* a = reinterpret_cast<rtnl_addr*>(o);
    if (ifindex && rtnl_addr_get_ifindex(a) != ifindex) continue;
    if (family && rtnl_addr_get_family(a) != family) continue;
    auto local = detail::fromNlAddr(rtnl_addr_get_local(a));
    if (!local) continue;
    AddressInfo info;
    info.ifindex = rtnl_addr_get_ifindex(a);
    info.prefix = IpPrefix(local->address(), std::min(rtnl_addr_get_prefixlen(a), local->address().bits()));
    info.scope = rtnl_addr_get_scope(a);
    info.flags = rtnl_addr_get_flags(a);
    out.push_back(info);
  }
  return out;
}

}  // namespace cnikit::toolkit
