#include "core/agent/Underlay.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>

namespace cnikit::agent {
namespace {

// /proc/net/route follows the calling process's network namespace.
std::string defaultRouteInterface() {
  std::ifstream routes("/proc/net/route");
  std::string line;
  std::getline(routes, line);  // header
  while (std::getline(routes, line)) {
    std::istringstream fields(line);
    std::string iface, destination, gateway, flags, refcnt, use, metric, mask;
    fields >> iface >> destination >> gateway >> flags >> refcnt >> use >> metric >> mask;
    if (destination == "00000000" && mask == "00000000") return iface;
  }
  return "";
}

uint32_t interfaceMtu(const std::string& name) {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  ifreq request{};
  std::strncpy(request.ifr_name, name.c_str(), IFNAMSIZ - 1);
  uint32_t mtu = ::ioctl(fd, SIOCGIFMTU, &request) == 0 ? static_cast<uint32_t>(request.ifr_mtu) : 0;
  ::close(fd);
  return mtu;
}

std::string addressText(const sockaddr* address) {
  char text[INET6_ADDRSTRLEN] = {};
  if (address->sa_family == AF_INET)
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(address)->sin_addr, text, sizeof(text));
  else
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr, text, sizeof(text));
  return text;
}

}  // namespace

plugin::Underlay detectUnderlay(const std::string& interfaceName) {
  ifaddrs* raw = nullptr;
  if (getifaddrs(&raw) != 0) throw std::runtime_error(std::string("getifaddrs: ") + std::strerror(errno));
  std::unique_ptr<ifaddrs, decltype(&freeifaddrs)> all(raw, freeifaddrs);

  std::string name = interfaceName.empty() ? defaultRouteInterface() : interfaceName;
  if (name.empty()) {
    for (auto* a = all.get(); a; a = a->ifa_next) {
      if (!a->ifa_addr || a->ifa_addr->sa_family != AF_INET) continue;
      if ((a->ifa_flags & IFF_LOOPBACK) || !(a->ifa_flags & IFF_UP)) continue;
      name = a->ifa_name;
      break;
    }
  }
  if (name.empty()) throw std::runtime_error("no underlay interface: no default route and no interface with IPv4");

  plugin::Underlay underlay;
  underlay.interface = name;
  bool found = false;
  for (auto* a = all.get(); a; a = a->ifa_next) {
    if (!a->ifa_addr || name != a->ifa_name) continue;
    found = true;
    if (a->ifa_addr->sa_family == AF_INET && underlay.ipv4.empty()) underlay.ipv4 = addressText(a->ifa_addr);
    if (a->ifa_addr->sa_family == AF_INET6 && underlay.ipv6.empty()) {
      auto* in6 = reinterpret_cast<const sockaddr_in6*>(a->ifa_addr);
      if (!IN6_IS_ADDR_LINKLOCAL(&in6->sin6_addr)) underlay.ipv6 = addressText(a->ifa_addr);
    }
  }
  if (!found) throw std::runtime_error("underlay interface '" + name + "' does not exist");
  if (underlay.ipv4.empty() && underlay.ipv6.empty())
    throw std::runtime_error("underlay interface '" + name + "' has no address");
  underlay.mtu = interfaceMtu(name);
  return underlay;
}

}  // namespace cnikit::agent
