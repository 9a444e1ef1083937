#include "Mtu.hpp"

namespace cnikit::flannel {

uint32_t derivedMtu(Mode mode, uint32_t underlayMtu, bool ipv6Underlay) {
  uint32_t base = underlayMtu ? underlayMtu : kDefaultUnderlayMtu;
  if (mode != Mode::kVxlan) return base;
  uint32_t overhead = ipv6Underlay ? kVxlanOverheadIpv6 : kVxlanOverheadIpv4;
  return base > overhead + 68 ? base - overhead : 68;
}

}  // namespace cnikit::flannel
