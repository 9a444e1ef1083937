#pragma once
// Linux bridges: create-if-missing and bridge-port settings.
#include <cstdint>
#include <string>

#include <cnikit/toolkit/Link.hpp>

namespace cnikit::toolkit {

struct BridgeOptions {
  uint32_t mtu = 0;  // 0 = kernel default (set only at creation)
  bool up = true;    // bring it up (also when it already existed and was down)
};

// Returns the bridge, creating it when absent; concurrent creators both succeed. EEXIST
// when a link of that name exists but is not a bridge.
Result<LinkInfo> ensureBridge(NetlinkSocket& sock, const std::string& name, const BridgeOptions& options = {});

// Hairpin (reflective relay) on a bridge port: frames may go back out the port they came in
// on, so a pod can reach itself through a service address.
Status setBridgePortHairpin(NetlinkSocket& sock, int portIndex, bool on);
Result<bool> bridgePortHairpin(NetlinkSocket& sock, int portIndex);

}  // namespace cnikit::toolkit
