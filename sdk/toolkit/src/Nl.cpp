#include "Nl.hpp"

#include <arpa/inet.h>

namespace cnikit::toolkit::detail {

NlAddrPtr toNlAddr(const IpAddress& a, int prefixLen) {
  NlAddrPtr addr(nl_addr_build(a.family(), a.bytes().data(), a.size()));
  if (addr) nl_addr_set_prefixlen(addr.get(), prefixLen);
  return addr;
}

NlAddrPtr toNlAddr(const IpPrefix& p) { return toNlAddr(p.address(), p.prefixLength()); }

std::optional<IpPrefix> fromNlAddr(const nl_addr* a) {
  if (!a) return std::nullopt;
  int family = nl_addr_get_family(a);
  unsigned len = nl_addr_get_len(a);
  if ((family == AF_INET && len == 4) || (family == AF_INET6 && len == 16)) {
    auto address = IpAddress::fromBytes(family, static_cast<const uint8_t*>(nl_addr_get_binary_addr(a)));
    int prefixLen = static_cast<int>(nl_addr_get_prefixlen(a));
    return IpPrefix(address, prefixLen <= address.bits() ? prefixLen : address.bits());
  }
  if ((family == AF_INET || family == AF_INET6) && len == 0) {
    // libnl represents a default route's destination as an empty address of the family.
    return IpPrefix(IpAddress::unspecified(family), 0);
  }
  return std::nullopt;
}

std::string linkLabel(int ifindex) { return "link #" + std::to_string(ifindex); }

}  // namespace cnikit::toolkit::detail
