#pragma once
// Private libnl helpers: owning pointers for libnl objects and address conversions.
#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/msg.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/neighbour.h>
#include <netlink/route/route.h>

#include <memory>
#include <optional>

#include <cnikit/toolkit/IpPrefix.hpp>
#include <cnikit/toolkit/Link.hpp>
#include <cnikit/toolkit/Result.hpp>

namespace cnikit::toolkit::detail {

struct LinkPut {
  void operator()(rtnl_link* l) const { rtnl_link_put(l); }
};
struct AddrPut {
  void operator()(rtnl_addr* a) const { rtnl_addr_put(a); }
};
struct RoutePut {
  void operator()(rtnl_route* r) const { rtnl_route_put(r); }
};
struct NeighPut {
  void operator()(rtnl_neigh* n) const { rtnl_neigh_put(n); }
};
struct NlAddrPut {
  void operator()(nl_addr* a) const { nl_addr_put(a); }
};
struct CacheFree {
  void operator()(nl_cache* c) const { nl_cache_free(c); }
};
struct MsgFree {
  void operator()(nl_msg* m) const { nlmsg_free(m); }
};
using LinkPtr = std::unique_ptr<rtnl_link, LinkPut>;
using AddrPtr = std::unique_ptr<rtnl_addr, AddrPut>;
using RoutePtr = std::unique_ptr<rtnl_route, RoutePut>;
using NeighPtr = std::unique_ptr<rtnl_neigh, NeighPut>;
using NlAddrPtr = std::unique_ptr<nl_addr, NlAddrPut>;
using CachePtr = std::unique_ptr<nl_cache, CacheFree>;
using MsgPtr = std::unique_ptr<nl_msg, MsgFree>;

NlAddrPtr toNlAddr(const IpAddress& a, int prefixLen);
NlAddrPtr toNlAddr(const IpPrefix& p);
// nullopt when the nl_addr is not IPv4/IPv6; a default route's empty destination is ::/0
// or 0.0.0.0/0.
std::optional<IpPrefix> fromNlAddr(const nl_addr* a);

std::string linkLabel(int ifindex);  // "link #3"

// What the kernel says about a link, as the toolkit reports it.
LinkInfo toInfo(rtnl_link* link);

}  // namespace cnikit::toolkit::detail
