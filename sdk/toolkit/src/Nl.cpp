#include "Nl.hpp"

#include <arpa/inet.h>

namespace cnikit::toolkit::detail {

NlAddrPtr toNlAddr(const IpAddress& a, int prefixLen) {
  NlAddrPtr addr(nl_addr_build(a.family, a.bytes.data(), a.size()));
  if (addr) nl_addr_set_prefixlen(addr.get(), prefixLen);
  return addr;
}

NlAddrPtr toNlAddr(const IpPrefix& p) { return toNlAddr(p.address, p.prefixLen); }

IpPrefix fromNlAddr(const nl_addr* a) {
  IpPrefix p;
  if (!a) return p;
  int family = nl_addr_get_family(a);
  unsigned len = nl_addr_get_len(a);
  if ((family == AF_INET && len == 4) || (family == AF_INET6 && len == 16)) {
    p.address.family = family;
    const auto* bytes = static_cast<const uint8_t*>(nl_addr_get_binary_addr(a));
    std::copy(bytes, bytes + len, p.address.bytes.begin());
    p.prefixLen = static_cast<int>(nl_addr_get_prefixlen(a));
  } else if ((family == AF_INET || family == AF_INET6) && len == 0) {
    // libnl represents a default route's destination as an empty address of the family.
    p.address.family = family;
    p.prefixLen = 0;
  }
  return p;
}

std::string linkLabel(int ifindex) { return "link #" + std::to_string(ifindex); }

}  // namespace cnikit::toolkit::detail
