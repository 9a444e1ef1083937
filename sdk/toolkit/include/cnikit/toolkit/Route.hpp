#pragma once
// Routes with one next hop (main table by default).
#include <cstdint>
#include <optional>
#include <vector>

#include <cnikit/toolkit/IpPrefix.hpp>
#include <cnikit/toolkit/NetlinkSocket.hpp>

namespace cnikit::toolkit {

struct Route {
  int family = 0;                       // AF_INET / AF_INET6
  std::optional<IpPrefix> destination;  // nullopt = default route
  std::optional<IpAddress> gateway;
  int ifindex = 0;       // output interface, 0 = let the kernel pick
  bool onlink = false;   // gateway is on the link even if no prefix says so
  uint32_t table = 254;  // RT_TABLE_MAIN
  uint32_t metric = 0;   // priority
  int scope = -1;        // -1: universe with a gateway, link without
  int protocol = 4;      // RTPROT_STATIC

  std::string str() const;  // "default via 10.0.0.1 dev #3" for messages
};

struct RouteOptions {
  bool existOk = true;   // an existing route with the same key is success
  bool replace = false;  // NLM_F_REPLACE: overwrite a route with the same key
};

struct RouteDeleteOptions {
  // Delete only a route whose protocol is route.protocol (the kernel matches it): a
  // control plane that marks its routes with its own protocol number never deletes a route
  // someone else made for the same destination.
  bool matchProtocol = false;
};

Status addRoute(NetlinkSocket& sock, const Route& route, const RouteOptions& options = {});
// true when deleted, false when it was not there. The destination, table, metric and, when
// given, gateway and interface select the route.
Result<bool> deleteRoute(NetlinkSocket& sock, const Route& route, const RouteDeleteOptions& options = {});
// Routes of one family in one table (first next hop of each).
Result<std::vector<Route>> listRoutes(NetlinkSocket& sock, int family, uint32_t table = 254);

}  // namespace cnikit::toolkit
