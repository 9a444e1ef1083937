#pragma once
// The pod MTU a mode can carry over an underlay of a given MTU: VXLAN costs 50 bytes over
// IPv4 (outer IPv4 20 + UDP 8 + VXLAN 8 + inner Ethernet 14) and 70 over IPv6 (40-byte
// outer header); host-gw and the local bridge add nothing.
#include <cstdint>

#include "Options.hpp"

namespace cnikit::flannel {

inline constexpr uint32_t kDefaultUnderlayMtu = 1500;  // when the agent could not tell
inline constexpr uint32_t kVxlanOverheadIpv4 = 50;
inline constexpr uint32_t kVxlanOverheadIpv6 = 70;

// underlayMtu 0 = unknown (1500 assumed).
uint32_t derivedMtu(Mode mode, uint32_t underlayMtu, bool ipv6Underlay);

}  // namespace cnikit::flannel
