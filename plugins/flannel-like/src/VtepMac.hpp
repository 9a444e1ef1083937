#pragma once
// The MAC of this node's VXLAN device (its VTEP). Derived from the node name and the VNI, so
// a restarted agent (or a recreated device) gets the same MAC and the other nodes' FDB and
// neighbour entries stay valid without a round through the store.
#include <cstdint>
#include <string>

#include <cnikit/toolkit/MacAddress.hpp>

namespace cnikit::flannel {

// A locally administered unicast MAC (first octet x2/x6/xA/xE).
toolkit::MacAddress vtepMac(const std::string& nodeName, uint32_t vni);

}  // namespace cnikit::flannel
