#include "core/agent/Underlay.hpp"

#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <optional>
#include <stdexcept>

#include <cnikit/toolkit/Address.hpp>
#include <cnikit/toolkit/LinkReaper.hpp>
#include <cnikit/toolkit/NetlinkSocket.hpp>
#include <cnikit/toolkit/Route.hpp>

namespace cnikit::agent {
namespace {

bool startsWith(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

// A usable underlay address: global scope (not link-local, not host).
bool isGlobal(const toolkit::AddressInfo& a) { return a.scope == RT_SCOPE_UNIVERSE; }

// The interface of the first default route of `family` in the main table, 0 when none.
int defaultRouteInterface(toolkit::NetlinkSocket& sock, int family) {
  auto routes = toolkit::listRoutes(sock, family);
  if (!routes) throw std::runtime_error("underlay: " + routes.error().message);
  for (const auto& route : routes.value())
    if (!route.destination && route.ifindex > 0) return route.ifindex;
  return 0;
}

}  // namespace

bool isBackendDevice(const toolkit::LinkInfo& link) {
  if (link.kind == "bridge" && (startsWith(link.name, "cni") || startsWith(link.name, "cnikit"))) return true;
  if (link.kind == "vxlan") return true;
  if (link.master != 0) return true;  // a bridge or bond port carries no address of its own
  return link.group == toolkit::kRetiredLinkGroup;
}

plugin::Underlay detectUnderlay(const std::string& interfaceName) {
  auto sock = toolkit::NetlinkSocket::open();
  if (!sock) throw std::runtime_error("underlay: " + sock.error().message);
  auto links = toolkit::listLinks(sock.value());
  if (!links) throw std::runtime_error("underlay: " + links.error().message);
  auto addresses = toolkit::listAddresses(sock.value());
  if (!addresses) throw std::runtime_error("underlay: " + addresses.error().message);

  auto byIndex = [&](int index) -> const toolkit::LinkInfo* {
    for (const auto& link : links.value())
      if (link.index == index) return &link;
    return nullptr;
  };
  auto hasGlobalAddress = [&](int index) {
    for (const auto& a : addresses.value())
      if (a.ifindex == index && isGlobal(a)) return true;
    return false;
  };

  const toolkit::LinkInfo* chosen = nullptr;
  if (!interfaceName.empty()) {
    for (const auto& link : links.value())
      if (link.name == interfaceName) chosen = &link;
    if (!chosen) throw std::runtime_error("underlay interface '" + interfaceName + "' does not exist");
  } else {
    for (int family : {AF_INET, AF_INET6}) {
      const toolkit::LinkInfo* viaRoute = byIndex(defaultRouteInterface(sock.value(), family));
      if (viaRoute && !isBackendDevice(*viaRoute)) {
        chosen = viaRoute;
        break;
      }
    }
    if (!chosen)
      for (const auto& link : links.value())
        if (link.up && !link.loopback && !isBackendDevice(link) && link.kind != "veth" && hasGlobalAddress(link.index)) {
          chosen = &link;
          break;
        }
    if (!chosen)
      throw std::runtime_error(
          "no underlay interface: no default route (IPv4 or IPv6) and no interface that is up with a global address "
          "other than a backend's own devices (cni*/cnikit* bridges, VXLAN devices, bridge ports, veths); set "
          "underlayInterface");
  }

  plugin::Underlay underlay;
  underlay.interface = chosen->name;
  underlay.mtu = chosen->mtu;
  for (const auto& a : addresses.value()) {
    if (a.ifindex != chosen->index || !isGlobal(a)) continue;
    const bool v4 = a.prefix.family() == AF_INET;
    std::string& slot = v4 ? underlay.ipv4 : underlay.ipv6;
    if (!slot.empty()) continue;
    slot = a.prefix.address().str();
    (v4 ? underlay.ipv4PrefixLength : underlay.ipv6PrefixLength) = static_cast<uint32_t>(a.prefix.prefixLength());
  }
  if (underlay.ipv4.empty() && underlay.ipv6.empty())
    throw std::runtime_error("underlay interface '" + chosen->name + "' has no address");
  return underlay;
}

}  // namespace cnikit::agent
