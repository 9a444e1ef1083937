#include <cnikit/toolkit/Route.hpp>

#include <linux/rtnetlink.h>
#include <netlink/errno.h>
#include <netlink/route/nexthop.h>

#include <cerrno>

#include "Nl.hpp"

namespace cnikit::toolkit {

std::string Route::str() const {
  std::string s = destination ? destination->masked().str() : std::string("default");
  if (gateway) s += " via " + gateway->str();
  if (ifindex) s += " dev #" + std::to_string(ifindex);
  if (onlink) s += " onlink";
  if (table != RT_TABLE_MAIN) s += " table " + std::to_string(table);
  if (metric) s += " metric " + std::to_string(metric);
  return s;
}

namespace {

Result<detail::RoutePtr> build(const Route& route, bool forDelete, bool matchProtocol, const std::string& what) {
  if (route.family != AF_INET && route.family != AF_INET6) return Error{EINVAL, what + ": no address family"};
  if (route.destination && route.destination->family() != route.family)
    return Error{EINVAL, what + ": destination family differs from the route's"};
  if (route.gateway && route.gateway->family() != route.family)
    return Error{EINVAL, what + ": gateway family differs from the route's"};
  detail::RoutePtr r(rtnl_route_alloc());
  if (!r) return Error{ENOMEM, what + ": out of memory"};
  rtnl_route_set_family(r.get(), route.family);
  rtnl_route_set_table(r.get(), route.table);
  IpPrefix dst = route.destination ? route.destination->masked() : IpPrefix(IpAddress::unspecified(route.family), 0);
  detail::NlAddrPtr dstAddr = detail::toNlAddr(dst);
  if (!dstAddr) return Error{ENOMEM, what + ": out of memory"};
  if (int err = rtnl_route_set_dst(r.get(), dstAddr.get()); err < 0) return nlError(err, what);
  if (route.metric) rtnl_route_set_priority(r.get(), route.metric);
  if (forDelete) {
    // 0 matches whoever added it.
    rtnl_route_set_protocol(r.get(), matchProtocol ? static_cast<uint8_t>(route.protocol) : 0);
  } else {
    rtnl_route_set_protocol(r.get(), static_cast<uint8_t>(route.protocol));
    int scope = route.scope >= 0 ? route.scope : (route.gateway ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK);
    rtnl_route_set_scope(r.get(), static_cast<uint8_t>(scope));
  }
  if (route.ifindex || route.gateway) {
    rtnl_nexthop* nh = rtnl_route_nh_alloc();
    if (!nh) return Error{ENOMEM, what + ": out of memory"};
    if (route.ifindex) rtnl_route_nh_set_ifindex(nh, route.ifindex);
    if (route.gateway) {
      detail::NlAddrPtr gw = detail::toNlAddr(*route.gateway, route.gateway->bits());
      rtnl_route_nh_set_gateway(nh, gw.get());  // takes its own reference
    }
    if (route.onlink) rtnl_route_nh_set_flags(nh, RTNH_F_ONLINK);
    rtnl_route_add_nexthop(r.get(), nh);  // owned by the route from here
  }
  return r;
}

}  // namespace

Status addRoute(NetlinkSocket& sock, const Route& route, const RouteOptions& options) {
  std::string what = "adding route " + route.str();
  auto r = build(route, false, false, what);
  if (!r) return r.error();
  int flags = options.replace ? NLM_F_REPLACE : NLM_F_EXCL;
  int err = rtnl_route_add(sock.get(), r.value().get(), flags);
  if (err == -NLE_EXIST && options.existOk) return {};
  if (err < 0) return nlError(err, what);
  return {};
}

Result<bool> deleteRoute(NetlinkSocket& sock, const Route& route, const RouteDeleteOptions& options) {
  std::string what = "deleting route " + route.str();
  if (options.matchProtocol) what += " proto " + std::to_string(route.protocol);
  auto r = build(route, true, options.matchProtocol, what);
  if (!r) return r.error();
  int err = rtnl_route_delete(sock.get(), r.value().get(), 0);
  if (err == -NLE_OBJ_NOTFOUND || err == -NLE_NODEV) return false;
  if (err < 0) return nlError(err, what);
  return true;
}

Result<std::vector<Route>> listRoutes(NetlinkSocket& sock, int family, uint32_t table) {
  nl_cache* raw = nullptr;
  if (int err = rtnl_route_alloc_cache(sock.get(), family, 0, &raw); err < 0) return nlError(err, "listing routes");
  detail::CachePtr cache(raw);
  std::vector<Route> out;
  for (nl_object* o = nl_cache_get_first(cache.get()); o; o = nl_cache_get_next(o)) {
    auto* r = reinterpret_cast<rtnl_route*>(o);
    if (rtnl_route_get_table(r) != table) continue;
    if (rtnl_route_get_type(r) != RTN_UNICAST) continue;
    Route route;
    route.family = rtnl_route_get_family(r);
    route.table = table;
    route.metric = rtnl_route_get_priority(r);
    route.scope = rtnl_route_get_scope(r);
    route.protocol = rtnl_route_get_protocol(r);
    auto dst = detail::fromNlAddr(rtnl_route_get_dst(r));
    if (dst && dst->prefixLength() > 0) route.destination = *dst;
    if (rtnl_route_get_nnexthops(r) > 0) {
      rtnl_nexthop* nh = rtnl_route_nexthop_n(r, 0);
      route.ifindex = rtnl_route_nh_get_ifindex(nh);
      route.onlink = (rtnl_route_nh_get_flags(nh) & RTNH_F_ONLINK) != 0;
      auto gw = detail::fromNlAddr(rtnl_route_nh_get_gateway(nh));
      if (gw && !gw->address().isUnspecified()) route.gateway = gw->address();
    }
    out.push_back(route);
  }
  return out;
}

}  // namespace cnikit::toolkit
