#include <cnikit/toolkit/Neighbour.hpp>

#include <linux/neighbour.h>
#include <netlink/errno.h>
#include <netlink/route/neighbour.h>

#include <cerrno>

#include "Nl.hpp"

namespace cnikit::toolkit {

namespace {

detail::NeighPtr build(int ifindex, const IpAddress& address, const std::string& what, Error& error) {
  detail::NeighPtr n(rtnl_neigh_alloc());
  detail::NlAddrPtr dst = detail::toNlAddr(address, address.bits());
  if (!n || !dst) {
    error = Error{ENOMEM, what + ": out of memory"};
    return nullptr;
  }
  rtnl_neigh_set_ifindex(n.get(), ifindex);
  if (int err = rtnl_neigh_set_dst(n.get(), dst.get()); err < 0) {
    error = nlError(err, what);
    return nullptr;
  }
  rtnl_neigh_set_family(n.get(), address.family());
  return n;
}

}  // namespace

std::string Neighbour::str() const {
  return address.str() + " lladdr " + mac.str() + " dev " + detail::linkLabel(ifindex);
}

Status setNeighbour(NetlinkSocket& sock, const Neighbour& neighbour) {
  std::string what = "setting neighbour " + neighbour.str();
  Error error;
  detail::NeighPtr n = build(neighbour.ifindex, neighbour.address, what, error);
  if (!n) return error;
  detail::NlAddrPtr ll(nl_addr_build(AF_LLC, neighbour.mac.bytes.data(), 6));
  if (!ll) return Error{ENOMEM, what + ": out of memory"};
  rtnl_neigh_set_lladdr(n.get(), ll.get());
  rtnl_neigh_set_state(n.get(), neighbour.state);
  if (int err = rtnl_neigh_add(sock.get(), n.get(), NLM_F_CREATE | NLM_F_REPLACE); err < 0) return nlError(err, what);
  return {};
}

Result<bool> deleteNeighbour(NetlinkSocket& sock, int ifindex, const IpAddress& address) {
  std::string what = "deleting neighbour " + address.str() + " dev " + detail::linkLabel(ifindex);
  Error error;
  detail::NeighPtr n = build(ifindex, address, what, error);
  if (!n) return error;
  int err = rtnl_neigh_delete(sock.get(), n.get(), 0);
  if (err == -NLE_OBJ_NOTFOUND || err == -NLE_NODEV) return false;
  if (err < 0) return nlError(err, what);
  return true;
}

Result<std::vector<Neighbour>> listNeighbours(NetlinkSocket& sock, int ifindex, int family) {
  nl_cache* raw = nullptr;
  if (int err = rtnl_neigh_alloc_cache(sock.get(), &raw); err < 0) return nlError(err, "listing neighbours");
  detail::CachePtr cache(raw);
  std::vector<Neighbour> out;
  for (nl_object* o = nl_cache_get_first(cache.get()); o; o = nl_cache_get_next(o)) {
    auto* n = reinterpret_cast<rtnl_neigh*>(o);
    int f = rtnl_neigh_get_family(n);
    if (f != AF_INET && f != AF_INET6) continue;
    if (family && f != family) continue;
    if (ifindex && rtnl_neigh_get_ifindex(n) != ifindex) continue;
    nl_addr* ll = rtnl_neigh_get_lladdr(n);
    if (!ll || nl_addr_get_len(ll) != 6) continue;
    auto dst = detail::fromNlAddr(rtnl_neigh_get_dst(n));
    if (!dst) continue;
    Neighbour entry;
    entry.ifindex = rtnl_neigh_get_ifindex(n);
    entry.address = dst->address();
    const auto* bytes = static_cast<const uint8_t*>(nl_addr_get_binary_addr(ll));
    std::copy(bytes, bytes + 6, entry.mac.bytes.begin());
    entry.state = static_cast<uint16_t>(rtnl_neigh_get_state(n));
    out.push_back(entry);
  }
  return out;
}

}  // namespace cnikit::toolkit
