#include "core/agent/PodInterface.hpp"

#include <cnikit/toolkit/Address.hpp>
#include <cnikit/toolkit/IpPrefix.hpp>
#include <cnikit/toolkit/Link.hpp>
#include <cnikit/toolkit/NetlinkSocket.hpp>
#include <cnikit/toolkit/Netns.hpp>

namespace cnikit::agent {

bool podInterfaceMayCarry(const std::string& netns, const std::string& ifname,
                          const std::vector<std::string>& addresses) {
  using namespace cnikit::toolkit;
  auto ns = Netns::open(netns);
  if (!ns) return true;
  auto sock = NetlinkSocket::openIn(ns.value());
  if (!sock) return true;
  auto link = findLink(sock.value(), ifname);
  if (!link) return true;
  if (!link.value()) return false;
  auto configured = listAddresses(sock.value(), link.value()->index);
  if (!configured) return true;
  for (const auto& text : addresses) {
    auto wanted = IpPrefix::parse(text);
    if (!wanted) return true;
    for (const auto& a : configured.value())
      if (a.prefix == wanted.value()) return true;
  }
  return false;
}

}  // namespace cnikit::agent
